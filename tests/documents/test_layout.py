"""The issued 公文 measured as printed: rendered, converted by the real LibreOffice
(officehub/office) through ``documents.docx.issue`` and measured with pdfplumber.

Expectations come from GB/T 9704-2012 (5.2.1 text block 156 × 225 mm at 28 mm left and
37 mm top; 5.2.3 22 lines × 28 characters; 7.3.5 署名/成文日期/印章; 7.4 版记; 7.5 page
numbers), not from the renderer's constants. One allowance, for LibreOffice 7.4: it
neither hangs nor compresses punctuation at a 避头 break, so when the 29th character is
，。、 etc. it carries the 28th down with it and justifies 27 — a full line may hold 27
characters when the next line's second character is such a mark.

Each layout (通知, 函, 纪要) is issued once per module; the converter stays warm.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pdfplumber
import pypdfium2 as pdfium
import pytest
from docx import Document as open_docx

from documents.docx import issue
from documents.docx.issue import IssuedCopy, issue_rendered
from documents.docx.render import Attendance, ColophonPlacement, RenderInput, render_docx
from officehub.office.client import Conversion, Layout, PdfConversionFailed
from seals.images import render_round_seal

MM = 72 / 25.4  # points per mm
LEFT_MM, TOP_MM = 28.0, 37.0  # 5.2.1
RIGHT_MM, BOTTOM_MM = LEFT_MM + 156.0, TOP_MM + 225.0  # 184 and 262 mm
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28  # 5.2.3
PITCH_PT = 225 * MM / LINES_PER_PAGE  # ≈28.99; Word and LibreOffice use whole twips: 28.95
CHAR_PT = 156 * MM / CHARS_PER_LINE  # ≈15.79 pt a character on a full line
BODY_PT, COLOPHON_PT, TITLE_PT = 16.0, 14.0, 22.0  # 3号, 4号, 2号
# GB/T 15834 避头: marks that never begin a line
NO_LINE_START = frozenset("，。、；：？！）》」』〕】”’…—·%,.;:?!)")
PUNCTUATION = NO_LINE_START | frozenset("（《「『〔【“‘")

ISSUED = date(2026, 1, 5)
PRINTED = date(2026, 1, 6)
DRAFTED = datetime(2026, 1, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
SEALED_AT = datetime(2026, 1, 6, 10, 15, 42, tzinfo=ZoneInfo("Asia/Shanghai"))
ISSUER = "浙江省人民政府办公厅"

PARAGRAPHS = [
    "为深入贯彻落实党中央、国务院关于加快推进政务服务标准化、规范化、便利化的决策部署，进一步提升政务数据共享和业务协同水平，推动政务服务从“能办”向“好办、易办”转变，经省政府同意，现就有关事项通知如下。",
    "一、总体要求",
    "坚持以人民为中心的发展思想，围绕企业和群众全生命周期重要阶段，以数字化改革为牵引，以数据共享为支撑，以制度创新为保障，全面推进政务服务“一网通办”“跨省通办”，持续优化营商环境，不断增强人民群众的获得感、幸福感、安全感。",
    "（一）强化统筹协调。各地各部门要建立健全工作推进机制，明确责任分工，细化工作举措，加强督促检查，确保各项任务落地见效。",
    "（二）推进数据共享。依托一体化政务服务平台，加快政务数据资源目录编制，推动人口、法人、电子证照等基础数据库互联互通，实现数据按需共享、有序开放。",
    "二、主要任务",
    "1.优化办事流程。全面梳理政务服务事项清单，精简办事环节、申请材料和办理时限，推行告知承诺、容缺受理等服务方式，让数据多跑路、群众少跑腿。",
    "2.拓展服务渠道。推进线上线下深度融合，完善政务服务中心、便民服务站点功能，推广“掌上办”“指尖办”，满足不同群体的办事需求。",
    "（1）加强电子证照应用。推动电子证照在政务服务、社会生活等领域广泛应用，逐步实现企业和群众办事免提交实体证照。",
    "（2）深化“好差评”制度。健全政务服务评价体系，建立差评整改和反馈机制，以评促改，持续提升服务质量和群众满意度。",
    "三、保障措施",
    "各地各部门要高度重视，把政务服务改革作为转变政府职能、优化营商环境的重要抓手，主要负责同志要亲自部署、亲自过问，分管负责同志要具体抓、抓具体。要加强政务服务队伍建设，强化业务培训，提升工作人员的服务意识和业务能力。要加大宣传力度，及时总结推广典型经验做法，营造全社会关心支持政务服务改革的良好氛围。",
    "各地各部门要按照本通知要求，结合实际制定具体实施方案，于2026年3月31日前报送省政府办公厅。省政府办公厅将适时组织开展督查，督查结果纳入年度综合考核。执行中遇到的重大问题，请及时向省政府办公厅报告。",
    "要坚持系统观念，加强前瞻性思考、全局性谋划、战略性布局、整体性推进，统筹发展和安全，防范化解各类风险隐患；要坚持问题导向，聚焦群众反映强烈的突出问题，拿出务实管用的硬招实招，切实把改革成果转化为治理效能。",
    "要强化数据安全保护，严格落实网络安全等级保护制度，规范数据采集、传输、存储、使用等环节的安全管理，依法保护个人信息和商业秘密，确保政务数据安全可控。",
    "要完善考核评价机制，把政务服务改革推进情况纳入各地各部门年度目标责任考核，对工作成效明显的予以通报表扬，对推进不力、敷衍塞责的严肃问责，形成一级抓一级、层层抓落实的工作格局。",
]
BODY = "\n".join(PARAGRAPHS * 2)  # about 2,400 characters


def seal_png() -> bytes:
    return render_round_seal(organisation=ISSUER, diameter_mm=42, dpi=200)


NOTICE = RenderInput(
    doc_type="notice",
    title="浙江省人民政府办公厅关于进一步推进政务数据共享和政务服务“一网通办”的通知",
    body=BODY,
    issuer_mark="浙江省人民政府办公厅文件",
    issuer_name=ISSUER,
    doc_number="浙政办发〔2026〕12号",
    issued_on=ISSUED,
    primary_recipients=["各市、县（市、区）人民政府", "省政府直属各单位"],
    cc_recipients=[
        "省委各部门",
        "省人大常委会办公厅",
        "省政协办公厅",
        "省监委",
        "省法院",
        "省检察院",
    ],
    copy_number="000123",
    urgency_label="特急",
    attachments=["政务服务事项清单"],
    printing_office=ISSUER,
    printed_on=PRINTED,
    seal_png=seal_png(),
    created=DRAFTED,
    modified=SEALED_AT,
)
LETTER = dataclasses.replace(
    NOTICE,
    doc_type="letter",
    title="浙江省人民政府办公厅关于商请支持政务数据共享试点工作的函",
    body="\n".join(PARAGRAPHS[:6]),
    issuer_mark=ISSUER,
    doc_number="浙政办函〔2026〕3号",
    primary_recipients=["江苏省人民政府办公厅"],
    cc_recipients=["省大数据局"],
    copy_number="000045",
    urgency_label=None,
    attachments=[],
    printing_office=None,
    printed_on=None,
)
MINUTES = dataclasses.replace(
    NOTICE,
    doc_type="minutes",
    title="省政府第12次常务会议纪要",
    body="\n".join(PARAGRAPHS[:8]),
    issuer_mark="浙江省人民政府常务会议",
    doc_number="第12期",
    primary_recipients=[],
    cc_recipients=[],
    copy_number=None,
    urgency_label=None,
    attachments=[],
    attendance=Attendance(
        present=["省政府 张三", "省发展改革委 李四", "省财政厅 王五"], on_leave=["省教育厅 赵六"]
    ),
    seal_png=None,
)


# --- measuring ------------------------------------------------------------------------------


def units(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text)


@dataclass(frozen=True)
class Line:
    page: int  # 1-based
    baseline: float  # mm from the page top
    top: float  # mm, the em box top (baseline - size)
    x0: float  # mm
    x1: float  # mm
    size: float
    text: str
    chars: tuple[dict[str, Any], ...]

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    def pitches(self) -> list[float]:
        """Advance (pt) between consecutive full-width characters."""
        cs = self.chars
        return [
            b["x0"] - a["x0"]
            for a, b in itertools.pairwise(cs)
            if units(a["text"]) == 1 and units(b["text"]) == 1
        ]

    def has_tab_gap(self) -> bool:
        return any(b["x0"] - a["x1"] > 8 for a, b in zip(self.chars, self.chars[1:], strict=False))


@dataclass
class Printed:
    copy: IssuedCopy
    pages: list[Any]  # pdfplumber pages
    lines: dict[float, list[Line]]  # by font size, in reading order

    def at(self, size: float, page: int) -> list[Line]:
        return [line for line in self.lines[size] if line.page == page]


def lines_of(page: Any, size: float) -> list[Line]:
    rows: dict[float, list[dict[str, Any]]] = {}
    height = float(page.height)
    for c in page.chars:
        if c["text"].strip() and abs(c["size"] - size) < 0.3:
            baseline = round(height - c["matrix"][5], 1)
            rows.setdefault(baseline, []).append(c)
    out = []
    for baseline in sorted(rows):
        cs = tuple(sorted(rows[baseline], key=lambda c: c["x0"]))
        out.append(
            Line(
                page=page.page_number,
                baseline=baseline / MM,
                top=(baseline - size) / MM,
                x0=cs[0]["x0"] / MM,
                x1=cs[-1]["x1"] / MM,
                size=size,
                text="".join(c["text"] for c in cs),
                chars=cs,
            )
        )
    return out


def rules_of(page: Any, *, black: bool = True) -> list[tuple[float, float, float, float]]:
    """(y mm, x0 mm, x1 mm, width pt) of horizontal rules at least 150 mm long."""
    found = []
    for item in page.lines + page.rects:
        if item["x1"] - item["x0"] < 150 * MM or item["bottom"] - item["top"] > 2:
            continue
        colour = item.get("stroking_color") or item.get("non_stroking_color")
        is_black = colour in ((0,), (0.0,), (0, 0, 0), (0.0, 0.0, 0.0), [0], [0.0])
        if is_black == black:
            width = item.get("linewidth") or (item["bottom"] - item["top"])
            found.append(
                (
                    (item["top"] + item["bottom"]) / 2 / MM,
                    item["x0"] / MM,
                    item["x1"] / MM,
                    float(width),
                )
            )
    return sorted(set(found))


@pytest.fixture(scope="module")
def printed() -> Iterator[dict[str, Printed]]:
    issued = {
        "notice": issue_rendered(NOTICE),
        "letter": issue_rendered(LETTER),
        "minutes": issue_rendered(MINUTES),
    }
    opened = {name: pdfplumber.open(io.BytesIO(copy.pdf)) for name, copy in issued.items()}
    try:
        yield {
            name: Printed(
                copy=issued[name],
                pages=pdf.pages,
                lines={
                    size: [line for p in pdf.pages for line in lines_of(p, size)]
                    for size in (BODY_PT, COLOPHON_PT, TITLE_PT)
                },
            )
            for name, pdf in opened.items()
        }
    finally:
        for pdf in opened.values():
            pdf.close()


LAYOUTS = ["notice", "letter", "minutes"]
INPUTS = {"notice": NOTICE, "letter": LETTER, "minutes": MINUTES}


def full_lines(doc: Printed) -> list[tuple[Line, Line]]:
    """(line, next line) for every body line that is full: it ends at the right edge of
    the block (a paragraph's last line stops short) and is not a tabbed line."""
    body = doc.lines[BODY_PT]
    return [
        (line, nxt)
        for line, nxt in itertools.pairwise(body)
        if line.x1 > RIGHT_MM - 4 and not line.has_tab_gap()
    ]


# --- body text: 28 characters, 22 lines, the block's edges ----------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_full_lines_hold_28_characters_without_letter_spacing(printed, layout):
    doc = printed[layout]
    checked = full_lines(doc)
    assert len(checked) >= 8
    kinsoku = 0
    for line, nxt in checked:
        indent = round((line.x0 - LEFT_MM) * MM / CHAR_PT)  # first lines start two 字 in
        count = indent + units(line.text)
        pitches = line.pitches()
        # A half-width character (digit, Latin) counts ½: a line holding one may end
        # with less than one 字 of room, which no full-width character fills.
        half = 0.5 if any(units(c) == 0.5 for c in line.text) else 0.0
        room = CHARS_PER_LINE - count
        if room >= 1:
            # LibreOffice 7.4 at a 避头 break (module docstring): the 28th character went
            # down with the mark that may not start a line, and the 27 are justified
            # (about +0.6 pt each).
            assert room <= 1 + half, (line.page, count, line.text)
            assert len(nxt.text) > 1 and nxt.text[1] in NO_LINE_START, (line.text, nxt.text)
            kinsoku += 1
        else:
            assert room == 0 or room <= half, (line.page, count, line.text)
        # No letter-spacing: each character advances about one 字 (the linesAndChars grid
        # gave each two, 31.6 pt). Justification spreads the room left by a 避头 break, a
        # half-width character or a change of font over the line: a fraction of a point.
        assert sum(pitches) / len(pitches) < 16.5 and max(pitches) < 17.5, line.text
    assert kinsoku <= len(checked) / 4


@pytest.mark.parametrize("layout", LAYOUTS)
def test_body_lines_sit_in_the_text_block_and_full_lines_end_at_184mm(printed, layout):
    doc = printed[layout]
    for line in doc.lines[BODY_PT]:
        assert line.x0 >= LEFT_MM - 0.3, line.text
        for c in line.chars:  # no punctuation (or anything) hangs in the margin
            assert c["x1"] / MM <= RIGHT_MM + 1.5, (line.text, c["text"])
        assert TOP_MM - 0.5 < line.top and line.baseline < BOTTOM_MM, line.text
    for line, _ in full_lines(doc):
        assert line.x0 == pytest.approx(LEFT_MM, abs=0.3) or line.x0 == pytest.approx(
            LEFT_MM + 2 * CHAR_PT / MM, abs=0.5
        ), line.text
        assert line.x1 == pytest.approx(RIGHT_MM, abs=1.5), line.text
        assert line.chars[-1]["x1"] / MM <= RIGHT_MM + 0.5 or line.text[-1] not in PUNCTUATION


def test_full_pages_hold_22_lines_at_a_28_95pt_pitch(printed):
    doc = printed["notice"]
    text_pages = sorted({line.page for line in doc.lines[BODY_PT]})
    full_pages = text_pages[1:-1]  # page 1 has the head, the last page ends the text
    assert len(full_pages) >= 3
    for page in full_pages:
        lines = doc.at(BODY_PT, page)
        assert len(lines) == LINES_PER_PAGE, page
        steps = [(b.baseline - a.baseline) * MM for a, b in itertools.pairwise(lines)]
        assert all(step == pytest.approx(28.95, abs=0.1) for step in steps), steps
        span = (lines[-1].baseline - lines[0].baseline) * MM
        assert span == pytest.approx(21 * 28.95, abs=0.5)
        assert span + 28.95 <= 225 * MM  # 22 lines fit the 225 mm block


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_text_block_starts_37mm_from_the_top(printed, layout):
    """The first line of page 2 is the block's first line. Where a baseline sits in a
    fixed-height line is LibreOffice's choice, so it is measured on the notice's 版记:
    its last row's bottom edge is the drawn rule (the block's bottom edge)."""
    colophon = printed["notice"]
    last = colophon.pages[-1]
    rule_y = rules_of(last)[-1][0]
    printing_row = next(
        line for line in colophon.at(COLOPHON_PT, len(colophon.pages)) if line.text.endswith("印发")
    )
    below_baseline = rule_y - printing_row.baseline  # in a 28.95 pt line, under the baseline
    first = printed[layout].at(BODY_PT, 2)[0]
    block_top = first.baseline - (28.95 / MM - below_baseline)
    assert block_top == pytest.approx(TOP_MM, abs=0.5)
    assert rule_y == pytest.approx(BOTTOM_MM, abs=0.5)


# --- 版头, title, 署名 ------------------------------------------------------------------------


def test_the_title_is_centred_and_broken_between_words(printed):
    doc = printed["notice"]
    lines = doc.at(TITLE_PT, 1)
    assert [line.text for line in lines] == [
        "浙江省人民政府办公厅关于进一步推进",
        "政务数据共享和政务服务“一网通办”的通知",
    ]
    assert "".join(line.text for line in lines) == NOTICE.title
    for line in lines:
        assert line.centre == pytest.approx(LEFT_MM + 78, abs=1.0)
        assert line.x0 >= LEFT_MM - 0.3 and line.x1 <= RIGHT_MM + 0.3
    assert any("政务数据" in line.text for line in lines)  # never 「政务/数据」
    assert any("“一网通办”" in line.text for line in lines)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_doc_number_is_set_at_its_natural_width(printed, layout):
    doc = printed[layout]
    number = next(
        line
        for line in doc.at(BODY_PT, 1)
        if INPUTS[layout].doc_number in line.text.replace(" ", "")
    )
    assert max(number.pitches(), default=16.0) < 16.1  # not spread over the line
    if layout != "letter":  # 信函: flush right under the rule
        assert number.centre == pytest.approx(LEFT_MM + 78, abs=1.0)


@pytest.mark.parametrize("layout", ["notice", "letter"])
def test_the_seal_is_centred_on_the_date_and_presses_on_it(printed, layout):
    doc = printed[layout]
    copy = doc.copy
    assert copy.seal_page is not None and copy.seal_box is not None
    page = doc.pages[copy.seal_page]
    images = [im for im in page.images if (im["x1"] - im["x0"]) / MM > 30]
    assert len(images) == 1
    seal = images[0]
    x0, x1, top, bottom = seal["x0"] / MM, seal["x1"] / MM, seal["top"] / MM, seal["bottom"] / MM
    assert x1 - x0 == pytest.approx(42, abs=0.5) and bottom - top == pytest.approx(42, abs=0.5)
    # the box handed to the PAdES step is this picture (PDF points, bottom-left origin)
    bx1, by1, bx2, by2 = copy.seal_box
    assert (bx1 / MM, bx2 / MM) == (pytest.approx(x0, abs=0.2), pytest.approx(x1, abs=0.2))
    height = float(page.height)
    assert ((height - by2) / MM, (height - by1) / MM) == (
        pytest.approx(top, abs=0.2),
        pytest.approx(bottom, abs=0.2),
    )

    lines = doc.at(BODY_PT, page.page_number)
    date_line = next(line for line in lines if line.text == "2026年1月5日")
    name = next(line for line in lines if line.text == ISSUER)
    # 7.3.5.1 成文日期右空四字; 署名 centred over it; the seal centred on both
    assert date_line.x1 == pytest.approx(RIGHT_MM - 4 * 15.75 / MM, abs=1.0)
    assert name.centre == pytest.approx(date_line.centre, abs=1.0)
    assert (x0 + x1) / 2 == pytest.approx(date_line.centre, abs=3.0)
    assert max(date_line.pitches() + name.pitches()) < 16.1  # neither is letter-spaced
    # 下压成文日期: the date lies inside the seal, the pair a little below its centre
    assert top < date_line.top and date_line.baseline < bottom
    assert top < name.top
    assert (name.top + date_line.baseline) / 2 > (top + bottom) / 2
    # its top within one line under the last line of text above it, on a page with text
    above = [line for line in lines if line.baseline < name.top]
    assert above, "the seal is on a page without body text"
    gap = top - above[-1].baseline
    assert 0 < gap <= 28.95 / MM, gap


def test_minutes_carry_no_seal(printed):
    copy = printed["minutes"].copy
    assert copy.seal_page is None and copy.seal_box is None
    assert not any(page.images for page in printed["minutes"].pages)


# --- 版记 and page numbers -------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_colophon_is_at_the_foot_of_the_last_even_page(printed, layout):
    doc, inputs = printed[layout], INPUTS[layout]
    pages = len(doc.pages)
    assert pages % 2 == 0
    assert doc.copy.colophon_page == pages == doc.copy.pages
    last = doc.at(COLOPHON_PT, pages)
    text = "".join(line.text for line in last if not re.fullmatch(r"—\d+—", line.text))
    if inputs.cc_recipients:
        assert text.startswith("抄送：" + "，".join(inputs.cc_recipients[:2]))
        assert "".join(inputs.cc_recipients[-1]) + "。" in text
    rules = rules_of(doc.pages[-1])
    if layout == "letter":
        assert rules == []  # 10.1: 信函的版记不加印发机关和印发日期、分隔线
        assert "印发" not in text
        return
    assert text.endswith(f"{ISSUER}2026年1月6日印发")
    expected = 3 if inputs.cc_recipients else 2
    assert len(rules) == expected
    for y, x0, x1, _width in rules:
        assert x0 == pytest.approx(LEFT_MM, abs=0.3) and x1 == pytest.approx(RIGHT_MM, abs=0.3)
        assert y > TOP_MM + 112  # in the lower half: the foot of the page
    # 7.4.1 首条和末条 0.35 mm, 中间 0.25 mm; the last rule on the block's bottom edge
    assert rules[0][3] == pytest.approx(0.35 * MM, abs=0.05)
    assert rules[-1][3] == pytest.approx(0.35 * MM, abs=0.05)
    for rule in rules[1:-1]:
        assert rule[3] == pytest.approx(0.25 * MM, abs=0.05)
    assert rules[-1][0] == pytest.approx(BOTTOM_MM, abs=0.5)
    # every 版记 line lies between the first and the last rule
    for line in last:
        if not re.fullmatch(r"—\d+—", line.text):
            assert rules[0][0] < line.top and line.baseline < rules[-1][0], line.text


def _dash_ink_mm(pdf: bytes, page_index: int, x0_mm: float, x1_mm: float) -> tuple[float, float]:
    """Top and bottom (mm) of the ink of the first 一字线 in the footer of a page."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[page_index]
        width, height = page.get_size()
        scale = 600 / 72
        left, top = x0_mm * MM, (BOTTOM_MM + 2) * MM
        image = page.render(
            scale=scale, crop=(left, height - (BOTTOM_MM + 14) * MM, width - x1_mm * MM, top)
        ).to_pil()
    finally:
        document.close()
    grey = image.convert("L")
    w, h = grey.size
    columns = [x for x in range(w) if any(grey.getpixel((x, y)) < 128 for y in range(h))]
    first = columns[0]
    rows = [
        y
        for y in range(h)
        if any(grey.getpixel((x, y)) < 128 for x in range(first, min(first + 15, w)))
    ]
    return (top + rows[0] / scale) / MM, (top + rows[-1] / scale) / MM


@pytest.mark.parametrize("layout", LAYOUTS)
def test_page_numbers_are_dashed_on_the_outer_side_7mm_below_the_block(printed, layout):
    doc = printed[layout]
    numbered = []
    for index, page in enumerate(doc.pages):
        number = page.page_number
        found = [line for line in doc.at(COLOPHON_PT, number) if re.fullmatch(r"—\d+—", line.text)]
        if layout == "letter" and number == 1:
            assert found == []  # 10.1 信函首页不显示页码
            continue
        if (
            doc.copy.placement == ColophonPlacement.EVEN_PAGE_UNNUMBERED
            and number > len(doc.pages) - 2
        ):
            assert found == []  # 7.5 空白页和版记页均不编排页码
            continue
        assert len(found) == 1, number
        line = found[0]
        assert line.text == f"—{number}—"
        assert all("Song" in c["fontname"] for c in line.chars)  # 宋体 → FandolSong
        if number % 2:  # odd: right, one 4号 character in
            assert line.x1 == pytest.approx(RIGHT_MM - COLOPHON_PT / MM, abs=1.0)
        else:
            assert line.x0 == pytest.approx(LEFT_MM + COLOPHON_PT / MM, abs=1.0)
        numbered.append(index)
    assert numbered
    # 7.5 一字线上距版心下边缘 7 mm: measured on the ink of the first numbered page's dash
    first = numbered[0]
    line = next(ln for ln in doc.at(COLOPHON_PT, first + 1) if ln.text.startswith("—"))
    ink_top, ink_bottom = _dash_ink_mm(doc.copy.pdf, first, line.x0 - 0.5, line.x0 + 3)
    assert ink_top - BOTTOM_MM == pytest.approx(7.0, abs=0.5)
    assert ink_bottom - ink_top < 1.0  # a rule-like dash, not a digit


# --- the file -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_issued_docx_is_the_one_the_pdf_came_from_with_its_properties(printed, layout):
    copy, inputs = printed[layout].copy, INPUTS[layout]
    assert copy.docx == render_docx(inputs, colophon=copy.placement)  # reproducible bytes
    props = open_docx(io.BytesIO(copy.docx)).core_properties
    assert props.title == inputs.title
    assert props.author == ISSUER
    assert props.created == DRAFTED and props.modified == SEALED_AT
    with zipfile.ZipFile(io.BytesIO(copy.docx)) as package:
        assert "<Application>OfficeHub</Application>" in package.read("docProps/app.xml").decode()
    # the standard's font names stay in the DOCX; the PDF embeds the free faces mapped to them
    with zipfile.ZipFile(io.BytesIO(copy.docx)) as package:
        document_xml = package.read("word/document.xml").decode()
    for font in ("仿宋_GB2312", "方正小标宋简体", "黑体"):
        assert f'w:eastAsia="{font}"' in document_xml
    with pdfplumber.open(io.BytesIO(copy.pdf)) as pdf:
        assert pdf.metadata.get("Title") == inputs.title
        assert pdf.metadata.get("Author") == ISSUER
        fonts = {c["fontname"].split("+")[-1] for page in pdf.pages for c in page.chars}
    assert all(f.startswith(("Fandol", "NotoSerifCJK")) for f in fonts), fonts
    assert b"pdfaid:part" in copy.pdf  # PDF/A-2b


# --- the 版记 goes to an even page, whatever the length ---------------------------------------


@pytest.fixture(scope="module")
def lengths() -> dict[int, IssuedCopy]:
    """Notices cut to lengths at which the 版记 first lands on an odd page (the text ends
    there; or it is pushed alone onto one) or stays on an even one. Measured with the
    renderer and fonts of this commit: if pagination changes, pick new lengths so that
    each placement still occurs (the test says which is missing)."""
    paragraphs = BODY.split("\n")
    return {
        n: issue_rendered(dataclasses.replace(NOTICE, body="\n".join(paragraphs[:n])))
        for n in (8, 10, 14)
    }


def test_every_placement_puts_the_colophon_alone_at_the_foot_of_an_even_last_page(lengths):
    assert {copy.placement for copy in lengths.values()} == set(ColophonPlacement)
    for copy in lengths.values():
        assert copy.pages % 2 == 0 and copy.colophon_page == copy.pages
        assert copy.conversions == (1 if copy.placement == ColophonPlacement.SAME_PAGE else 2)
        with pdfplumber.open(io.BytesIO(copy.pdf)) as pdf:
            last = pdf.pages[-1]
            assert rules_of(last)[-1][0] == pytest.approx(BOTTOM_MM, abs=0.5)
            assert any(
                line.text.endswith("2026年1月6日印发") for line in lines_of(last, COLOPHON_PT)
            )
            numbers = [
                "".join(
                    line.text
                    for line in lines_of(page, COLOPHON_PT)
                    if re.fullmatch(r"—\d+—", line.text)
                )
                for page in pdf.pages
            ]
            if copy.placement == ColophonPlacement.EVEN_PAGE_UNNUMBERED:
                # a blank page, then the 版记 page: neither numbered (7.5)
                assert numbers[-2:] == ["", ""]
                assert not lines_of(pdf.pages[-2], BODY_PT) and not lines_of(
                    pdf.pages[-2], COLOPHON_PT
                )
                assert numbers[:-2] == [f"—{i}—" for i in range(1, copy.pages - 1)]
            else:
                assert numbers == [f"—{i}—" for i in range(1, copy.pages + 1)]
            if copy.placement == ColophonPlacement.NEXT_PAGE:
                assert not lines_of(last, BODY_PT)  # the 版记 alone on the back


# --- refusals: never a half-made copy ---------------------------------------------------------


def _fake_conversion(layout: Layout, pdf: bytes = b"%PDF-1.6\n%%EOF\n") -> Any:
    def convert(docx: bytes, *, pdfa: bool = True, timeout: float | None = None) -> Conversion:
        return Conversion(pdf, layout)

    return convert


def test_a_colophon_that_stays_on_an_odd_page_refuses_the_copy(monkeypatch):
    monkeypatch.setattr(
        issue, "convert_docx", _fake_conversion(Layout(pages=3, colophon_page=3, last_text_page=3))
    )
    with pytest.raises(PdfConversionFailed) as caught:
        issue_rendered(MINUTES)
    assert caught.value.code == "pdf.conversion_failed"
    assert caught.value.extra == {"reason": "colophon_not_on_even_page"}


def test_a_sealed_copy_whose_pdf_shows_no_seal_is_refused(monkeypatch, printed):
    unsealed_pdf = printed["minutes"].copy.pdf
    monkeypatch.setattr(issue, "convert_docx", _fake_conversion(Layout(2, 2, 2), unsealed_pdf))
    with pytest.raises(PdfConversionFailed) as caught:
        issue_rendered(NOTICE)
    assert caught.value.extra == {"reason": "no_seal_picture"}


def test_a_failed_conversion_is_passed_on(monkeypatch):
    def fail(docx: bytes, **_: Any) -> Conversion:
        raise PdfConversionFailed("无法将公文转换为版式文件（PDF）。", code="pdf.timeout")

    monkeypatch.setattr(issue, "convert_docx", fail)
    with pytest.raises(PdfConversionFailed) as caught:
        issue_rendered(NOTICE)
    assert caught.value.code == "pdf.timeout"


# --- a stored document ----------------------------------------------------------------------


@pytest.mark.django_db
def test_issue_copy_of_a_stored_document_prints_the_fixed_printing_date_and_stores_nothing(
    personas,
):
    from documents.docx.render import render_document
    from documents.models import Document
    from tests.documents import flow

    document = flow.to_seal(personas, title=NOTICE.title, body="\n".join(PARAGRAPHS[:6]))
    assert document.printed_on is None and document.issued_on is not None  # not printed yet
    png = seal_png()
    copy = issue.issue_copy(document, seal_png=png, printed_on=PRINTED, created=SEALED_AT)

    with pdfplumber.open(io.BytesIO(copy.pdf)) as pdf:
        assert len(pdf.pages) % 2 == 0
        colophon = "".join(line.text for line in lines_of(pdf.pages[-1], COLOPHON_PT))
        assert f"{document.printing_office}2026年1月6日印发" in colophon
        assert "抄送：浙江省财政厅。" in colophon
        assert copy.seal_page is not None and pdf.pages[copy.seal_page].images
    props = open_docx(io.BytesIO(copy.docx)).core_properties
    assert props.title == document.title and props.author == document.signature_name
    assert props.created == document.created_at.replace(microsecond=0)
    assert props.modified == SEALED_AT
    # the returned DOCX is the exact bytes the PDF came from, and they can be made again
    assert copy.docx == render_document(
        document, seal_png=png, printed_on=PRINTED, modified=SEALED_AT, colophon=copy.placement
    )
    assert Document.objects.get(pk=document.pk).printed_on is None  # nothing was written


@pytest.mark.django_db
def test_a_drafter_sets_title_breaks_with_a_newline_through_the_api(personas):
    from rest_framework.test import APIClient

    from documents.docx.render import docx_filename, render_document
    from documents.models import Document

    client = APIClient()
    client.force_authenticate(personas.drafter)
    title = "浙江省人民政府办公厅关于印发\n浙江省政务数据共享管理办法的通知"
    response = client.post("/api/documents/", {"doc_type": "notice", "title": title, "body": "正文。"}, format="json")
    assert response.status_code == 201, response.content.decode()
    document = Document.objects.get(pk=response.json()["id"])
    assert document.title == title  # the break is kept as the drafter set it
    docx = open_docx(io.BytesIO(render_document(document)))
    printed = next(p.text for p in docx.paragraphs if p.style.name == "Title")
    assert printed.split("\n") == ["浙江省人民政府办公厅关于印发", "浙江省政务数据共享管理办法的通知"]
    # everywhere else the title is one line
    assert docx.core_properties.title == title.replace("\n", "")
    assert "\n" not in docx_filename(document)
