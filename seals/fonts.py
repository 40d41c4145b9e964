"""Locate a CJK font for seal images (pure library code, no Django).

Seal lettering is traditionally 宋体/仿宋; Noto Serif CJK is the closest freely packaged
face, so it is preferred when installed, then WenQuanYi Zen Hei, then Noto Sans CJK.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from PIL import ImageFont

__all__ = ["FontNotFound", "FontSpec", "find_cjk_font", "load_font"]

_NOTO_DIR: Final = "/usr/share/fonts/opentype/noto"
# Searched in order; globs so any weight the package ships is found (Bold first: seal
# strokes are heavy).
_CANDIDATES: Final[tuple[str, ...]] = (
    f"{_NOTO_DIR}/NotoSerifCJK-Bold.ttc",
    f"{_NOTO_DIR}/NotoSerifCJK-*.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    f"{_NOTO_DIR}/NotoSansCJK-Bold.ttc",
    f"{_NOTO_DIR}/NotoSansCJK-*.ttc",
)


class FontNotFound(RuntimeError):
    """No usable CJK font: install one of the Debian packages named in the message."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "no CJK font found for seal images; install the Debian package "
            "`fonts-noto-cjk` or `fonts-wqy-zenhei` (apt-get install fonts-wqy-zenhei), "
            "or pass font_path"
        )
        super().__init__(f"{message}: {detail}" if detail else message)


@dataclass(frozen=True, slots=True)
class FontSpec:
    """A font file and the face to use inside it (``.ttc`` collections hold several)."""

    path: str
    index: int = 0


def _simplified_chinese_face(path: str) -> int:
    """Index of the Simplified Chinese face in a collection (Noto ships JP/KR/SC/TC/HK).

    The faces share most glyphs but differ in regional forms; a Chinese seal must use the
    mainland standard forms.
    """
    for index in range(16):
        try:
            family, _style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        if family and family.split()[-1] == "SC":  # "Noto Serif CJK SC"
            return index
    return 0


def find_cjk_font(font_path: str | None = None) -> FontSpec:
    """Return the font to draw seal text with.

    An explicit ``font_path`` wins and must exist; otherwise the known Debian locations
    are searched. Raises :class:`FontNotFound` naming the packages to install.
    """
    if font_path is not None:
        if not os.path.isfile(font_path):
            raise FontNotFound(f"font_path {font_path!r} does not exist")
        return _spec_for(font_path)
    for pattern in _CANDIDATES:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return _spec_for(path)
    raise FontNotFound(f"searched {', '.join(_CANDIDATES)}")


def _spec_for(path: str) -> FontSpec:
    index = _simplified_chinese_face(path) if path.lower().endswith(".ttc") else 0
    return FontSpec(path=path, index=index)


@lru_cache(maxsize=64)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    """Load ``spec`` at ``size`` pixels (cached: fonts are loaded once per size)."""
    try:
        return ImageFont.truetype(spec.path, size, index=spec.index)
    except OSError as exc:
        raise FontNotFound(f"cannot load {spec.path!r}: {exc}") from exc
