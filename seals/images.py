"""Seal images at real size (pure library code, no Django).

Round organisation seals follow the proportions of a 42 mm government seal: a 1.2 mm
outer ring, a solid five-pointed star whose circumscribed circle is 14 mm across, the
organisation's name along the upper arc with each character upright along its radius,
and an optional horizontal line (e.g. 合同专用章) under the star. Every dimension scales
with the diameter, so a 50 mm seal keeps the same look.

Images are RGBA PNGs with a transparent background and ``pHYs`` DPI metadata, so a word
processor places them at exactly their physical size.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageDraw

from seals.fonts import FontNotFound, FontSpec, find_cjk_font, load_font

__all__ = [
    "SEAL_RED",
    "ArcRow",
    "FontNotFound",
    "mm_to_px",
    "name_arc_layout",
    "name_seal_layout",
    "render_round_seal",
    "render_square_name_seal",
]

SEAL_RED: Final = (230, 0, 0)  # #E60000, the usual on-screen 印泥 red

# Drawn at this multiple of the target resolution, then downsampled: smooth edges without
# relying on each primitive's own antialiasing (ImageDraw has none for polygons).
_SUPERSAMPLE: Final = 4

# Proportions of a 42 mm seal, as fractions of the diameter.
_RING_WIDTH: Final = 1.2 / 42
_STAR_DIAMETER: Final = 14 / 42
_TEXT_GAP: Final = 0.9 / 42  # ring to top of the arc lettering
_TEXT_HEIGHT: Final = 6.6 / 42
_LOWER_TEXT_HEIGHT: Final = 4.6 / 42
_LOWER_TEXT_CENTRE: Final = 0.27  # below the centre, fraction of the diameter
_LOWER_TEXT_MAX_WIDTH: Final = 0.45  # fraction of the diameter
_ARC_MIN_SPAN: Final = 210.0  # degrees between the first and last character's centres
_ARC_MAX_SPAN: Final = 240.0
# Long names are condensed, never to hairlines: a character is at least this wide for its
# height (real seals cut long names in condensed 长扁 lettering of about 0.6–0.7). Past
# that the lettering gets smaller; below _MIN_TEXT_HEIGHT (2.8 mm on a 42 mm seal, about
# a 8 pt character) the name goes on two concentric rows instead.
_MIN_ASPECT: Final = 0.6
_MIN_TEXT_HEIGHT: Final = 2.8 / 42
_ROW_GAP: Final = 0.5 / 42
_GLYPH_REFERENCE: Final = "国"  # a full-height, full-width glyph to size fonts by
_GLYPH_WEIGHT: Final = 0.03


def mm_to_px(mm: float, dpi: int) -> int:
    """Pixels covering ``mm`` millimetres at ``dpi`` dots per inch."""
    return round(mm / 25.4 * dpi)


def _png(mask: Image.Image, size: int | tuple[int, int], dpi: int) -> bytes:
    """Downsample the supersampled coverage mask and colour it seal red."""
    width, height = (size, size) if isinstance(size, int) else size
    alpha = mask.resize((width, height), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (width, height), (*SEAL_RED, 0))
    image.putalpha(alpha)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue()


def _check_geometry(size_mm: float, dpi: int) -> None:
    if not 5 <= size_mm <= 100:
        raise ValueError("seal size must be between 5 and 100 mm")
    if not 72 <= dpi <= 1200:
        raise ValueError("dpi must be between 72 and 1200")


@dataclass(frozen=True, slots=True)
class _Glyphs:
    """Renders single characters into coverage tiles of a given cap height."""

    font: FontSpec
    height: int  # pixels the reference glyph's ink should span vertically
    # Seal lettering is cut bold; the packaged CJK faces are text weights, so strokes are
    # thickened by outlining each glyph with this fraction of its height.
    weight: float = _GLYPH_WEIGHT

    @property
    def _stroke(self) -> int:
        return max(0, round(self.height * self.weight))

    def _font_size(self) -> int:
        # The outline grows the ink by one stroke on each side; leave room for it.
        ink_height = max(1, self.height - 2 * self._stroke)
        probe = load_font(self.font, 200)
        _left, top, _right, bottom = probe.getbbox(_GLYPH_REFERENCE)
        return max(1, round(200 * ink_height / max(1, bottom - top)))

    def tile(self, char: str, width: int) -> Image.Image:
        """``char`` centred on a ``width`` × height tile, squeezed horizontally if narrow.

        Glyphs are positioned by the reference glyph's box, not their own ink, so that
        一 sits mid-line instead of being stretched or floated to the top.
        """
        font = load_font(self.font, self._font_size())
        left, top, right, bottom = font.getbbox(_GLYPH_REFERENCE, anchor="mm")
        side = max(self.height, round(right - left))
        square = Image.new("L", (side, self.height), 0)
        ImageDraw.Draw(square).text(
            (side / 2 - (left + right) / 2, self.height / 2 - (top + bottom) / 2),
            char,
            fill=255,
            font=font,
            anchor="mm",
            stroke_width=self._stroke,
            stroke_fill=255,
        )
        if width != side:
            square = square.resize((max(1, width), self.height), Image.Resampling.LANCZOS)
        return square


def _stamp(mask: Image.Image, tile: Image.Image, centre: tuple[float, float]) -> None:
    """Add ``tile``'s coverage to ``mask`` with its centre at ``centre``."""
    x = round(centre[0] - tile.width / 2)
    y = round(centre[1] - tile.height / 2)
    mask.paste(255, (x, y, x + tile.width, y + tile.height), tile)


def _star_points(cx: float, cy: float, outer_radius: float) -> list[tuple[float, float]]:
    """Vertices of a regular five-pointed star with one point straight up."""
    # For a regular pentagram the inner vertices lie at sin 18° / sin 126° of the outer
    # radius (≈ 0.382).
    inner_radius = outer_radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        radius = outer_radius if k % 2 == 0 else inner_radius
        angle = math.radians(-90 + 36 * k)
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _arc_span_degrees(count: int, step_natural: float) -> float:
    """Angle from the first to the last character's centre.

    Long names fill 210–240°, as on real seals; shorter ones spread out to at least 45°
    per step rather than bunching at the top; a name that would need more than 240° is
    squeezed (narrower characters) instead of running into the lower text.
    """
    if count <= 1:
        return 0.0
    natural = (count - 1) * step_natural
    lower = min(_ARC_MIN_SPAN, (count - 1) * 45.0)
    return min(_ARC_MAX_SPAN, max(natural, lower))


def render_round_seal(
    *,
    organisation: str,
    lower_text: str | None = None,
    diameter_mm: float = 42,
    dpi: int = 300,
    font_path: str | None = None,
) -> bytes:
    """PNG (RGBA, transparent) of a round organisation seal at ``diameter_mm``.

    Raises ``ValueError`` for an empty name or an implausible size, :class:`FontNotFound`
    without a CJK font.
    """
    organisation = "".join(organisation.split())
    if not organisation:
        raise ValueError("organisation must not be empty")
    _check_geometry(diameter_mm, dpi)
    font = find_cjk_font(font_path)

    size = mm_to_px(diameter_mm, dpi)
    canvas = size * _SUPERSAMPLE
    mask = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(mask)
    centre = canvas / 2

    ring = max(1, round(canvas * _RING_WIDTH))
    draw.ellipse((0, 0, canvas - 1, canvas - 1), outline=255, width=ring)
    draw.polygon(_star_points(centre, centre, canvas * _STAR_DIAMETER / 2), fill=255)

    # Upper arc(s): see name_arc_layout.
    for row in name_arc_layout(organisation, canvas=canvas):
        _draw_arc(mask, row, font=font, centre=centre)

    if lower_text:
        _draw_line(
            mask,
            "".join(lower_text.split()),
            font=font,
            height=round(canvas * _LOWER_TEXT_HEIGHT),
            max_width=canvas * _LOWER_TEXT_MAX_WIDTH,
            centre=(centre, centre + canvas * _LOWER_TEXT_CENTRE),
        )
    return _png(mask, size, dpi)


@dataclass(frozen=True, slots=True)
class ArcRow:
    """One row of lettering on the upper arc, in pixels of the drawing canvas."""

    text: str
    radius: float  # from the seal's centre to the middle of the characters
    height: int
    char_width: int
    span: float  # degrees from the first to the last character's centre


def _arc_row(text: str, *, outer: float, height_max: float) -> ArcRow:
    """Lay ``text`` along an arc whose lettering's outer edge is at ``outer``.

    Characters keep their full height while they fit; a longer name condenses them down
    to ``_MIN_ASPECT`` and, past that, makes them smaller so they never turn to hairlines.
    """
    count = len(text)
    height = height_max
    if count > 1:
        # Over the widest span, the width available per character is 0.9 · r · k with
        # r = outer − h/2; solve 0.9 · k · (outer − h/2) = _MIN_ASPECT · h for h.
        k = math.radians(_ARC_MAX_SPAN) / (count - 1)
        height = min(height_max, 0.9 * k * outer / (_MIN_ASPECT + 0.45 * k))
    text_height = max(1, round(height))
    radius = outer - text_height / 2
    step_natural = math.degrees(text_height * 1.08 / radius)
    span = _arc_span_degrees(count, step_natural)
    step = span / (count - 1) if count > 1 else 0.0
    step_length = radius * math.radians(step) if count > 1 else text_height
    char_width = round(min(text_height * 0.98, step_length * 0.9))
    return ArcRow(text=text, radius=radius, height=text_height, char_width=char_width, span=span)


def name_arc_layout(name: str, *, canvas: int) -> list[ArcRow]:
    """The rows of a round seal's name on a ``canvas``-pixel drawing: one row along the
    ring, or two concentric rows (outer first) when one row would need characters
    smaller than ``_MIN_TEXT_HEIGHT``. Pure geometry, for the renderer and its tests."""
    name = "".join(name.split())
    radius = canvas / 2
    ring = max(1, round(canvas * _RING_WIDTH))
    outer = radius - ring - canvas * _TEXT_GAP
    height_max = canvas * _TEXT_HEIGHT
    single = _arc_row(name, outer=outer, height_max=height_max)
    if single.height >= canvas * _MIN_TEXT_HEIGHT or len(name) < 2:
        return [single]
    # Split in proportion to the rows' lengths, so both are condensed alike.
    inner_outer = outer - canvas * _MIN_TEXT_HEIGHT - canvas * _ROW_GAP
    share = outer / (outer + inner_outer)
    cut = max(1, min(len(name) - 1, math.ceil(len(name) * share)))
    height = canvas * _MIN_TEXT_HEIGHT
    first = _arc_row(name[:cut], outer=outer, height_max=height)
    second = _arc_row(name[cut:], outer=outer - first.height - canvas * _ROW_GAP, height_max=height)
    return [first, second]


def _draw_arc(mask: Image.Image, row: ArcRow, *, font: FontSpec, centre: float) -> None:
    """Character i sits at angle θ from 12 o'clock (negative = left), its centre on the
    row's circle and its top pointing away from the centre, so the name reads clockwise
    from left to right."""
    glyphs = _Glyphs(font, row.height)
    count = len(row.text)
    step = row.span / (count - 1) if count > 1 else 0.0
    for index, char in enumerate(row.text):
        theta = -row.span / 2 + index * step
        tile = glyphs.tile(char, row.char_width)
        rotated = tile.rotate(-theta, resample=Image.Resampling.BICUBIC, expand=True)
        position = (
            centre + row.radius * math.sin(math.radians(theta)),
            centre - row.radius * math.cos(math.radians(theta)),
        )
        _stamp(mask, rotated, position)


def _draw_line(
    mask: Image.Image,
    text: str,
    *,
    font: FontSpec,
    height: int,
    max_width: float,
    centre: tuple[float, float],
) -> None:
    """A horizontal line of characters, squeezed to ``max_width`` if it is too long."""
    glyphs = _Glyphs(font, height)
    pitch = min(height * 1.0, max_width / len(text))
    char_width = round(min(height * 0.98, pitch * 0.94))
    first = centre[0] - pitch * (len(text) - 1) / 2
    for index, char in enumerate(text):
        _stamp(mask, glyphs.tile(char, char_width), (first + index * pitch, centre[1]))


def name_seal_layout(name: str) -> list[list[str]]:
    """Arrange a personal name into the 2 × 2 grid of a square name seal.

    Returns rows (top to bottom) of cells (left to right). Seals read in columns from the
    right, top to bottom, so the surname sits top-right. Two-character names become
    "X Y 之印", three-character names "X Y Z 印"; four characters fill the grid as is.
    """
    name = "".join(name.split())
    if not 2 <= len(name) <= 4:
        raise ValueError("a name seal holds a name of 2 to 4 characters")
    text = {2: name + "之印", 3: name + "印", 4: name}[len(name)]
    right_column, left_column = text[:2], text[2:]
    return [[left_column[0], right_column[0]], [left_column[1], right_column[1]]]


# Proportions of a square name seal, as fractions of the side.
_SQUARE_BORDER: Final = 0.075
_SQUARE_PADDING: Final = 0.05  # border to lettering
_SQUARE_GUTTER: Final = 0.04  # between cells


def render_square_name_seal(
    *,
    name: str,
    side_mm: float = 20,
    dpi: int = 300,
    font_path: str | None = None,
) -> bytes:
    """PNG (RGBA, transparent) of a square personal name seal (朱文, red on clear)."""
    layout = name_seal_layout(name)
    _check_geometry(side_mm, dpi)
    font = find_cjk_font(font_path)

    size = mm_to_px(side_mm, dpi)
    canvas = size * _SUPERSAMPLE
    mask = Image.new("L", (canvas, canvas), 0)
    border = max(1, round(canvas * _SQUARE_BORDER))
    ImageDraw.Draw(mask).rectangle((0, 0, canvas - 1, canvas - 1), outline=255, width=border)

    inner = canvas - 2 * (border + canvas * _SQUARE_PADDING)
    cell = (inner - canvas * _SQUARE_GUTTER) / 2
    origin = border + canvas * _SQUARE_PADDING
    # Seal characters fill their cell; the glyph's own side bearings are trimmed by
    # drawing it a little larger than the cell.
    glyphs = _Glyphs(font, round(cell * 0.96))
    for row, cells in enumerate(layout):
        for column, char in enumerate(cells):
            centre = (
                origin + cell / 2 + column * (cell + canvas * _SQUARE_GUTTER),
                origin + cell / 2 + row * (cell + canvas * _SQUARE_GUTTER),
            )
            _stamp(mask, glyphs.tile(char, round(cell * 0.96)), centre)
    return _png(mask, size, dpi)
