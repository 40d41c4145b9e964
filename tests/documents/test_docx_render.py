"""GB/T 9704-2012 layout of rendered DOCX, checked by reopening the file.

Expectations are computed here from the standard's own numbers (A4, 37/28 mm margins,
156 × 225 mm text block, 22 lines × 28 characters), not from the renderer's constants.
No database: these are pure functions.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import statistics
import time
import unicodedata
import zipfile
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Emu, Mm
from docx.text.paragraph import Paragraph
from PIL import Image, ImageDraw

from documents.docx.render import (
    Attendance,
    RenderInput,
    docx_to_text,
    format_cn_date,
    plain_title,
    render_docx,
)

# GB/T 9704-2012 5.1, 5.2.1, 5.2.3
A4 = (210.0, 297.0)
TOP_MM, LEFT_MM = 37.0, 28.0
BLOCK_W_MM, BLOCK_H_MM = 156.0, 225.0
LINES, CHARS = 22, 28
PT_PER_MM = 72 / 25.4
# One 字 of 3号 text: 156 mm / 28 ≈ 15.79 pt is narrower than the 16 pt glyph, so each
# glyph is set tighter by a whole quarter point (run spacing is in twentieths; -5 = -0.25
# pt) and justification spreads the rest: 15.75 pt. (LibreOffice cannot use a
# linesAndChars grid for this: it gives a 16 pt glyph two 15.79 pt cells.)
CHAR_PT = math.floor(BLOCK_W_MM * PT_PER_MM / CHARS * 4) / 4
LINE_PT = BLOCK_H_MM * PT_PER_MM / LINES  # ≈28.99 pt (Word rounds down to 28.95)

# From /work/shared/reference/digital-government.txt (加快数字政府建设的七大要点), with
# second- to fourth-level headings added so every heading level occurs.
BODY = """\
数字政府建设是一项系统性工程，需要革新理念、统筹规划、强化创新、稳步推进。当前数字政府建设需要从以下七个方面加快推进。
一、构建网络互联互通、安全可管可控、能力持续升级的信息网络支撑体系
加强各级政府电子政务网络建设，提高电子政务外网横向委办局覆盖率，加快各类专网向电子政务外网迁移，促进政府部门网络互联互通。按照国家电子政务网络安全防护的相关要求，加强信息安全等级保护和分级保护防护措施建设，完善密码和密钥管理、网络信任和安全管理等体系，确保网络可信、可管和可控。
（一）优化电子政务网络结构。持续推进电子政务网络提速和升级改造，提高电子政务外网和互联网联通访问能力，满足“互联网+政务服务”和数字政府对网络建设的需求。
二、构建体系目录全面、资源分级分类、内容按需共享的信息资源共享体系
按照国家政务信息资源目录体系和交换体系标准要求，应加快各级政务部门政务信息资源的梳理，明确政务信息资源的分类、责任方、格式、属性、更新时限、共享类型、共享方式、使用要求等相关内容。
1.加快推进政务信息资源分级分类，加快构建基础性、主题性和业务性信息资源目录，明确无条件共享、有条件共享、不予共享的范围。
（1）加快各级政务信息资源共享交换平台建设，推进共享交换平台上下互联互通，提升共享交换平台部门和重点业务系统接入率，强化系统直连交换。
三、构建流程持续优化、数据无缝流动、线上线下融合的业务协同联动体系
适应“互联网+政务服务”发展的新特点，按照“信息多跑路、百姓少跑腿”的要求，持续推进政务业务服务流程优化和再造，提高政府部门“一站式”服务能力，不断满足网络信息条件下社会对政务服务变革的新需求。按照整体政府、职能分工和协同监管的要求，加快跨部门业务流程优化和前后对接，推动数据跨部门实时无缝流动，提高业务实时协同联动能力，杜绝因业务不衔接而出现的监管漏洞。按照网络化服务和监管的要求，不断完善和优化线下服务网点、服务人员和服务设施等配套布局，提高线下服务智能化水平，推进线上线下业务融合服务。
数字政府建设不是简单地将网络信息技术在政府履职领域进行深度应用，而是一项全方位系统性工程，需要秉持以人民为中心的发展理念，根据经济社会数字化、网络化和智能化发展趋势，以改革创新精神，推动政府社会治理理念、管理服务流程、监管手段模式、行业法律法规等全方位的变革创新。"""

ISSUED = date(2026, 1, 5)

NOTICE = RenderInput(
    doc_type="notice",
    title="浙江省人民政府办公厅关于加快推进数字政府建设的通知",
    body=BODY,
    issuer_mark="浙江省人民政府办公厅文件",
    issuer_name="浙江省人民政府办公厅",
    doc_number="浙政办发〔2026〕12号",
    issued_on=ISSUED,
    primary_recipients=["各市、县（市、区）人民政府", "省政府直属各单位"],
    cc_recipients=["省委各部门", "省人大常委会办公厅", "省政协办公厅"],
    copy_number="000123",
    urgency_label="特急",
    attachments=["数字政府建设重点任务清单", "数字政府建设重点项目表"],
    note="联系人：张三，电话：0571-12345678",
    printing_office="浙江省人民政府办公厅",
    printed_on=date(2026, 1, 6),
)


def seal_png() -> bytes:
    image = Image.new("RGBA", (420, 420), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 412, 412), outline=(230, 0, 0, 255), width=18)
    draw.regular_polygon((210, 210, 70), 5, fill=(230, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def open_docx(doc: RenderInput):  # -> docx.document.Document
    return Document(io.BytesIO(render_docx(doc)))


def body_paragraphs(document) -> list[Paragraph]:
    """Every paragraph of the main story in order, framed ones (版记) included."""
    return [Paragraph(p, document._body) for p in document.element.body.iter(qn("w:p"))]


def find(document, predicate) -> tuple[int, Paragraph]:
    for i, p in enumerate(body_paragraphs(document)):
        if predicate(p):
            return i, p
    raise AssertionError("no such paragraph")


def find_text(document, text: str) -> tuple[int, Paragraph]:
    # A title's line breaks (7.3.1 回行) do not change its text.
    return find(document, lambda p: text in p.text.replace("\n", ""))


def east_asia_font(run) -> str | None:
    fonts = run._r.rPr.rFonts
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


def units(text: str) -> float:
    """Width in 字: full-width characters 1, half-width 0.5."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text)


def ind(p: Paragraph, name: str) -> int:
    el = p._p.pPr.ind if p._p.pPr is not None else None
    value = el.get(qn(f"w:{name}")) if el is not None else None
    return int(value) if value else 0


def border(p: Paragraph, side: str):
    found = p._p.xpath(f"./w:pPr/w:pBdr/w:{side}")
    return found[0] if found else None


def is_empty(p: Paragraph) -> bool:
    return not p.text.strip() and not p._p.xpath(".//w:drawing")


def effective_alignment(p: Paragraph):
    return p.alignment if p.alignment is not None else p.style.paragraph_format.alignment


@pytest.fixture(scope="module")
def notice():
    return open_docx(NOTICE)


@pytest.fixture(scope="module")
def sealed():
    return open_docx(dataclasses.replace(NOTICE, seal_png=seal_png()))


# --- page and grid -------------------------------------------------------------------------


def test_page_is_a4_with_the_standard_margins_and_text_block(notice):
    section = notice.sections[0]
    assert section.page_width.mm == pytest.approx(A4[0], abs=0.1)
    assert section.page_height.mm == pytest.approx(A4[1], abs=0.1)
    assert section.top_margin.mm == pytest.approx(TOP_MM, abs=0.1)
    assert section.left_margin.mm == pytest.approx(LEFT_MM, abs=0.1)
    width = Emu(section.page_width - section.left_margin - section.right_margin)
    height = Emu(section.page_height - section.top_margin - section.bottom_margin)
    assert width.mm == pytest.approx(BLOCK_W_MM, abs=0.1)
    assert height.mm == pytest.approx(BLOCK_H_MM, abs=0.1)
    assert section.right_margin.mm == pytest.approx(26, abs=0.1)
    assert section.bottom_margin.mm == pytest.approx(35, abs=0.1)


def test_document_grid_fits_22_lines_of_28_characters(notice):
    section = notice.sections[0]
    grid = section._sectPr.find(qn("w:docGrid"))
    # A line grid only: a linesAndChars grid (charSpace) gives each 16 pt glyph two cells
    # in LibreOffice, 14 characters a line. The 28 come from run spacing (below).
    assert grid.get(qn("w:type")) == "lines"
    assert grid.get(qn("w:charSpace")) is None

    line_pitch = int(grid.get(qn("w:linePitch")))  # twips
    block_height_twips = Emu(section.page_height - section.top_margin - section.bottom_margin).twips
    assert line_pitch == pytest.approx(LINE_PT * 20, abs=1)
    assert line_pitch * LINES <= block_height_twips  # all 22 lines fit

    # Every 3号 glyph is set tighter so that 28 fit the block, and no tighter than needed.
    normal_size = notice.styles["Normal"].font.size.pt
    assert normal_size == 16
    block_width_pt = Emu(section.page_width - section.left_margin - section.right_margin).pt
    normal_rpr = notice.styles["Normal"].element.find(qn("w:rPr"))
    spacing = int(normal_rpr.find(qn("w:spacing")).get(qn("w:val"))) / 20  # pt
    assert normal_size * CHARS > block_width_pt  # untightened, 28 would not fit
    assert (normal_size + spacing) * CHARS <= block_width_pt
    assert normal_size + spacing == pytest.approx(CHAR_PT)
    for p in body_paragraphs(notice):
        for run in p.runs:
            run_spacing = run._r.rPr.find(qn("w:spacing"))
            if run.font.size is not None and run.font.size.pt == 16:
                assert int(run_spacing.get(qn("w:val"))) / 20 == spacing, p.text
            elif run.font.size is not None:  # title, 版记, mark: natural width
                assert int(run_spacing.get(qn("w:val"))) == 0, p.text

    # Every line of body text is exactly one grid line high.
    normal = notice.styles["Normal"].paragraph_format
    assert normal.line_spacing.twips == line_pitch
    assert str(normal.line_spacing_rule).startswith("EXACTLY")


def test_no_punctuation_hangs_and_no_space_is_added_between_chinese_and_digits(notice):
    ppr = notice.styles["Normal"].element.find(qn("w:pPr"))
    # w:overflowPunct 1 is Word's default; LibreOffice imports it inverted, so it must be
    # written as 1 or LibreOffice hangs ，。 in the margin.
    assert ppr.find(qn("w:overflowPunct")).get(qn("w:val")) == "1"
    assert ppr.find(qn("w:autoSpaceDE")).get(qn("w:val")) == "0"
    assert ppr.find(qn("w:autoSpaceDN")).get(qn("w:val")) == "0"


# --- 版头 ----------------------------------------------------------------------------------


def test_header_block_lists_copy_number_then_urgency_top_left_in_heiti(notice):
    paragraphs = body_paragraphs(notice)
    assert [paragraphs[0].text, paragraphs[1].text] == ["000123", "特急"]
    for p in paragraphs[:2]:
        assert effective_alignment(p) in (None, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.JUSTIFY)
        assert ind(p, "left") == 0 and ind(p, "firstLine") == 0
        assert east_asia_font(p.runs[0]) == "黑体"
        assert p.runs[0].font.size.pt == 16


def test_issuer_mark_is_red_centred_fits_the_block_and_starts_35mm_down(notice):
    index, mark = find_text(notice, "浙江省人民政府办公厅文件")
    run = mark.runs[0]
    assert str(run.font.color.rgb) == "FF0000"
    assert effective_alignment(mark) == WD_ALIGN_PARAGRAPH.CENTER
    assert east_asia_font(run) == "方正小标宋简体"
    assert run.font.size.pt * units(mark.text) <= BLOCK_W_MM * PT_PER_MM
    assert run.font.size.pt >= 22
    # Its line box starts 35 mm below the block's top: the lines above plus space-before.
    lines_above = index  # 份号 and 紧急程度, one grid line each
    top_pt = lines_above * LINE_PT + mark.paragraph_format.space_before.pt
    assert top_pt / PT_PER_MM == pytest.approx(35, abs=0.5)


def test_doc_number_two_lines_below_the_mark_centred_with_hexagonal_brackets(notice):
    mark_index, _ = find_text(notice, "浙江省人民政府办公厅文件")
    index, number = find_text(notice, "浙政办发")
    paragraphs = body_paragraphs(notice)
    assert index == mark_index + 3
    assert all(is_empty(p) for p in paragraphs[mark_index + 1 : index])
    assert effective_alignment(number) == WD_ALIGN_PARAGRAPH.CENTER
    assert "〔2026〕" in number.text
    assert "第" not in number.text
    assert re.search(r"〔\d{4}〕[1-9]\d*号$", number.text)  # no leading zeros


def test_red_rule_as_wide_as_the_block_about_4mm_under_the_number(notice):
    index, _ = find_text(notice, "浙政办发")
    rule = body_paragraphs(notice)[index + 1]
    bottom = border(rule, "bottom")
    assert bottom is not None
    assert bottom.get(qn("w:color")).upper() == "FF0000"
    assert bottom.get(qn("w:val")) == "single"
    assert ind(rule, "left") == 0 and ind(rule, "right") == 0  # spans the whole block
    # Rule paragraph height + the space under the number's glyphs (centred in the line).
    gap_pt = rule.paragraph_format.line_spacing.pt + (LINE_PT - 16) / 2
    assert gap_pt / PT_PER_MM == pytest.approx(4, abs=0.5)


def test_upward_documents_show_signers_beside_a_left_aligned_number():
    request = dataclasses.replace(NOTICE, doc_type="request", signers=["王五"])
    document = open_docx(request)
    _, p = find_text(document, "签发人：")
    assert "浙政办发〔2026〕12号" in p.text
    assert p.text.index("浙政办发") < p.text.index("签发人")
    assert effective_alignment(p) != WD_ALIGN_PARAGRAPH.CENTER
    assert ind(p, "left") == pytest.approx(CHAR_PT * 20, abs=2)  # 居左空一字
    name_run = next(r for r in p.runs if "王五" in r.text)
    assert east_asia_font(name_run) == "楷体_GB2312"
    label_run = next(r for r in p.runs if "签发人" in r.text)
    assert east_asia_font(label_run) == "仿宋_GB2312"
    # the rule still spans the block
    index, _ = find_text(document, "签发人：")
    assert border(body_paragraphs(document)[index + 1], "bottom") is not None


def test_several_signers_two_a_line_with_the_number_on_the_last_line():
    request = dataclasses.replace(NOTICE, doc_type="report", signers=["王五", "赵六", "钱七"])
    document = open_docx(request)
    first_index, first = find_text(document, "签发人：")
    second = body_paragraphs(document)[first_index + 1]
    assert "王五" in first.text and "赵六" in first.text
    assert "浙政办发" not in first.text
    assert "钱七" in second.text and "浙政办发" in second.text


# --- 主体 ----------------------------------------------------------------------------------


def test_title_is_2hao_xiaobiaosong_centred_two_blank_lines_under_the_rule(notice):
    index, title = find_text(notice, NOTICE.title)
    paragraphs = body_paragraphs(notice)
    assert title.style.name == "Title"
    assert effective_alignment(title) == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].font.size.pt == 22
    assert east_asia_font(title.runs[0]) == "方正小标宋简体"
    assert is_empty(paragraphs[index - 1]) and is_empty(paragraphs[index - 2])
    assert border(paragraphs[index - 3], "bottom") is not None


def title_lines_of(document, title: str) -> list[str]:
    _, p = find_text(document, plain_title(title))
    return p.text.split("\n")  # python-docx reads each w:br as "\n"


def test_a_long_title_is_broken_between_words_into_lines_that_fit(notice):
    # 25 characters of 2号 (22 pt) do not fit one 156 mm line (20 do)
    lines = title_lines_of(notice, NOTICE.title)
    assert "".join(lines) == NOTICE.title
    assert len(lines) == 2
    assert all(units(line) <= BLOCK_W_MM * PT_PER_MM // 22 for line in lines)
    assert lines == ["浙江省人民政府办公厅关于", "加快推进数字政府建设的通知"]


@pytest.mark.parametrize(
    ("title", "whole"),
    [
        (
            "浙江省人民政府办公厅关于进一步推进政务数据共享和政务服务“一网通办”的通知",
            ["政务数据", "“一网通办”"],
        ),
        ("国务院办公厅关于印发政务数据共享开放条例实施细则的通知", ["政务数据"]),
        ("国务院关于印发《新一代人工智能发展规划》的通知", ["《新一代人工智能发展规划》"]),
        (
            "关于召开全省数字政府建设工作推进会暨政务服务“一网通办”改革经验交流会议有关事项的通知",
            ["数字政府", "政务服务", "“一网通办”", "有关事项"],
        ),
        (
            "浙江省人民政府办公厅关于做好2026年全省政务公开和政务数据管理工作的通知",
            ["2026年", "政务公开", "政务数据"],
        ),
    ],
)
def test_titles_never_break_inside_a_word_a_quotation_or_a_number(title, whole):
    lines = title_lines_of(open_docx(dataclasses.replace(NOTICE, title=title)), title)
    assert "".join(lines) == title
    assert len(lines) >= 2
    assert all(units(line) <= 20 for line in lines)
    for word in whole:
        assert any(word in line for line in lines), (word, lines)
    assert not any(line[0] in "，。、）》”" for line in lines)  # 避头
    assert not any(line[-1] in "（《“" for line in lines)  # 避尾


def test_a_drafter_sets_title_breaks_with_newlines(notice):
    title = "浙江省人民政府办公厅关于印发\n浙江省政务数据共享管理办法的通知"
    document = open_docx(dataclasses.replace(NOTICE, title=title))
    assert title_lines_of(document, title) == [
        "浙江省人民政府办公厅关于印发",
        "浙江省政务数据共享管理办法的通知",
    ]
    # the break only shapes the printed title: the file's title and its text are one line
    assert document.core_properties.title == plain_title(title)
    assert "浙江省人民政府办公厅关于印发浙江省政务数据共享管理办法的通知" in docx_to_text(
        render_docx(dataclasses.replace(NOTICE, title=title))
    ).split("\n")
    # a drafter's line that is itself too long is broken further
    long_line = "浙江省人民政府办公厅关于进一步推进政务数据共享\n和政务服务“一网通办”的通知"
    lines = title_lines_of(open_docx(dataclasses.replace(NOTICE, title=long_line)), long_line)
    assert lines[-1] == "和政务服务“一网通办”的通知" and len(lines) == 3


def test_primary_recipients_one_line_below_the_title_flush_left_with_a_full_width_colon(notice):
    title_index, _ = find_text(notice, NOTICE.title)
    index, p = find_text(notice, "各市、县")
    assert index == title_index + 2
    assert is_empty(body_paragraphs(notice)[title_index + 1])
    assert p.text == "各市、县（市、区）人民政府、省政府直属各单位："
    assert ind(p, "left") == 0 and ind(p, "firstLine") == 0


def test_body_is_3hao_fangsong_indented_two_characters(notice):
    _, p = find_text(notice, "数字政府建设是一项系统性工程")
    run = p.runs[0]
    assert run.font.size.pt == 16
    assert east_asia_font(run) == "仿宋_GB2312"
    assert p.paragraph_format.first_line_indent.pt == pytest.approx(2 * CHAR_PT, abs=0.2)
    assert ind(p, "firstLineChars") == 200


@pytest.mark.parametrize(
    ("start", "font"),
    [
        ("一、构建网络互联互通", "黑体"),
        ("（一）优化电子政务网络结构", "楷体_GB2312"),
        ("1.加快推进政务信息资源", "仿宋_GB2312"),
        ("（1）加快各级政务信息资源", "仿宋_GB2312"),
    ],
)
def test_headings_use_the_fonts_of_their_level(notice, start, font):
    _, p = find_text(notice, start)
    assert east_asia_font(p.runs[0]) == font
    assert p.paragraph_format.first_line_indent.pt == pytest.approx(2 * CHAR_PT, abs=0.2)


def test_a_second_level_heading_sentence_is_kaiti_and_its_paragraph_runs_on_in_fangsong(notice):
    _, p = find_text(notice, "（一）优化电子政务网络结构")
    assert p.runs[0].text == "（一）优化电子政务网络结构。"
    assert east_asia_font(p.runs[1]) == "仿宋_GB2312"


def test_attachment_notes_one_line_under_the_body_two_characters_in_names_aligned(notice):
    last_body_index, _ = find_text(notice, "数字政府建设不是简单地")
    index, first = find_text(notice, "附件：")
    second = body_paragraphs(notice)[index + 1]
    assert index == last_body_index + 2
    assert first.text == "附件：1.数字政府建设重点任务清单"
    assert second.text == "2.数字政府建设重点项目表"
    # first line starts two characters in; "2." sits under "1." (after "附件：", 3 字)
    first_start = ind(first, "left") - ind(first, "hanging")
    second_start = ind(second, "left") - ind(second, "hanging")
    assert first_start == pytest.approx(2 * CHAR_PT * 20, abs=2)
    assert second_start == pytest.approx(5 * CHAR_PT * 20, abs=2)
    # wrapped lines align with the names' first character
    assert ind(first, "left") == ind(second, "left")
    assert ind(first, "left") == pytest.approx((5 + units("1.")) * CHAR_PT * 20, abs=2)


def test_unsealed_signature_name_two_in_from_the_right_and_date_two_characters_further(notice):
    _, name = find(notice, lambda p: p.text == NOTICE.issuer_name)
    _index, date_p = find(notice, lambda p: p.text == "2026年1月5日")
    assert effective_alignment(name) == WD_ALIGN_PARAGRAPH.RIGHT
    assert effective_alignment(date_p) == WD_ALIGN_PARAGRAPH.RIGHT
    assert ind(name, "right") == pytest.approx(2 * CHAR_PT * 20, abs=2)
    # the date's first character is two characters right of the name's first character
    name_start = ind(name, "right") / 20 / CHAR_PT + units(name.text)
    date_start = ind(date_p, "right") / 20 / CHAR_PT + units(date_p.text)
    assert name_start - date_start == pytest.approx(2, abs=0.05)


def test_dates_use_arabic_numerals_without_padding():
    assert format_cn_date(date(2026, 1, 5)) == "2026年1月5日"
    assert format_cn_date(date(2026, 10, 12)) == "2026年10月12日"


def test_sealed_document_floats_a_42mm_seal_in_front_of_the_name_and_date(sealed):
    name_index, name = find(sealed, lambda p: p.text == NOTICE.issuer_name)
    _, date_p = find(sealed, lambda p: p.text == "2026年1月5日")
    anchors = name._p.xpath(".//w:drawing/wp:anchor")
    assert len(anchors) == 1
    anchor = anchors[0]
    assert anchor.get("behindDoc") == "0"
    assert anchor.xpath("./wp:wrapNone")
    extent = anchor.xpath("./wp:extent")[0]
    assert int(extent.get("cx")) == pytest.approx(Mm(42), rel=0.01)
    assert int(extent.get("cy")) == pytest.approx(Mm(42), rel=0.01)
    # the picture is the seal we passed in
    rid = anchor.find(".//" + qn("a:blip")).get(qn("r:embed"))
    assert sealed.part.related_parts[rid].blob == seal_png()

    # 7.3.5.1: date four characters in from the right, name centred over the date
    assert ind(date_p, "right") == pytest.approx(4 * CHAR_PT * 20, abs=2)
    name_centre = ind(name, "right") / 20 + units(name.text) * CHAR_PT / 2
    date_centre = ind(date_p, "right") / 20 + units(date_p.text) * CHAR_PT / 2
    assert name_centre == pytest.approx(date_centre, abs=1)

    # The seal is centred on the date horizontally (offset from the left margin) ...
    assert anchor.xpath("./wp:positionH")[0].get("relativeFrom") == "margin"
    seal_pt = int(extent.get("cx")) / 12700
    x_pt = int(anchor.xpath("./wp:positionH/wp:posOffset")[0].text) / 12700
    block_pt = BLOCK_W_MM * PT_PER_MM
    assert x_pt + seal_pt / 2 == pytest.approx(block_pt - date_centre, abs=2)
    # ... and vertically its top is within one line under the 附件说明 (the text above),
    # with the name and date a little below its centre.
    paragraphs = body_paragraphs(sealed)
    last_text_index = max(i for i, p in enumerate(paragraphs[:name_index]) if not is_empty(p))
    assert paragraphs[last_text_index].text.startswith("2.数字政府")
    blank_lines = name_index - last_text_index - 1
    positionV = anchor.xpath("./wp:positionV")[0]
    assert positionV.get("relativeFrom") == "paragraph"
    y_pt = int(anchor.xpath("./wp:positionV/wp:posOffset")[0].text) / 12700
    line = sealed.styles["Normal"].paragraph_format.line_spacing.pt
    seal_top_below_text = blank_lines * line + y_pt
    assert 0 <= seal_top_below_text <= line
    seal_centre = y_pt + seal_pt / 2  # from the name line's top
    block_centre = line  # name and date: two lines
    assert 0 < block_centre - seal_centre < line


def test_the_seal_block_keeps_with_the_last_body_text(sealed):
    last_body_index, _ = find_text(sealed, "数字政府建设不是简单地")
    name_index, _ = find(sealed, lambda p: p.text == NOTICE.issuer_name)
    chain = body_paragraphs(sealed)[last_body_index : name_index + 1]
    assert all(p.paragraph_format.keep_with_next for p in chain)


def test_note_on_the_line_under_the_date_two_characters_in_with_parentheses(notice):
    date_index, _ = find(notice, lambda p: p.text == "2026年1月5日")
    index, note = find_text(notice, "联系人")
    assert index == date_index + 1
    assert note.text == "（联系人：张三，电话：0571-12345678）"
    assert note.paragraph_format.first_line_indent.pt == pytest.approx(2 * CHAR_PT, abs=0.2)


def test_elements_follow_the_standard_order(notice):
    texts = [p.text.replace("\n", "") for p in body_paragraphs(notice)]

    def position(predicate) -> int:
        return next(i for i, t in enumerate(texts) if predicate(t))

    order = [
        position(lambda t: t == "浙江省人民政府办公厅文件"),
        position(lambda t: t.startswith("浙政办发")),
        position(lambda t: t.startswith("浙政办发")) + 1,  # the red rule
        position(lambda t: t == NOTICE.title),
        position(lambda t: t.endswith("直属各单位：")),
        position(lambda t: t.startswith("数字政府建设是一项")),
        position(lambda t: t.startswith("附件：")),
        position(lambda t: t == NOTICE.issuer_name),
        position(lambda t: t == "2026年1月5日"),
        position(lambda t: "联系人" in t),
        position(lambda t: t.startswith("抄送：")),
        position(lambda t: t.endswith("印发")),
    ]
    assert order == sorted(order)
    assert len(set(order)) == len(order)


# --- 版记 and page numbers -------------------------------------------------------------------


def test_colophon_in_4hao_fangsong_between_black_rules_at_the_foot_of_the_block(notice):
    _, cc = find_text(notice, "抄送：")
    _, printing = find_text(notice, "印发")
    assert cc.text == "抄送：省委各部门，省人大常委会办公厅，省政协办公厅。"
    assert printing.text == "浙江省人民政府办公厅\t2026年1月6日印发"
    for p in (cc, printing):
        assert all(run.font.size.pt == 14 for run in p.runs)
        assert all(east_asia_font(run) == "仿宋_GB2312" for run in p.runs)
    # The 版记 is one floating table (a framed paragraph renders mid-page in LibreOffice,
    # without its rules) positioned against the bottom of the text block, so its last
    # rule lies on the block's bottom edge; the rules are the table's borders.
    tables = cc._p.xpath("./ancestor::w:tbl")
    assert len(tables) == 1 and tables == printing._p.xpath("./ancestor::w:tbl")
    table = tables[0]
    position = table.xpath("./w:tblPr/w:tblpPr")[0]
    assert position.get(qn("w:vertAnchor")) == "margin"
    assert position.get(qn("w:tblpYSpec")) == "bottom"  # last rule on the block's bottom edge
    assert position.get(qn("w:horzAnchor")) == "page"
    assert int(position.get(qn("w:tblpX"))) == pytest.approx(Mm(LEFT_MM).twips, abs=2)
    width = table.xpath("./w:tblPr/w:tblW")[0]
    assert int(width.get(qn("w:w"))) == pytest.approx(Mm(BLOCK_W_MM).twips, abs=2)

    def eighths(mm: float) -> int:  # w:sz is in eighths of a point
        return round(mm * PT_PER_MM * 8)

    def table_border(side: str):
        return table.xpath(f"./w:tblPr/w:tblBorders/w:{side}")[0]

    assert int(table_border("top").get(qn("w:sz"))) == eighths(0.35)  # first rule
    assert int(table_border("insideH").get(qn("w:sz"))) == eighths(0.25)  # between 抄送 and 印发
    assert int(table_border("bottom").get(qn("w:sz"))) == eighths(0.35)  # last rule
    for b in (table_border("top"), table_border("insideH"), table_border("bottom")):
        assert b.get(qn("w:color")) == "000000"
        assert b.get(qn("w:val")) == "single"
    for side in ("left", "right", "insideV"):
        assert table_border(side).get(qn("w:val")) == "nil"
    # 印发机关 one character in on the left, the date one character in on the right
    assert ind(printing, "left") == ind(printing, "right") == 14 * 20
    tab = printing.paragraph_format.tab_stops[0]
    assert str(tab.alignment).startswith("RIGHT")
    assert tab.position.pt == pytest.approx(BLOCK_W_MM * PT_PER_MM - 14, abs=0.5)


def test_page_numbers_odd_right_even_left_in_4hao_songti_7mm_below_the_block(notice):
    assert notice.settings.odd_and_even_pages_header_footer
    section = notice.sections[0]
    odd = section.footer.paragraphs[0]
    even = section.even_page_footer.paragraphs[0]
    assert odd.text == "— 1 —" and even.text == "— 1 —"
    for p in (odd, even):
        assert p._p.xpath(".//w:instrText")[0].text.strip() == "PAGE"
        assert all(run.font.size.pt == 14 for run in p.runs)
        assert {east_asia_font(run) for run in p.runs} == {"宋体"}
    assert odd.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert ind(odd, "right") == 14 * 20  # one 4号 character in
    assert even.alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert ind(even, "left") == 14 * 20
    # the dash (mid-line) sits 7 mm under the text block's bottom edge
    pf = odd.paragraph_format
    dash_from_page_bottom = (
        section.footer_distance.pt + pf.space_after.pt + pf.line_spacing.pt / 2
    ) / PT_PER_MM
    assert section.bottom_margin.mm - dash_from_page_bottom == pytest.approx(7, abs=0.5)


# --- variants ------------------------------------------------------------------------------


def test_letter_has_the_name_30mm_down_double_red_rules_and_the_number_top_right():
    letter = dataclasses.replace(
        NOTICE,
        doc_type="letter",
        issuer_mark="浙江省人民政府办公厅",
        title="浙江省人民政府办公厅关于商请支持数字政府建设的函",
        copy_number=None,
        urgency_label=None,
    )
    document = open_docx(letter)
    section = document.sections[0]
    assert section.different_first_page_header_footer
    assert section.header_distance.mm == pytest.approx(30, abs=0.1)
    mark, rule = section.first_page_header.paragraphs[:2]
    assert mark.text == "浙江省人民政府办公厅"
    assert str(mark.runs[0].font.color.rgb) == "FF0000"
    top = border(rule, "bottom")
    assert top.get(qn("w:val")) == "thickThinSmallGap"  # thick over thin
    assert top.get(qn("w:color")) == "FF0000"
    overhang = -ind(rule, "left") / 20 / PT_PER_MM
    assert BLOCK_W_MM + 2 * overhang == pytest.approx(170, abs=0.2)
    lower = border(section.first_page_footer.paragraphs[0], "bottom")
    assert lower.get(qn("w:val")) == "thinThickSmallGap"  # thin over thick
    assert section.footer_distance.mm == pytest.approx(20, abs=0.1)
    assert section.first_page_footer.paragraphs[0].text == ""  # no page number on page 1

    first = body_paragraphs(document)[0]
    assert first.text == "\t浙政办发〔2026〕12号"
    tab = first.paragraph_format.tab_stops[0]
    assert str(tab.alignment).startswith("RIGHT")
    assert tab.position.pt == pytest.approx(BLOCK_W_MM * PT_PER_MM, abs=0.5)
    # 10.1 版记: 抄送 only, no 印发 line and no rules
    _, cc = find_text(document, "抄送：")
    assert border(cc, "top") is None and border(cc, "bottom") is None
    table_rules = cc._p.xpath("./ancestor::w:tbl/w:tblPr/w:tblBorders/*")
    assert table_rules and all(b.get(qn("w:val")) == "nil" for b in table_rules)
    assert not any(p.text.endswith("印发") for p in body_paragraphs(document))


def test_minutes_have_a_minutes_mark_attendance_and_no_primary_recipients():
    minutes = dataclasses.replace(
        NOTICE,
        doc_type="minutes",
        issuer_mark="浙江省人民政府常务会议",
        doc_number="第3期",
        title="省政府第三十次常务会议纪要",
        primary_recipients=[],
        attachments=[],
        attendance=Attendance(
            present=["省发展改革委 张三", "省经信厅 李四"],
            on_leave=["省财政厅 王五"],
            observers=["省大数据局 赵六"],
        ),
    )
    document = open_docx(minutes)
    _, mark = find_text(document, "纪要")
    assert mark.text == "浙江省人民政府常务会议纪要"
    assert str(mark.runs[0].font.color.rgb) == "FF0000"
    title_index, _ = find_text(document, minutes.title)
    paragraphs = body_paragraphs(document)
    assert paragraphs[title_index + 2].text.startswith("数字政府建设是一项")  # no 主送
    _, issuer_line = find_text(document, "\t2026年1月5日")
    assert issuer_line.text == "浙江省人民政府办公厅\t2026年1月5日"
    labels = []
    for label in ("出席", "请假", "列席"):
        _, p = find_text(document, f"{label}：")
        assert east_asia_font(p.runs[0]) == "黑体"
        assert east_asia_font(p.runs[1]) == "仿宋_GB2312"
        assert ind(p, "left") - ind(p, "hanging") == pytest.approx(2 * CHAR_PT * 20, abs=2)
        labels.append(p.text)
    assert labels[0] == "出席：省发展改革委 张三、省经信厅 李四"
    assert not any(p.text == NOTICE.issuer_name for p in paragraphs)  # no signature block
    with pytest.raises(ValueError, match="纪要"):
        dataclasses.replace(minutes, seal_png=seal_png())


def test_attachments_start_on_a_new_page_with_label_and_centred_title():
    with_bodies = dataclasses.replace(
        NOTICE,
        attachment_bodies=[
            ("数字政府建设重点任务清单", "一、网络支撑体系\n加强各级政府电子政务网络建设。"),
            ("数字政府建设重点项目表", "（一）共享交换平台建设。"),
        ],
    )
    document = open_docx(with_bodies)
    paragraphs = body_paragraphs(document)
    index, label = find(document, lambda p: p.text == "附件1")
    assert label.paragraph_format.page_break_before
    assert east_asia_font(label.runs[0]) == "黑体"
    assert is_empty(paragraphs[index + 1])
    title = paragraphs[index + 2]  # the third line of the page
    assert title.text == "数字政府建设重点任务清单"
    assert effective_alignment(title) == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].font.size.pt == 22
    _, second = find(document, lambda p: p.text == "附件2")
    assert second.paragraph_format.page_break_before
    # attachments come after the 附注 and before the 版记
    texts = [p.text for p in paragraphs]
    assert texts.index("附件1") > next(i for i, t in enumerate(texts) if "联系人" in t)
    assert texts.index("附件2") < next(i for i, t in enumerate(texts) if t.startswith("抄送"))


# --- the file itself -----------------------------------------------------------------------

CREATED = datetime(2026, 1, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
SEALED_AT = datetime(2026, 1, 6, 10, 15, 42, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_core_properties_come_from_the_document_not_the_template():
    data = render_docx(dataclasses.replace(NOTICE, created=CREATED, modified=SEALED_AT))
    props = Document(io.BytesIO(data)).core_properties
    assert props.title == NOTICE.title
    assert props.author == props.last_modified_by == NOTICE.issuer_name
    assert props.language == "zh-CN"
    assert props.created == CREATED  # written in UTC, "Z"
    assert props.modified == SEALED_AT.replace(microsecond=0)
    assert props.comments == "" and props.subject == "" and props.keywords == ""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        app = package.read("docProps/app.xml").decode()
        assert "<Application>OfficeHub</Application>" in app and "Microsoft" not in app
        core = package.read("docProps/core.xml").decode()
        assert "python-docx" not in core and "2013" not in core
        assert not any(name.startswith("docProps/thumbnail") for name in package.namelist())


def test_the_same_input_gives_the_same_bytes():
    sealed = dataclasses.replace(NOTICE, seal_png=seal_png(), created=CREATED, modified=SEALED_AT)
    first = render_docx(sealed)
    time.sleep(2.1)  # zip entries carry a two-second clock
    assert render_docx(sealed) == first
    assert render_docx(dataclasses.replace(sealed, modified=SEALED_AT.replace(second=50))) != first


def test_without_timestamps_the_file_is_stamped_now():
    before = datetime.now(UTC).replace(microsecond=0)
    props = Document(io.BytesIO(render_docx(NOTICE))).core_properties
    after = datetime.now(UTC)
    assert before <= props.modified <= after
    assert props.created == props.modified


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="aware"):
        dataclasses.replace(NOTICE, modified=datetime(2026, 1, 6, 10, 0))


# --- helpers of the module ----------------------------------------------------------------


def test_docx_to_text_gives_every_paragraph_for_indexing(notice):
    text = docx_to_text(render_docx(NOTICE))
    lines = text.split("\n")
    assert NOTICE.title in lines
    for para in BODY.splitlines():
        assert para in lines
    assert "抄送：省委各部门，省人大常委会办公厅，省政协办公厅。" in lines


def test_invalid_input_is_refused():
    with pytest.raises(ValueError, match="doc_type"):
        dataclasses.replace(NOTICE, doc_type="memo")
    with pytest.raises(ValueError, match="six digits"):
        dataclasses.replace(NOTICE, copy_number="123")
    with pytest.raises(ValueError, match="list of names"):
        dataclasses.replace(NOTICE, primary_recipients="各市人民政府")


def test_a_three_page_document_renders_well_under_150_ms():
    render_docx(NOTICE)  # warm up imports and the template
    timings = []
    for _ in range(15):
        start = time.perf_counter()
        render_docx(NOTICE)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.150
