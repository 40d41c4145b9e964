"""Inline thumbnails of images sent in a chat, made with Pillow on upload (before any row
is locked) from bytes nobody has vetted.

A hostile image is refused, not thumbnailed: the declared size is checked against an
explicit pixel cap before any pixel is decoded (``Image.open`` reads the header only),
Pillow's own ``Image.MAX_IMAGE_PIXELS`` guard is set to the same cap (its warning made an
error), and a file that Pillow cannot decode is refused too. The thumbnail is a fresh
image built from the pixels alone, so no EXIF (GPS position, camera) or other metadata
of the original reaches it; the orientation tag is applied first.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from messaging.errors import AttachmentRejected

THUMB_MAX_SIDE = 480
# An explicit cap on declared pixels (width x height): 40 Mpx covers every phone camera;
# a decompression bomb declares far more in a few KB.
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
JPEG_QUALITY = 82


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    extension: str  # ".png" or ".jpg"
    content_type: str
    width: int
    height: int


def _too_large(width: int | None = None, height: int | None = None) -> AttachmentRejected:
    return AttachmentRejected(
        _("图片尺寸过大：最多 %(mp)d 万像素、单边 %(side)d 像素。") % {"mp": MAX_PIXELS // 10_000, "side": MAX_SIDE},
        code="attachment.image_too_large",
        status=413,
        extra={"max_pixels": MAX_PIXELS, "max_side": MAX_SIDE, "width": width, "height": height},
    )


def _invalid() -> AttachmentRejected:
    return AttachmentRejected(_("图片文件已损坏或无法识别。"), code="attachment.image_invalid", status=415)


def make_thumbnail(data: bytes) -> Thumbnail:
    """A thumbnail (longest side THUMB_MAX_SIDE) of a PNG, JPEG or GIF (its first frame).
    Raises attachment.image_too_large (413) and attachment.image_invalid (415)."""
    # Pillow's guard: DecompressionBombError above twice the cap, a warning (made an error
    # below) above it. Set here, not at import: the same value every time.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG", "GIF")) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise _invalid()
                if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                    raise _too_large(width, height)
                if image.format == "JPEG":
                    image.draft("RGB", (THUMB_MAX_SIDE * 2, THUMB_MAX_SIDE * 2))  # decode at a reduced scale
                image.seek(0)
                frame = ImageOps.exif_transpose(image)
                frame.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE))
                has_alpha = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
                mode = "RGBA" if has_alpha else "RGB"
                pixels = frame.convert(mode)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        # SyntaxError/EOFError: what some Pillow decoders raise on a truncated or bad file.
        raise _invalid() from None
    # A new image from the pixels only: nothing of the original's metadata comes along.
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if has_alpha:
        clean.save(out, format="PNG", optimize=True)
        extension, content_type = ".png", "image/png"
    else:
        clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        extension, content_type = ".jpg", "image/jpeg"
    return Thumbnail(out.getvalue(), extension, content_type, clean.width, clean.height)
