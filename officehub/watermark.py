"""Screen and preview watermarks: who is looking, and when (as 浙政钉 marks its pages).

Pages that show 公文, archives, chat and meetings carry a faint tiled overlay naming the
viewer (``watermark_label``); the page shell draws it from data attributes with
``officehub/watermark.js`` into a ``pointer-events: none; user-select: none`` layer, so
the page's own text copies as it is and nothing inline breaks the CSP. A downloaded
preview PDF carries the same words on every page (``stamp_pdf``); the signed original is
never stamped (its signature covers its bytes).

No feature app is imported here: the documents app calls ``stamp_pdf`` for its preview.
"""

from __future__ import annotations

import ctypes
import io
import logging
import math
import threading
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Final, TypedDict

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from officehub.directory.models import User
from officehub.errors import ApplicationError

__all__ = [
    "WATERMARKED_PATH_PREFIXES",
    "PdfStampFailed",
    "WatermarkLabel",
    "is_watermarked_path",
    "stamp_pdf",
    "watermark_label",
    "watermark_lines",
]

# Pages under these paths carry the screen watermark: 公文, archives, chat and meetings
# (the meeting room is /messages/meetings/<id>/), and the 督办 dashboard, which lists
# document titles.
WATERMARKED_PATH_PREFIXES: Final = ("/documents/", "/archives/", "/messages/", "/oversight/")


class WatermarkLabel(TypedDict):
    name: str
    account: str
    date: str  # ISO date in the deployment's time zone


def is_watermarked_path(path: str) -> bool:
    return path.startswith(WATERMARKED_PATH_PREFIXES)


def watermark_label(user: User, *, today: date | None = None) -> WatermarkLabel:
    """The viewer's name, account and today's date (local time, Asia/Shanghai)."""
    day = today or timezone.localdate()
    return {"name": user.display_name, "account": user.username, "date": day.isoformat()}


def watermark_lines(label: WatermarkLabel) -> list[str]:
    """The two lines of one tile: "王芳 wangfang" over "2026-03-01"."""
    return [f"{label['name']} {label['account']}", label["date"]]


# --------------------------------------------------------------------------- preview PDFs


class PdfStampFailed(ApplicationError):
    default_code = "pdf.watermark_failed"
    default_status = 503


# A TrueType-outline CJK face (pdfium embeds TrueType as a CID font with a ToUnicode map,
# so the stamped words stay searchable text). Debian fonts-wqy-zenhei, which
# scripts/test.sh installs, first; Arphic's GB 宋体 after it.
FONT_CANDIDATES: Final[tuple[tuple[str, int], ...]] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),
)

# pdfium is not thread-safe (pypdfium2's documentation): one stamping at a time per process.
_PDFIUM_LOCK = threading.Lock()

TILE_FONT_SIZE: Final = 14.0
TILE_LINE_GAP: Final = 18.0
TILE_STEP_X: Final = 220.0
TILE_STEP_Y: Final = 150.0
TILE_ANGLE_DEGREES: Final = 30.0
# Grey at ~16 % opacity: readable when looked for, out of the way when reading.
TILE_RGBA: Final = (128, 128, 128, 40)


def _font_file() -> tuple[str, int]:
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise PdfStampFailed(
        str(_("服务器缺少中文字体，暂时无法生成预览件。")),
        extra={"install": "Debian package fonts-wqy-zenhei"},
    )


@lru_cache(maxsize=256)
def _subset_font(characters: str) -> bytes:
    """The CJK face cut down to ``characters`` (a few KB instead of 16 MB per preview).

    Cached per character set: one viewer's label is the same all day.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    # fontTools narrates every table it prunes at INFO; the app log wants none of it.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    path, index = _font_file()
    font = TTFont(path, fontNumber=index, lazy=True)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.hinting = False
    # bitmap strikes and FontForge's timestamp: nothing a PDF viewer uses
    options.drop_tables = [*options.drop_tables, "BDF ", "FFTM", "EBDT", "EBLC", "EBSC"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def stamp_pdf(pdf: bytes, lines: Sequence[str]) -> bytes:
    """A new PDF: ``pdf`` with ``lines`` tiled faintly over every page, as text.

    ``pdf`` itself is only read. Raises ``PdfStampFailed`` (pdf.watermark_failed, 503)
    for a PDF pdfium cannot open or when no CJK font is installed.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    text_lines = [line for line in lines if line]
    font_bytes = _subset_font("".join(sorted(set("".join(text_lines)))))
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(bytes(pdf))
        except pdfium.PdfiumError as exc:
            raise PdfStampFailed(str(_("无法读取该PDF，暂时无法生成预览件。")), code="pdf.unreadable") from exc
        try:
            font_buffer = (ctypes.c_uint8 * len(font_bytes)).from_buffer_copy(font_bytes)
            font = pdfium_c.FPDFText_LoadFont(
                document, font_buffer, len(font_bytes), pdfium_c.FPDF_FONT_TRUETYPE, 1
            )
            if not font:
                raise PdfStampFailed(str(_("水印字体无法载入，暂时无法生成预览件。")))
            angle = math.radians(TILE_ANGLE_DEGREES)
            cos, sin = math.cos(angle), math.sin(angle)
            for page_index in range(len(document)):
                page = document[page_index]
                width, height = page.get_size()
                for x, y in _tile_origins(width, height, cos, sin):
                    for number, line in enumerate(text_lines):
                        _place_text(document, page, font, line, x, y - number * TILE_LINE_GAP, cos, sin)
                if not pdfium_c.FPDFPage_GenerateContent(page):
                    raise PdfStampFailed(str(_("预览件生成失败。")))
                page.close()
            out = io.BytesIO()
            document.save(out)
            return out.getvalue()
        finally:
            document.close()


def _tile_origins(width: float, height: float, cos: float, sin: float) -> list[tuple[float, float]]:
    """Grid points, in the rotated frame, whose tiles cover the whole page once rotated.

    The page's corners taken back into the rotated frame bound the grid; one step of
    margin on each side; odd rows shift half a step so the tiles form a lattice.
    """
    corners = [(0.0, 0.0), (width, 0.0), (0.0, height), (width, height)]
    xs = [x * cos + y * sin for x, y in corners]
    ys = [-x * sin + y * cos for x, y in corners]
    origins: list[tuple[float, float]] = []
    y = min(ys) - TILE_STEP_Y
    row = 0
    while y <= max(ys) + TILE_STEP_Y:
        x = min(xs) - TILE_STEP_X + (row % 2) * TILE_STEP_X / 2
        while x <= max(xs):
            origins.append((x, y))
            x += TILE_STEP_X
        y += TILE_STEP_Y
        row += 1
    return origins


def _place_text(
    document: object, page: object, font: object, line: str, x: float, y: float, cos: float, sin: float
) -> None:
    import pypdfium2.raw as pdfium_c

    text = pdfium_c.FPDFPageObj_CreateTextObj(document, font, TILE_FONT_SIZE)
    encoded = (line + "\0").encode("utf-16-le")
    pdfium_c.FPDFText_SetText(text, ctypes.cast(ctypes.c_char_p(encoded), ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_SetFillColor(text, *TILE_RGBA)
    # rotate about the origin, then move (x, y) along the rotated axes
    pdfium_c.FPDFPageObj_Transform(text, cos, sin, -sin, cos, x * cos - y * sin, x * sin + y * cos)
    pdfium_c.FPDFPage_InsertObject(page, text)
