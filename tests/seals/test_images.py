"""Seal images: physical size, DPI metadata, and where the red ink falls.

Expected geometry is computed here from millimetres and DPI (25.4 mm to the inch), not
taken from the renderer.
"""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from seals.fonts import FontNotFound, find_cjk_font
from seals.images import (
    name_arc_layout,
    name_seal_layout,
    render_round_seal,
    render_square_name_seal,
)
from tests.needs import missing


@pytest.fixture(autouse=True)
def _cjk_font() -> None:
    """Every test here draws Chinese text: without a CJK font each is skipped, naming the
    package (and fails under CI, tests/needs.py)."""
    try:
        find_cjk_font()
    except FontNotFound as exc:
        missing(f"a CJK font ({exc})", install="the Debian package fonts-wqy-zenhei (or fonts-noto-cjk)")


ORG = "某某市人民政府办公室"
INKED = 128  # alpha above which a pixel counts as ink


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


def px_per_mm(dpi: int) -> float:
    return dpi / 25.4


def polar_alpha(image: Image.Image, radius_px: float, degrees_from_top: float) -> int:
    """Alpha at a point given by its distance from the centre and its clock angle."""
    centre = image.width / 2
    theta = math.radians(degrees_from_top)
    x = centre + radius_px * math.sin(theta)
    y = centre - radius_px * math.cos(theta)
    return image.getpixel((int(x), int(y)))[3]


def ink_in_sector(
    image: Image.Image,
    *,
    r_from_mm: float,
    r_to_mm: float,
    degrees: tuple[float, float],
    dpi: int = 300,
) -> int:
    """Inked pixels between two radii and two clock angles (sampled on a polar grid)."""
    scale = px_per_mm(dpi)
    inked = 0
    r = r_from_mm
    while r <= r_to_mm:
        angle = degrees[0]
        while angle <= degrees[1]:
            inked += polar_alpha(image, r * scale, angle) > INKED
            angle += 0.5
        r += 0.1
    return inked


@pytest.fixture(scope="module")
def seal() -> Image.Image:
    return open_png(render_round_seal(organisation=ORG))


# --------------------------------------------------------------------------- round seal


def test_round_seal_is_42mm_at_300_dpi(seal: Image.Image) -> None:
    # 42 mm / 25.4 mm per inch * 300 dots per inch = 496.06 px
    assert seal.size == (496, 496)
    assert seal.mode == "RGBA"


def test_round_seal_carries_its_dpi_so_word_places_it_at_real_size(seal: Image.Image) -> None:
    dpi_x, dpi_y = seal.info["dpi"]
    assert dpi_x == pytest.approx(300, abs=0.01) and dpi_y == pytest.approx(300, abs=0.01)
    width_mm = seal.width / dpi_x * 25.4
    assert width_mm == pytest.approx(42, abs=0.1)


@pytest.mark.parametrize(("diameter_mm", "dpi", "pixels"), [(50, 600, 1181), (38, 150, 224)])
def test_round_seal_size_follows_diameter_and_dpi(
    diameter_mm: float, dpi: int, pixels: int
) -> None:
    image = open_png(render_round_seal(organisation=ORG, diameter_mm=diameter_mm, dpi=dpi))
    assert image.size == (pixels, pixels)
    # PNG stores whole pixels per metre, so the DPI comes back within 0.01 %
    assert image.info["dpi"][0] == pytest.approx(dpi, rel=1e-4)


def test_round_seal_has_transparent_corners(seal: Image.Image) -> None:
    last = seal.width - 1
    for corner in [(0, 0), (last, 0), (0, last), (last, last), (5, 5), (last - 5, last - 5)]:
        assert seal.getpixel(corner)[3] == 0


def test_all_ink_is_seal_red(seal: Image.Image) -> None:
    colours = {pixel[:3] for pixel in seal.getdata() if pixel[3] > 0}
    assert len(colours) == 1
    ((red, green, blue),) = colours
    assert red >= 200 and green <= 40 and blue <= 40


def test_outer_ring_is_about_1_2mm_wide_all_round(seal: Image.Image) -> None:
    scale = px_per_mm(300)
    outer = seal.width / 2
    for angle in range(0, 360, 3):
        assert polar_alpha(seal, outer - 0.6 * scale, angle) > 200, angle  # mid-ring
    # just inside the ring, where there is no lettering (the bottom), it is clear
    for angle in range(150, 211, 3):
        assert polar_alpha(seal, outer - 1.6 * scale, angle) == 0, angle


def test_centre_holds_a_solid_star_14mm_across(seal: Image.Image) -> None:
    centre = seal.width // 2
    for dx in range(-4, 5):
        for dy in range(-4, 5):
            assert seal.getpixel((centre + dx, centre + dy))[3] == 255
    scale = px_per_mm(300)
    # the upper point reaches 7 mm above the centre, and the star stops there
    assert polar_alpha(seal, 6.5 * scale, 0) > INKED
    assert ink_in_sector(seal, r_from_mm=7.6, r_to_mm=11.5, degrees=(-2, 2)) == 0
    # between the points (36° off a point) the star's body is much narrower
    assert polar_alpha(seal, 5.0 * scale, 36) == 0


def test_name_runs_along_the_upper_arc_only(seal: Image.Image) -> None:
    lettering = {"r_from_mm": 12.0, "r_to_mm": 19.3}
    assert ink_in_sector(seal, degrees=(-100, 100), **lettering) > 1000
    # nothing in the lower part of the seal between star and ring without lower text
    assert ink_in_sector(seal, degrees=(140, 220), **lettering) == 0
    assert ink_in_sector(seal, r_from_mm=7.5, r_to_mm=19.3, degrees=(150, 210)) == 0


def test_name_spans_more_than_200_degrees(seal: Image.Image) -> None:
    lettering = {"r_from_mm": 12.0, "r_to_mm": 19.3}
    # both ends of the arc reach below the horizontal line through the centre
    assert ink_in_sector(seal, degrees=(-112, -95), **lettering) > 50
    assert ink_in_sector(seal, degrees=(95, 112), **lettering) > 50


def test_name_reads_clockwise_from_the_left() -> None:
    # 一 carries far less ink than 国, so the light end of the arc shows where it landed.
    light_first = open_png(render_round_seal(organisation="一国国国国国国国国国"))
    light_last = open_png(render_round_seal(organisation="国国国国国国国国国一"))
    lettering = {"r_from_mm": 12.0, "r_to_mm": 19.3}

    def left_end(image: Image.Image) -> int:
        return ink_in_sector(image, degrees=(-130, -105), **lettering)

    def right_end(image: Image.Image) -> int:
        return ink_in_sector(image, degrees=(105, 130), **lettering)

    assert left_end(light_first) < left_end(light_last) / 2
    assert right_end(light_last) < right_end(light_first) / 2


def test_characters_stand_upright_along_the_radius() -> None:
    # Each 一 is a single horizontal stroke: on a seal it must lie across the radius
    # (tangent to the ring), wherever on the arc it sits.
    image = open_png(render_round_seal(organisation="一一一一一一一"))
    centre = image.width / 2
    scale = px_per_mm(300)
    strokes: dict[int, list[tuple[int, int]]] = {}
    for y in range(image.height):
        for x in range(image.width):
            r = math.hypot(x - centre, y - centre) / scale
            if 12.0 <= r <= 19.3 and image.getpixel((x, y))[3] > INKED:
                angle = math.degrees(math.atan2(x - centre, centre - y))
                strokes.setdefault(round(angle / 5), []).append((x, y))
    # group neighbouring 5° bins into strokes
    groups: list[list[tuple[int, int]]] = []
    previous = None
    for key in sorted(strokes):
        if previous is None or key - previous > 1:
            groups.append([])
        groups[-1].extend(strokes[key])
        previous = key
    assert len(groups) == 7
    for points in groups:
        mx = sum(x for x, _ in points) / len(points)
        my = sum(y for _, y in points) / len(points)
        cxx = sum((x - mx) ** 2 for x, _ in points)
        cyy = sum((y - my) ** 2 for _, y in points)
        cxy = sum((x - mx) * (y - my) for x, y in points)
        axis = 0.5 * math.atan2(2 * cxy, cxx - cyy)
        radial = math.atan2(my - centre, mx - centre)
        assert abs(math.cos(axis - radial)) < math.sin(math.radians(8)), (mx, my)
    # and the first stroke is on the left, reading clockwise over the top
    assert sum(x for x, _ in groups[0]) / len(groups[0]) < centre


def test_lower_text_sits_under_the_star() -> None:
    image = open_png(render_round_seal(organisation=ORG, lower_text="合同专用章"))
    assert ink_in_sector(image, r_from_mm=8.5, r_to_mm=14.5, degrees=(150, 210)) > 300


def test_long_names_stay_inside_the_ring() -> None:
    image = open_png(render_round_seal(organisation="中华人民共和国某某省某某市某某区财政局"))
    assert ink_in_sector(image, r_from_mm=19.4, r_to_mm=19.7, degrees=(-120, 120)) == 0


def test_empty_organisation_is_refused() -> None:
    with pytest.raises(ValueError, match="organisation"):
        render_round_seal(organisation="  ")


def test_missing_font_names_the_debian_packages() -> None:
    with pytest.raises(FontNotFound) as excinfo:
        render_round_seal(organisation=ORG, font_path="/nonexistent/font.ttc")
    assert "fonts-wqy-zenhei" in str(excinfo.value)
    assert "fonts-noto-cjk" in str(excinfo.value)


# --------------------------------------------------------------------------- square name seal


@pytest.fixture(scope="module")
def name_seal() -> Image.Image:
    return open_png(render_square_name_seal(name="王小明"))


def test_square_seal_is_20mm_at_300_dpi(name_seal: Image.Image) -> None:
    # 20 / 25.4 * 300 = 236.2 px
    assert name_seal.size == (236, 236)
    assert name_seal.info["dpi"][0] == pytest.approx(300, abs=0.01)


def test_square_seal_has_a_red_border_on_all_four_sides(name_seal: Image.Image) -> None:
    edge = round(0.5 * px_per_mm(300))  # half a millimetre in from the edge
    last = name_seal.width - 1
    for t in range(0, name_seal.width, 4):
        for point in [(t, edge), (t, last - edge), (edge, t), (last - edge, t)]:
            assert name_seal.getpixel(point)[3] > 200, point


def test_square_seal_fills_each_quarter_with_a_character(name_seal: Image.Image) -> None:
    size = name_seal.width
    border = round(2 * px_per_mm(300))  # skip the border
    half = size // 2
    for x0, y0 in [(border, border), (half, border), (border, half), (half, half)]:
        box = name_seal.crop((x0, y0, x0 + half - border, y0 + half - border))
        inked = sum(1 for pixel in box.getdata() if pixel[3] > INKED)
        assert inked > 0.08 * box.width * box.height, (x0, y0)
    assert name_seal.getpixel((half, half))[3] == 0  # the gutter between the four cells


def test_name_seal_reads_in_columns_from_the_right() -> None:
    # rows top to bottom, cells left to right: right column first, top to bottom
    assert name_seal_layout("王小明") == [["明", "王"], ["印", "小"]]
    assert name_seal_layout("张三") == [["之", "张"], ["印", "三"]]
    assert name_seal_layout("欧阳小明") == [["小", "欧"], ["明", "阳"]]


@pytest.mark.parametrize("name", ["", "王", "爱新觉罗溥仪"])
def test_name_seal_refuses_names_that_do_not_fit_the_grid(name: str) -> None:
    with pytest.raises(ValueError, match="2 to 4"):
        render_square_name_seal(name=name)


# --------------------------------------------------------------------------- long names


@pytest.mark.parametrize("length", [10, 21, 22, 23, 30, 40, 64, 100])
def test_a_long_name_is_condensed_and_made_smaller_never_squeezed_to_hairlines(length: int) -> None:
    # A Department name may hold 100 characters. Squeezing them all into one row at full
    # height left characters a quarter as wide as they are tall; the lettering now stays
    # at least 0.6 as wide as tall, and at least 2 mm tall (one row, or two concentric
    # rows for very long names), with every character drawn once.
    name = ("中华人民共和国浙江省杭州市西湖区人民政府办公室机关事务管理局文书科" * 4)[:length]
    canvas = 4 * 496  # the renderer draws 42 mm at 300 dpi four times over
    rows = name_arc_layout(name, canvas=canvas)
    assert "".join(row.text for row in rows) == name
    assert 1 <= len(rows) <= 2
    mm = 42 / canvas
    for row in rows:
        assert row.char_width / row.height >= 0.58, (length, row)
        assert row.height * mm >= 2.0, (length, row)
        assert row.span <= 240
        assert row.radius * mm - row.height * mm / 2 > 7.5  # clear of the 14 mm star
    if length <= 10:
        assert rows[0].height * mm == pytest.approx(6.6, abs=0.05)  # short names keep full height


def test_a_100_character_name_renders_inside_the_ring_and_clear_of_the_star() -> None:
    name = ("中华人民共和国浙江省杭州市西湖区人民政府办公室机关事务管理局文书科" * 4)[:100]
    image = open_png(render_round_seal(organisation=name, lower_text="合同专用章"))
    assert image.size == (496, 496)
    # lettering fills the upper arc, and nothing is drawn between the star's upper point
    # and the lettering
    assert ink_in_sector(image, r_from_mm=12.5, r_to_mm=19.3, degrees=(-100, 100)) > 1000
    assert ink_in_sector(image, r_from_mm=7.6, r_to_mm=11.5, degrees=(-2, 2)) == 0
    # just inside the ring at the bottom (no lettering there) it is clear
    scale = px_per_mm(300)
    for angle in range(160, 201, 4):
        assert polar_alpha(image, (21 - 1.6) * scale, angle) == 0, angle
