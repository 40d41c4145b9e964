"""Render a 公文 as DOCX laid out per GB/T 9704-2012 《党政机关公文格式》.

The layout works on plain typed data (``RenderInput``), so the tests and benchmarks
render without a database; ``render_document`` is the one adapter from a stored
``Document``. Low-level XML helpers are in ``documents/docx/oxml.py``.

Public API:
    RenderInput, Attendance              the data a document is rendered from
    render_docx(doc) -> bytes            the DOCX file
    render_document(document) -> bytes   the same for a stored Document (with its seal image)
    ColophonPlacement                    where the 版记 goes (chosen by documents/docx/issue.py)
    docx_filename(document) -> str       the download name
    docx_to_text(docx_bytes) -> str      plain text for search indexing (trusted input only)
    format_cn_date(d) -> str             2026年1月5日 (7.3.5.4: no zero padding)
    plain_title(title) -> str            the title without a drafter's line breaks

The issued copy (DOCX + the PDF made from it, 版记 on an even page) comes from
``documents.docx.issue.issue_copy``, which renders, converts with LibreOffice and checks.

The layout is measured in LibreOffice 7.4 (tests/documents/test_layout.py), and keeps
Word/WPS semantics: a `lines` document grid with exact 28.95 pt lines (22 a page) and 3号
runs set 0.25 pt tight give 28 characters a line (see BODY_RUN_SPACING); the DOCX names
the standard fonts (仿宋_GB2312, 方正小标宋简体, 黑体, 楷体_GB2312, 宋体).

Clause numbers in comments refer to GB/T 9704-2012. Where the standard measures from the
ink of a glyph (a mark's top edge, the rule 4 mm below the 发文字号, the page number's
一字线 7 mm below the text block) we can only place the line box that holds the glyph; the
constants below assume the glyph sits centred in its line, which is within about 1 mm for
the 仿宋/小标宋 fonts the standard names. The 版记 is a floating table positioned against
the bottom of the text block (7.4.1: the last rule coincides with the text block's bottom
edge), at the foot of the page where the text ends.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from docx import Document as _new_document
from docx.document import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor, Twips
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from documents import models as document_models
from documents.docx import oxml
from documents.docx.titles import title_lines
from officehub.directory.models import Clearance, Department

__all__ = [
    "DOC_TYPES",
    "UPWARD_DOC_TYPES",
    "Attendance",
    "CoIssuer",
    "ColophonPlacement",
    "RenderInput",
    "docx_filename",
    "docx_to_text",
    "format_cn_date",
    "plain_title",
    "render_document",
    "render_docx",
]

# --- 文种 (《党政机关公文处理工作条例》第八条) ------------------------------------------
DOC_TYPES: frozenset[str] = frozenset(
    {
        "resolution", "decision", "order", "communique", "announcement", "public_notice",
        "opinion", "notice", "circular", "report", "request", "reply", "motion", "letter",
        "minutes",
    }
)  # fmt: skip
UPWARD_DOC_TYPES: frozenset[str] = frozenset({"request", "report"})  # 上行文 show 签发人 (7.2.6)

# --- Page and text block (5.1, 5.2.1, 5.2.3) ----------------------------------------------
_TWIPS_PER_MM = 1440 / 25.4
_EMU_PER_PT = 12700


def _mm_twips(mm: float) -> int:
    return round(mm * _TWIPS_PER_MM)


def _mm_pt(mm: float) -> float:
    return mm * 72 / 25.4


PAGE_WIDTH_MM = 210.0  # 5.1 A4
PAGE_HEIGHT_MM = 297.0
TOP_MARGIN_MM = 37.0  # 5.2.1 天头 37 mm ± 1 mm
LEFT_MARGIN_MM = 28.0  # 5.2.1 订口 28 mm ± 1 mm
TEXT_WIDTH_MM = 156.0  # 5.2.1 版心 156 mm × 225 mm
TEXT_HEIGHT_MM = 225.0
RIGHT_MARGIN_MM = PAGE_WIDTH_MM - LEFT_MARGIN_MM - TEXT_WIDTH_MM  # 26 mm
BOTTOM_MARGIN_MM = PAGE_HEIGHT_MM - TOP_MARGIN_MM - TEXT_HEIGHT_MM  # 35 mm
LINES_PER_PAGE = 22  # 5.2.3 一般每面排 22 行
CHARS_PER_LINE = 28  # 5.2.3 每行排 28 个字，并撑满版心

_PAGE_WIDTH_TW = _mm_twips(PAGE_WIDTH_MM)
_PAGE_HEIGHT_TW = _mm_twips(PAGE_HEIGHT_MM)
_TOP_TW = _mm_twips(TOP_MARGIN_MM)
_BOTTOM_TW = _mm_twips(BOTTOM_MARGIN_MM)
_LEFT_TW = _mm_twips(LEFT_MARGIN_MM)
_RIGHT_TW = _mm_twips(RIGHT_MARGIN_MM)
# The text block as Word will see it after rounding the margins to whole twips.
TEXT_WIDTH_TWIPS = _PAGE_WIDTH_TW - _LEFT_TW - _RIGHT_TW
TEXT_HEIGHT_TWIPS = _PAGE_HEIGHT_TW - _TOP_TW - _BOTTOM_TW
TEXT_WIDTH_PT = TEXT_WIDTH_TWIPS / 20

# Rounded down: 22 lines of 580 twips would overflow the 225 mm block by a fraction of a
# point and Word would then fit only 21 lines.
LINE_PITCH_TWIPS = TEXT_HEIGHT_TWIPS // LINES_PER_PAGE  # 579 = 28.95 pt
LINE_PT = LINE_PITCH_TWIPS / 20

# --- Fonts and sizes (5.2.2, 7.x) ---------------------------------------------------------
FONT_FANGSONG = "仿宋_GB2312"  # 5.2.2 body text 仿宋
FONT_HEITI = "黑体"  # 7.2.2, 7.2.3, 7.3.3 first-level headings, 7.3.7
FONT_KAITI = "楷体_GB2312"  # 7.2.6 签发人姓名, 7.3.3 second-level headings
FONT_XIAOBIAOSONG = "方正小标宋简体"  # 7.2.4 发文机关标志, 7.3.1 标题
FONT_SONGTI = "宋体"  # 7.5 page numbers: 4号半角宋体
SIZE_3HAO = 16.0  # 三号: body and most elements (5.2.2)
SIZE_2HAO = 22.0  # 二号: title (7.3.1)
SIZE_4HAO = 14.0  # 四号: 版记 (7.4.2, 7.4.3) and page numbers (7.5)
RED = RGBColor(0xFF, 0x00, 0x00)

# 28 characters of 3号 (16 pt) would need 158 mm, so the standard's 156 mm block implies a
# character pitch slightly under 16 pt. Word would take that from a linesAndChars grid's
# w:charSpace, but LibreOffice gives a 16 pt glyph two cells of such a grid (14 characters
# a line, letter-spaced). So the grid is `lines` only, and every 3号 run is set 0.25 pt
# tighter (w:spacing -5 twentieths): 28 glyphs of 15.75 pt (441 pt) fit the 442.2 pt block
# and justification spreads the rest. Word and WPS honour run spacing the same way.
# Measured in LibreOffice 7.4: 28 characters on full lines, x1 183.5–183.9 mm.
BODY_RUN_SPACING = -5  # twentieths of a point, on every 16 pt run
GRID_PITCH_PT = SIZE_3HAO + BODY_RUN_SPACING / 20  # 15.75 pt: one 字 of body text

# --- Header (版头, 7.2) ---------------------------------------------------------------------
MARK_TOP_MM = 35.0  # 7.2.4 and 10.3: mark's top edge 35 mm below the text block's top
LETTER_MARK_TOP_MM = 30.0  # 10.1: 信函 mark's top edge 30 mm below the page's top
MARK_MAX_PT = 52.0  # a sensible ceiling for short marks such as "国务院文件"
MARK_MIN_PT = 26.0  # 一号: below this, compress the characters horizontally instead
MARK_WIDTH_BUDGET = 0.95  # keep clear of the text block's edges
RULE_BELOW_NUMBER_MM = 4.0  # 7.2.7 red rule 4 mm below the 发文字号
HEAD_RULE_SZ = 12  # eighths of a point; the standard gives no width, 1.5 pt is customary
LETTER_RULE_LENGTH_MM = 170.0  # 10.1 both double rules are 170 mm long, centred
LETTER_RULE_SZ = 24  # 3 pt overall for the thick-thin pair (about 1 mm)
# 10.1 "第二条红色双线" 20 mm above the page's bottom edge; all footers share this distance.
FOOTER_DISTANCE_MM = 20.0

# --- Signature and seal (7.3.5) ----------------------------------------------------------
SEALED_DATE_RIGHT_CHARS = 4.0  # 7.3.5.1 成文日期一般右空四字
UNSEALED_RIGHT_CHARS = 2.0  # 7.3.5.2 署名右空二字; 日期首字比署名首字右移二字
# 7.3.5.1 署名和成文日期居印章中心偏下: the two lines' centre sits this far below the
# seal's centre, in lines.
SEAL_CENTRE_ABOVE_BLOCK_LINES = 0.3

# 联合发文 (7.3.5.1): seals side by side, at most two a row, evenly spaced: each stands
# centred in its half of the text block, so the right one is centred on a date 右空四字.
JOINT_SEALS_PER_ROW = 2
JOINT_SEAL_ROW_GAP_MM = 4.0  # rows of seals never touch (互不相交或相切)
MAX_JOINT_ISSUERS = document_models.MAX_JOINT_ISSUERS
JOINT_MARK_LINE_FACTOR = 1.2  # line height of the stacked names in the 版头, in font sizes

# --- 版记 (7.4) ---------------------------------------------------------------------------
COLOPHON_OUTER_RULE_SZ = 8  # 7.4.1 0.35 mm ≈ 1 pt = 8 eighths
COLOPHON_INNER_RULE_SZ = 6  # 7.4.1 0.25 mm ≈ 0.75 pt = 6 eighths
PAGE_NUMBER_BELOW_TEXT_MM = 7.0  # 7.5 一字线上距版心下边缘 7 mm
PAGE_NUMBER_DASH = "\u2014"  # 一字线 (em dash)

_HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"^[一二三四五六七八九十百零〇]+、")),
    (2, re.compile(r"^[（(][一二三四五六七八九十百零〇]+[）)]")),
    (3, re.compile(r"^\d+[.．](?!\d)")),
    (4, re.compile(r"^[（(]\d+[）)]")),
)
# 7.3.3 第一层用黑体字、第二层用楷体字、第三层和第四层用仿宋体字
_HEADING_FONTS = {1: FONT_HEITI, 2: FONT_KAITI, 3: FONT_FANGSONG, 4: FONT_FANGSONG}


# ==========================================================================================
# Input
# ==========================================================================================


@dataclass(frozen=True)
class Attendance:
    """纪要 attendance (10.3): 出席, 请假 and 列席, each "单位 姓名" entries."""

    present: Sequence[str] = ()  # 出席
    on_leave: Sequence[str] = ()  # 请假
    observers: Sequence[str] = ()  # 列席


@dataclass(frozen=True)
class CoIssuer:
    """联合发文: one co-issuing organisation after the lead (GB/T 9704 7.2.4, 7.3.5.1)."""

    mark: str  # its name in the 发文机关标志, without 「文件」
    name: str  # its 发文机关署名
    seal_png: bytes | None = None  # its seal, when the lead's seal_png is given too


@dataclass(frozen=True)
class RenderInput:
    """Everything printed on a 公文. Names follow DESIGN.md §3."""

    doc_type: str
    title: str  # "\n" forces a line break in a long title (7.3.1 梯形或菱形)
    body: str  # paragraphs separated by "\n"; headings recognised by 一、/（一）/1./（1）
    issuer_mark: str  # 发文机关标志; 信函: the organisation's name; 纪要: "XXXX纪要"
    issuer_name: str  # 发文机关署名
    doc_number: str | None  # 发文字号, e.g. 浙政办发〔2026〕12号
    issued_on: date | None  # 成文日期
    primary_recipients: Sequence[str] = ()
    cc_recipients: Sequence[str] = ()
    copy_number: str | None = None  # 份号, six digits (7.2.1)
    classification_label: str | None = None  # "秘密★1年" (7.2.2)
    urgency_label: str | None = None  # "特急" / "加急" (7.2.3)
    signers: Sequence[str] = ()  # 签发人, printed on 请示 and 报告 (7.2.6)
    attachments: Sequence[str] = ()  # 附件说明 titles (7.3.4)
    attachment_bodies: Sequence[tuple[str, str]] = ()  # (title, text), each from a new page
    note: str | None = None  # 附注 (7.3.6)
    printing_office: str | None = None  # 印发机关 (7.4.3)
    printed_on: date | None = None  # 印发日期 (7.4.3)
    seal_png: bytes | None = None  # when given, the seal is placed (7.3.5.1)
    seal_diameter_mm: float = 42.0  # government seals are 42–50 mm
    attendance: Attendance | None = None  # 纪要 only
    # 联合发文: the co-issuers after the lead (issuer_mark/issuer_name/seal_png). The
    # 版头 stacks the names with 「文件」 once; the seals stand side by side (7.3.5.1).
    co_issuers: Sequence[CoIssuer] = ()
    # Core properties (docProps/core.xml). Aware datetimes; None: the time of rendering.
    # The sealing step passes its own time so the signed bytes are reproducible.
    created: dt.datetime | None = None  # when the document was drafted
    modified: dt.datetime | None = None  # when this file was made (sealing, download)

    def __post_init__(self) -> None:
        for name in ("primary_recipients", "cc_recipients", "signers", "attachments"):
            if isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a list of names, not one string")
        if self.doc_type not in DOC_TYPES:
            raise ValueError(f"unknown doc_type {self.doc_type!r}")
        if not self.title.strip():
            raise ValueError("a 公文 needs a title")
        if self.copy_number is not None and not re.fullmatch(r"\d{6}", self.copy_number):
            raise ValueError("copy_number (份号) must be six digits")
        if not 20 <= self.seal_diameter_mm <= 60:
            raise ValueError("seal_diameter_mm must be between 20 and 60")
        if self.doc_type == "minutes" and self.seal_png is not None:
            raise ValueError("纪要 are not sealed")
        if self.co_issuers:
            if self.doc_type in ("minutes", "letter"):
                raise ValueError("纪要 and 信函 are not issued jointly here")
            if len(self.co_issuers) + 1 > MAX_JOINT_ISSUERS:
                raise ValueError(f"at most {MAX_JOINT_ISSUERS} joint issuers")
            if any((c.seal_png is None) != (self.seal_png is None) for c in self.co_issuers):
                raise ValueError("joint issuers are sealed all together or not at all")
        for name in ("created", "modified"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be an aware datetime")


class ColophonPlacement(StrEnum):
    """Where the 版记 goes (7.4.1: on the last page, which is even; 7.5)."""

    SAME_PAGE = "same_page"  # at the foot of the page where the text ends
    NEXT_PAGE = "next_page"  # the text ends on an odd page: the 版记 alone on its back
    EVEN_PAGE_UNNUMBERED = "even_page_unnumbered"  # a blank page, then the 版记; no numbers


# ==========================================================================================
# Public functions
# ==========================================================================================


def format_cn_date(d: date) -> str:
    """2026年1月5日 — Arabic numerals, full year, no zero padding (7.3.5.4, 7.4.3)."""
    return f"{d.year}年{d.month}月{d.day}日"


def render_docx(doc: RenderInput, *, colophon: ColophonPlacement = ColophonPlacement.SAME_PAGE) -> bytes:
    """Return the DOCX bytes of ``doc`` laid out per GB/T 9704-2012.

    ``colophon`` places the 版记; which placement is right depends on where pages break,
    so the issuing step (documents/docx/issue.py) converts once, reads the layout and,
    when the 版记 landed on an odd page, renders again with the placement it needs. The
    same input gives the same bytes (given ``created``/``modified``)."""
    document = _new_document()
    _setup_page(document)
    _setup_styles(document)
    _setup_footers(document, doc)

    if doc.doc_type == "letter":
        _add_letter_head(document, doc)
    else:
        _add_head(document, doc)
    _add_title(document, doc.title)
    _add_primary_recipients(document, doc.primary_recipients)
    tail = _add_text(document, doc.body)[-1:]  # the last body paragraph
    tail += _add_attachment_notes(document, doc.attachments)
    if doc.doc_type == "minutes":
        _add_attendance(document, doc.attendance)
    else:
        _add_signature(document, doc, keep_with=tail)
    _add_note(document, doc.note)
    _add_attachment_bodies(document, doc.attachment_bodies)
    _add_colophon(document, doc, placement=colophon)
    modified = _utc_seconds(doc.modified or timezone.now())
    _set_core_properties(document, doc, created=_utc_seconds(doc.created or modified), modified=modified)

    out = io.BytesIO()
    document.save(out)
    return _normalise_package(out.getvalue(), modified=modified)


def plain_title(title: str) -> str:
    """The title on one line: a drafter's line breaks (7.3.1) only shape the printed title."""
    return "".join(line.strip() for line in title.splitlines())


def docx_to_text(docx_bytes: bytes) -> str:
    """Plain text of every paragraph of the main story, one per line, for indexing.

    For DOCX this module rendered (trusted). Uploaded files go through
    ``documents.docx.importing.import_docx``, which checks the zip before parsing it.
    """
    document = _new_document(io.BytesIO(docx_bytes))
    body = document.element.body
    # A line break inside a paragraph (the title's) joins: Chinese needs no space there.
    lines = (Paragraph(p, document._body).text.replace("\n", "") for p in body.iter(qn("w:p")))
    return "\n".join(line for line in lines if line.strip())


# ==========================================================================================
# Document set-up: page, grid, styles, footers
# ==========================================================================================


def _setup_page(document: Document) -> None:
    """5.1 A4, 5.2.1 margins, 5.2.3 22 lines a page (the 28 characters: BODY_RUN_SPACING)."""
    section = document.sections[0]
    section.page_width = Twips(_PAGE_WIDTH_TW)
    section.page_height = Twips(_PAGE_HEIGHT_TW)
    section.top_margin = Twips(_TOP_TW)
    section.bottom_margin = Twips(_BOTTOM_TW)
    section.left_margin = Twips(_LEFT_TW)
    section.right_margin = Twips(_RIGHT_TW)
    section.gutter = Twips(0)
    section.header_distance = Mm(LETTER_MARK_TOP_MM)  # only the 信函 head uses a header
    section.footer_distance = Mm(FOOTER_DISTANCE_MM)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    for name in list(grid.attrib):  # the template's grid may carry a w:charSpace
        del grid.attrib[name]
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))


def _setup_styles(document: Document) -> None:
    """Normal = 3号仿宋 on exact 28.95 pt lines; Title = 2号小标宋 centred (5.2.2, 7.3.1)."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    defaults.getparent().replace(
        defaults,
        parse_xml(
            f"<w:docDefaults {nsdecls('w')}><w:rPrDefault><w:rPr>{oxml.fonts_xml(FONT_FANGSONG)}"
            f'<w:kern w:val="2"/><w:sz w:val="{int(SIZE_3HAO * 2)}"/>'
            f'<w:szCs w:val="{int(SIZE_3HAO * 2)}"/>'
            '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
            "<w:pPrDefault><w:pPr/></w:pPrDefault></w:docDefaults>"
        ),
    )
    normal = document.styles["Normal"]
    oxml.replace_style_props(
        normal.element,
        # Widow control off: a page must be filled to its 22nd line (5.2.3 撑满版心).
        '<w:widowControl w:val="0"/>'
        # No punctuation hanging into the margin (full lines end at 184 mm). 1 is Word's
        # default; LibreOffice imports the flag inverted (ParaIsHangingPunctuation =
        # val == 0), and with 0 or no flag it hangs ，。、 — and drops a comma that ends
        # an exactly full line. Our converter also switches hanging off over UNO.
        '<w:overflowPunct w:val="1"/>'
        # No automatic space between CJK and Latin text or digits: it would break the 28
        # characters and widen 「2026年1月5日」. LibreOffice ignores these two (the converter
        # sets ParaIsCharacterDistance off over UNO); Word and WPS honour them.
        '<w:autoSpaceDE w:val="0"/><w:autoSpaceDN w:val="0"/>'
        f'<w:spacing w:before="0" w:after="0" w:line="{LINE_PITCH_TWIPS}" w:lineRule="exact"/>'
        '<w:jc w:val="both"/>',
        f'{oxml.fonts_xml(FONT_FANGSONG)}<w:spacing w:val="{BODY_RUN_SPACING}"/>'
        f'<w:sz w:val="{int(SIZE_3HAO * 2)}"/><w:szCs w:val="{int(SIZE_3HAO * 2)}"/>',
    )
    # The template's Title has a blue rule and theme colours; ours is the 公文 title, and
    # the DOCX import finds the title of our own output by this style.
    title = document.styles["Title"]
    oxml.replace_style_props(
        title.element,
        '<w:snapToGrid w:val="0"/><w:jc w:val="center"/>',
        f'{oxml.fonts_xml(FONT_XIAOBIAOSONG)}<w:spacing w:val="0"/><w:kern w:val="0"/>'
        f'<w:sz w:val="{int(SIZE_2HAO * 2)}"/><w:szCs w:val="{int(SIZE_2HAO * 2)}"/>',
    )
    theme_lang = document.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")


def _setup_footers(document: Document, doc: RenderInput) -> None:
    """7.5: "— n —" in 4号半角宋体, odd pages right and even pages left, one character in.

    The line is lifted off the shared footer distance (20 mm, for the 信函's lower double
    rule) by space-after so that the dash sits 7 mm below the text block.
    """
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    _page_number_paragraph(section.footer.paragraphs[0], odd=True)
    _page_number_paragraph(section.even_page_footer.paragraphs[0], odd=False)
    if doc.doc_type == "letter":
        # 10.1 首页不显示页码; the first page carries the 信函 head and lower rule instead.
        section.different_first_page_header_footer = True


def _page_number_paragraph(p: Paragraph, *, odd: bool) -> None:
    pf = p.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    pf.line_spacing = Pt(SIZE_4HAO)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    dash_centre_mm = BOTTOM_MARGIN_MM - PAGE_NUMBER_BELOW_TEXT_MM
    lift_pt = _mm_pt(dash_centre_mm - FOOTER_DISTANCE_MM) - SIZE_4HAO / 2
    pf.space_before = Pt(0)
    pf.space_after = Pt(max(lift_pt, 0))
    oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
    _indent(p, right=1 if odd else 0, left=0 if odd else 1, char_pt=SIZE_4HAO, grid=False)
    _add_run(p, f"{PAGE_NUMBER_DASH} ", font=FONT_SONGTI, size=SIZE_4HAO)
    _add_field(p, "PAGE", "1", font=FONT_SONGTI, size=SIZE_4HAO)
    _add_run(p, f" {PAGE_NUMBER_DASH}", font=FONT_SONGTI, size=SIZE_4HAO)


def _add_field(p: Paragraph, instruction: str, placeholder: str, *, font: str, size: float) -> None:
    """A complex field (w:fldChar begin/separate/end) with a cached result."""
    for kind, text in (("begin", None), ("instr", f" {instruction} "), ("separate", None)):
        run = _add_run(p, "", font=font, size=size)
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run._r.append(oxml.el("w:fldChar", fldCharType=kind))
    _add_run(p, placeholder, font=font, size=size)
    _add_run(p, "", font=font, size=size)._r.append(oxml.el("w:fldChar", fldCharType="end"))


def _set_core_properties(
    document: Document, doc: RenderInput, *, created: dt.datetime, modified: dt.datetime
) -> None:
    """docProps/core.xml from the document, not python-docx's template (2013, "python-docx")."""
    props = document.core_properties
    props.title = oxml.xml_text(plain_title(doc.title))
    props.author = oxml.xml_text(doc.issuer_name)
    props.last_modified_by = props.author
    props.subject = ""
    props.keywords = ""
    props.category = ""
    props.language = "zh-CN"
    props.comments = ""
    props.revision = 1
    # python-docx writes the wall-clock digits followed by "Z": hand it UTC.
    props.created = created.replace(tzinfo=None)
    props.modified = modified.replace(tzinfo=None)
    # The template's thumbnail is a picture of python-docx's blank page.
    package_rels = document.part.package.rels
    for r_id, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package_rels.pop(r_id)


def _utc_seconds(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


# docProps/app.xml: python-docx's template names "Microsoft Macintosh Word" and counts
# from a blank page; applications recount what they need.
_APP_XML = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    b"<Application>OfficeHub</Application><DocSecurity>0</DocSecurity></Properties>"
)


def _normalise_package(data: bytes, *, modified: dt.datetime) -> bytes:
    """The saved package with our app.xml and every entry stamped ``modified``: zipfile
    stamps entries with the wall clock, so two renders of one input would differ, and a
    signed copy could not be reproduced from its inputs."""
    stamp = modified.timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            blob = _APP_XML if item.filename == "docProps/app.xml" else source.read(item)
            info = zipfile.ZipInfo(item.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the machine
            target.writestr(info, blob)
    return out.getvalue()


# ==========================================================================================
# 版头 (7.2)
# ==========================================================================================


def _add_head(document: Document, doc: RenderInput) -> None:
    """份号/密级/紧急程度, 发文机关标志, 发文字号 (with 签发人), red rule (7.2.1–7.2.7)."""
    head_lines = _header_block_lines(doc)
    for text in head_lines:
        p = _paragraph(document)
        _add_run(p, text, font=FONT_HEITI)
    if doc.co_issuers:
        _add_joint_issuer_mark(document, doc, lines_above=len(head_lines))
    else:
        _add_issuer_mark(document, _mark_text(doc), lines_above=len(head_lines))
    _blank_lines(document, 2)  # 7.2.5 发文机关标志下空二行
    if doc.doc_type in UPWARD_DOC_TYPES:
        _add_number_with_signers(document, doc.doc_number, doc.signers)
    elif doc.doc_number:
        p = _paragraph(document, align=WD_ALIGN_PARAGRAPH.CENTER)
        _add_run(p, doc.doc_number)
    else:
        _blank_lines(document, 1)  # keep the rule where it would be
    if doc.doc_type == "minutes":
        _add_minutes_issuer_line(document, doc)
    _make_rule(
        document.add_paragraph(),
        gap_pt=_glyph_gap_to_rule(RULE_BELOW_NUMBER_MM),
        style="single",
        sz=HEAD_RULE_SZ,
        color=RED,
    )
    _blank_lines(document, 2)  # 7.3.1 标题编排于红色分隔线下空二行位置


def _header_block_lines(doc: RenderInput) -> list[str]:
    """7.2.3: 份号, 密级和保密期限, 紧急程度 top-left, one per line, in this order."""
    return [text for text in (doc.copy_number, doc.classification_label, doc.urgency_label) if text]


def _mark_text(doc: RenderInput) -> str:
    if doc.doc_type == "minutes" and not doc.issuer_mark.endswith("纪要"):
        return doc.issuer_mark + "纪要"  # 10.3 纪要标志由"XXXXX纪要"组成
    return doc.issuer_mark


def _add_issuer_mark(container: _Container, text: str, *, lines_above: int) -> Paragraph:
    """7.2.4: red, centred, 小标宋, its top 35 mm below the text block's top edge."""
    p = container.add_paragraph()
    p.paragraph_format.space_before = Pt(max(_mm_pt(MARK_TOP_MM) - lines_above * LINE_PT, 0))
    _format_mark(p, text)
    return p


def joint_mark_names(doc: RenderInput) -> list[str]:
    """The organisations' names the joint 版头 stacks, lead first (7.2.4)."""
    lead = doc.issuer_mark.removesuffix("文件") or doc.issuer_name
    return [lead, *(c.mark.removesuffix("文件") or c.name for c in doc.co_issuers)]


def _add_joint_issuer_mark(document: Document, doc: RenderInput, *, lines_above: int) -> None:
    """7.2.4 联合行文: the issuers' names stacked, the lead first, each spread to the width of
    the longest (分散对齐); 「文件」 once, to their right, centred on the stack's height.
    A borderless two-cell table, centred, its top 35 mm below the text block's top."""
    names = joint_mark_names(doc)
    longest = max(_text_units(name) for name in names)
    size, scale = _mark_font("国" * math.ceil(longest) + "文件")
    name_width_pt = longest * size * scale / 100
    word_width_pt = 2 * size * scale / 100
    gap_pt = size / 2
    spacer = _paragraph(document, snap_to_grid=False)
    spacer.paragraph_format.line_spacing = Pt(max(_mm_pt(MARK_TOP_MM) - lines_above * LINE_PT, 1.0))
    spacer.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    table = document.add_table(rows=1, cols=2)
    widths = [round((name_width_pt + 1) * 20), round((word_width_pt + gap_pt + 1) * 20)]
    tbl_pr = table._tbl.tblPr
    for child in list(tbl_pr):
        if child.tag in (qn("w:tblStyle"), qn("w:tblW"), qn("w:jc"), qn("w:tblLayout"), qn("w:tblBorders"), qn("w:tblCellMar")):
            tbl_pr.remove(child)
    tbl_pr.append(parse_xml(f'<w:tblW {nsdecls("w")} w:w="{sum(widths)}" w:type="dxa"/>'))
    tbl_pr.append(parse_xml(f'<w:jc {nsdecls("w")} w:val="center"/>'))
    borders = "".join(f'<w:{side} w:val="nil"/>' for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    tbl_pr.append(parse_xml(f'<w:tblBorders {nsdecls("w")}>{borders}</w:tblBorders>'))
    tbl_pr.append(parse_xml(f'<w:tblLayout {nsdecls("w")} w:type="fixed"/>'))
    margins = "".join(f'<w:{side} w:w="0" w:type="dxa"/>' for side in ("top", "left", "bottom", "right"))
    tbl_pr.append(parse_xml(f'<w:tblCellMar {nsdecls("w")}>{margins}</w:tblCellMar>'))
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(width))
    name_cell, word_cell = table.rows[0].cells
    for cell, width in zip((name_cell, word_cell), widths, strict=True):
        tc_pr = cell._tc.get_or_add_tcPr()
        tc_pr.append(parse_xml(f'<w:tcW {nsdecls("w")} w:w="{width}" w:type="dxa"/>'))
    word_cell._tc.get_or_add_tcPr().append(parse_xml(f'<w:vAlign {nsdecls("w")} w:val="center"/>'))
    for i, name in enumerate(names):
        p = name_cell.paragraphs[0] if i == 0 else name_cell.add_paragraph()
        _format_joint_mark_line(p, name, size=size, scale=scale)
        # 分散对齐: every name as wide as the longest
        oxml.ppr_child(p, "w:jc").set(qn("w:val"), "distribute" if len(name) > 1 else "center")
    word = word_cell.paragraphs[0]
    _format_joint_mark_line(word, "文件", size=size, scale=scale)
    word.paragraph_format.left_indent = Pt(gap_pt)


def _format_joint_mark_line(p: Paragraph, text: str, *, size: float, scale: int) -> None:
    pf = p.paragraph_format
    pf.line_spacing = Pt(size * JOINT_MARK_LINE_FACTOR)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
    _add_run(p, text, font=FONT_XIAOBIAOSONG, size=size, color=RED, scale=scale)


def _format_mark(p: Paragraph, text: str) -> None:
    """Red 小标宋, centred, on one line (7.2.4, 10.1, 10.3)."""
    size, scale = _mark_font(text)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing = Pt(size)  # at least the font size: never clipped
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.AT_LEAST
    oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
    _add_run(p, text, font=FONT_XIAOBIAOSONG, size=size, color=RED, scale=scale)


def _mark_font(text: str) -> tuple[float, int]:
    """Font size (pt) and horizontal scale (%) so the mark fits on one line."""
    units = max(_text_units(text), 1.0)
    budget = TEXT_WIDTH_PT * MARK_WIDTH_BUDGET
    size = min(MARK_MAX_PT, float(math.floor(budget / units)))
    if size >= MARK_MIN_PT:
        return size, 100
    return MARK_MIN_PT, max(33, math.floor(budget / (units * MARK_MIN_PT) * 100))


def _add_number_with_signers(
    document: Document, number: str | None, signers: Sequence[str]
) -> None:
    """7.2.5/7.2.6 上行文: 发文字号 one character in from the left, on the line of the last
    签发人; 签发人 one character in from the right, two names a line, later lines aligned
    with the first name."""
    names = list(signers)
    rows = [names[i : i + 2] for i in range(0, len(names), 2)] or [[]]
    label = "签发人："
    row_texts = ["\u3000".join(row) for row in rows]
    block_units = _text_units(label) + max(_text_units(t) for t in row_texts)
    tab_pt = TEXT_WIDTH_PT - (block_units + 1) * GRID_PITCH_PT
    for i, row_text in enumerate(row_texts):
        p = _paragraph(document)
        _indent(p, left=1)
        p.paragraph_format.tab_stops.add_tab_stop(Pt(tab_pt), WD_TAB_ALIGNMENT.LEFT)
        last = i == len(row_texts) - 1
        if last and number:
            _add_run(p, number)
        if not names:
            continue
        _add_run(p, "\t" + (label if i == 0 else "\u3000" * len(label)))
        _add_run(p, row_text, font=FONT_KAITI)


def _add_minutes_issuer_line(document: Document, doc: RenderInput) -> None:
    """纪要 (10.3 "可以根据实际制定"): 印发机关 left and date right, above the red rule."""
    if not doc.issuer_name and not doc.issued_on:
        return
    p = _paragraph(document)
    _indent(p, left=1, right=1)
    p.paragraph_format.tab_stops.add_tab_stop(
        Pt(TEXT_WIDTH_PT - GRID_PITCH_PT), WD_TAB_ALIGNMENT.RIGHT
    )
    date_text = format_cn_date(doc.issued_on) if doc.issued_on else ""
    _add_run(p, f"{doc.issuer_name}\t{date_text}")


def _add_letter_head(document: Document, doc: RenderInput) -> None:
    """10.1 信函格式: organisation name 30 mm from the page top, red thick-over-thin rule
    4 mm below it, 170 mm long; 发文字号 flush right under the rule; no page number on
    the first page; thin-over-thick rule 20 mm above the page's bottom edge."""
    section = document.sections[0]
    header = section.first_page_header
    _format_mark(header.paragraphs[0], doc.issuer_mark)
    overhang = (LETTER_RULE_LENGTH_MM - TEXT_WIDTH_MM) / 2
    _make_rule(
        header.add_paragraph(),
        gap_pt=_mm_pt(RULE_BELOW_NUMBER_MM),
        style="thickThinSmallGap",  # thick line nearer the text: 上粗下细
        sz=LETTER_RULE_SZ,
        color=RED,
        overhang_mm=overhang,
    )
    footer_rule = section.first_page_footer.paragraphs[0]
    _make_rule(
        footer_rule,
        gap_pt=1,
        style="thinThickSmallGap",  # thin line nearer the text: 上细下粗
        sz=LETTER_RULE_SZ,
        color=RED,
        overhang_mm=overhang,
    )

    # 份号/密级/紧急程度 flush left and 发文字号 flush right under the first rule.
    lines = _header_block_lines(doc) or [""]
    for i, text in enumerate(lines):
        p = _paragraph(document)
        p.paragraph_format.tab_stops.add_tab_stop(Pt(TEXT_WIDTH_PT), WD_TAB_ALIGNMENT.RIGHT)
        if text:
            _add_run(p, text, font=FONT_HEITI)
        if i == 0 and doc.doc_number:
            _add_run(p, "\t" + doc.doc_number)
    _blank_lines(document, 2)  # 10.1 标题与其上最后一个要素相距二行


def _glyph_gap_to_rule(distance_mm: float) -> float:
    """Height of the rule paragraph so the rule lies ``distance_mm`` under the glyphs of
    the line above, assuming 3号 glyphs sit centred in their 28.95 pt line."""
    below_glyph_pt = (LINE_PT - SIZE_3HAO) / 2
    return max(_mm_pt(distance_mm) - below_glyph_pt, 1.0)


def _make_rule(
    p: Paragraph,
    *,
    gap_pt: float,
    style: str,
    sz: int,
    color: RGBColor,
    overhang_mm: float = 0.0,
) -> None:
    """Make ``p`` an empty paragraph ``gap_pt`` high whose bottom border is the rule.

    A separate paragraph (rather than a border on the 发文字号) keeps the rule as wide as
    the text block even when the number is indented (上行文), and lets its height set the
    distance to the line above.
    """
    pf = p.paragraph_format
    pf.line_spacing = Pt(gap_pt)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
    if overhang_mm:
        ind = p._p.get_or_add_pPr().get_or_add_ind()
        ind.set(qn("w:left"), str(-_mm_twips(overhang_mm)))
        ind.set(qn("w:right"), str(-_mm_twips(overhang_mm)))
    oxml.set_border(p, "bottom", style=style, sz=sz, color=color, space=0)


# ==========================================================================================
# 主体 (7.3)
# ==========================================================================================


def _add_title(container: _Container, title: str) -> None:
    """7.3.1: 2号小标宋, centred, broken between words into lines of at most 20
    characters (documents/docx/titles.py); a drafter's "\n" breaks the line there."""
    p = container.add_paragraph(style="Title")
    _add_run(p, "\n".join(title_lines(title)), font=FONT_XIAOBIAOSONG, size=SIZE_2HAO)


def _add_primary_recipients(document: Document, recipients: Sequence[str]) -> None:
    """7.3.2: one blank line under the title, flush left, ending in a full-width colon."""
    _blank_lines(document, 1)
    if recipients:
        p = _paragraph(document)
        _add_run(p, _recipients_text(recipients))


def _recipients_text(recipients: Sequence[str]) -> str:
    return "、".join(recipients).rstrip("：:") + "："


def _add_text(container: _Container, text: str) -> list[Paragraph]:
    """7.3.3: paragraphs indented two characters; headings 一、/（一）/1./（1）."""
    return [_add_body_paragraph(container, para) for para in _paragraphs(text)]


def _add_body_paragraph(container: _Container, text: str) -> Paragraph:
    p = _paragraph(container)
    _indent(p, first_line=2)
    level = _heading_level(text)
    font = _HEADING_FONTS.get(level, FONT_FANGSONG) if level is not None else FONT_FANGSONG
    if font == FONT_FANGSONG:
        _add_run(p, text)
        return p
    # A heading followed by text in the same paragraph: only the heading sentence takes
    # the heading font, the rest is body text.
    head, sep, rest = text.partition("。")
    if sep and rest:
        _add_run(p, head + sep, font=font)
        _add_run(p, rest)
    else:
        _add_run(p, text, font=font)
    return p


def _heading_level(text: str) -> int | None:
    for level, pattern in _HEADING_PATTERNS:
        if pattern.match(text):
            return level
    return None


def _add_attachment_notes(document: Document, attachments: Sequence[str]) -> list[Paragraph]:
    """7.3.4: one line under the body, two characters in: "附件：1.XXXX"; later names
    aligned with the first name, wrapped lines aligned with the name's first character."""
    if not attachments:
        return []
    paragraphs = [_blank_lines(document, 1)[0]]
    lines = _attachment_note_lines(attachments)
    for i, line in enumerate(lines):
        p = _paragraph(document)
        numbered = len(lines) > 1
        number_units = _text_units(f"{i + 1}.") if numbered else 0.0
        # 2 characters in, "附件：" is 3 wide, then the number; wrapped lines align after it.
        left = 2 + 3 + number_units
        hanging = (3 if i == 0 else 0) + number_units
        _indent(p, left=left, first_line=-hanging)
        _add_run(p, line)
        paragraphs.append(p)
    return paragraphs


def _attachment_note_lines(attachments: Sequence[str]) -> list[str]:
    # 7.3.4 附件名称后不加标点符号
    names = [a.strip().rstrip("。.，,；;：:") for a in attachments]
    if len(names) == 1:
        return [f"附件：{names[0]}"]
    return [("附件：" if i == 0 else "") + f"{i + 1}.{name}" for i, name in enumerate(names)]


def _add_signature(document: Document, doc: RenderInput, *, keep_with: list[Paragraph]) -> None:
    """7.3.5 发文机关署名, 成文日期 and the seal."""
    if doc.co_issuers:
        if doc.seal_png is not None:
            _add_joint_sealed_signature(document, doc, keep_with=keep_with)
        else:
            _add_joint_unsealed_signature(document, doc, keep_with=keep_with)
        return
    if not doc.issuer_name and not doc.issued_on:
        return
    date_text = format_cn_date(doc.issued_on) if doc.issued_on else ""
    name_units, date_units = _text_units(doc.issuer_name), _text_units(date_text)
    sealed = doc.seal_png is not None
    if sealed:
        # 7.3.5.1 date four characters in from the right; name centred over the date.
        date_right = SEALED_DATE_RIGHT_CHARS
        name_right = max(date_right + (date_units - name_units) / 2, 0.0)
        blank = _seal_blank_lines(doc.seal_diameter_mm)
    else:
        # 7.3.5.2 name two in from the right; date starts two characters right of the
        # name's start; a date longer than that is two in, pushing the name left.
        name_right = UNSEALED_RIGHT_CHARS
        date_right = name_units - UNSEALED_RIGHT_CHARS - date_units + name_right
        if date_right < UNSEALED_RIGHT_CHARS:
            date_right = UNSEALED_RIGHT_CHARS
            name_right = date_right + date_units + UNSEALED_RIGHT_CHARS - name_units
        blank = 1
    keep = keep_with + _blank_lines(document, blank)
    name_p = _paragraph(document, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _indent(name_p, right=name_right)
    _add_run(name_p, doc.issuer_name)
    keep.append(name_p)
    if date_text:
        date_p = _paragraph(document, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _indent(date_p, right=date_right)
        _add_run(date_p, date_text)
    # The seal never lands on a page without body text: the last body paragraph, the
    # blank lines and the name travel with the date (7.3.5.1, 7.3.5.5).
    for p in keep:
        p.paragraph_format.keep_with_next = True
    if doc.seal_png is not None:
        centre_pt = TEXT_WIDTH_PT - (date_right + date_units / 2) * GRID_PITCH_PT
        _add_seal(name_p, doc.seal_png, doc.seal_diameter_mm, centre_x_pt=centre_pt)


def joint_seal_columns(count: int) -> list[tuple[int, float]]:
    """(row, centre in points from the text block's left edge) of each joint issuer's seal
    and 署名, in order: two a row, each centred in its half of the block; a last row with
    one seal uses the right half, where the date is (7.3.5.1: the last seal presses the
    name and the date)."""
    per_row = JOINT_SEALS_PER_ROW
    column = TEXT_WIDTH_PT / per_row
    out = []
    for index in range(count):
        row, col = divmod(index, per_row)
        in_row = min(per_row, count - row * per_row)
        col += per_row - in_row  # a short last row keeps to the right
        out.append((row, column * (col + 0.5)))
    return out


def _add_joint_sealed_signature(document: Document, doc: RenderInput, *, keep_with: list[Paragraph]) -> None:
    """7.3.5.1 联合行文: the 署名 in issuer order, each pressed by its own seal, the seals
    side by side and evenly spaced, never touching, within the text block; the 成文日期
    under the last, which its seal presses too."""
    assert doc.seal_png is not None
    names = [doc.issuer_name, *(c.name for c in doc.co_issuers)]
    seals = [doc.seal_png, *(c.seal_png or b"" for c in doc.co_issuers)]
    places = joint_seal_columns(len(names))
    keep = list(keep_with)
    rows = max(row for row, _ in places) + 1
    row_pitch_lines = math.ceil((_mm_pt(doc.seal_diameter_mm + JOINT_SEAL_ROW_GAP_MM)) / LINE_PT)
    for row in range(rows):
        blank = _seal_blank_lines(doc.seal_diameter_mm) if row == 0 else row_pitch_lines - 1
        keep += _blank_lines(document, blank)
        name_p = _paragraph(document)
        members = [(i, centre) for i, (r, centre) in enumerate(places) if r == row]
        text = ""
        for i, centre in members:
            name_p.paragraph_format.tab_stops.add_tab_stop(Pt(centre), WD_TAB_ALIGNMENT.CENTER)
            text += "\t" + names[i]
        _add_run(name_p, text)
        keep.append(name_p)
        for i, centre in members:
            _add_seal(name_p, seals[i], doc.seal_diameter_mm, centre_x_pt=centre)
    if doc.issued_on:
        date_p = _paragraph(document)
        date_p.paragraph_format.tab_stops.add_tab_stop(Pt(places[-1][1]), WD_TAB_ALIGNMENT.CENTER)
        _add_run(date_p, "\t" + format_cn_date(doc.issued_on))
    for p in keep:
        p.paragraph_format.keep_with_next = True


def _add_joint_unsealed_signature(document: Document, doc: RenderInput, *, keep_with: list[Paragraph]) -> None:
    """7.3.5.2 联合行文 without seals: the lead's 署名 first, the others below it in order,
    each two characters in from the right; the date under them as for one issuer."""
    names = [doc.issuer_name, *(c.name for c in doc.co_issuers)]
    keep = keep_with + _blank_lines(document, 1)
    for name in names:
        p = _paragraph(document, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _indent(p, right=UNSEALED_RIGHT_CHARS)
        _add_run(p, name)
        keep.append(p)
    if doc.issued_on:
        date_text = format_cn_date(doc.issued_on)
        longest = max(_text_units(name) for name in names)
        date_p = _paragraph(document, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _indent(date_p, right=max(UNSEALED_RIGHT_CHARS, longest - _text_units(date_text)))
        _add_run(date_p, date_text)
    for p in keep:
        p.paragraph_format.keep_with_next = True


def _seal_blank_lines(diameter_mm: float) -> int:
    """Blank lines between body and 署名 so the seal's top is within one line of the body
    (7.3.5.1) while the 署名/日期 pair sits just under the seal's centre."""
    half_lines = _mm_pt(diameter_mm) / 2 / LINE_PT
    return max(1, math.ceil(half_lines + SEAL_CENTRE_ABOVE_BLOCK_LINES) - 1)


def _add_seal(name_p: Paragraph, png: bytes, diameter_mm: float, *, centre_x_pt: float) -> None:
    """A floating picture (wp:anchor, in front of text) anchored to the 署名 paragraph.

    Vertically: the centre of the two lines 署名+日期 lies SEAL_CENTRE_ABOVE_BLOCK_LINES
    below the seal's centre. Horizontally: centred on the date, hence on the name too.
    """
    run = name_p.add_run()
    inline = run.part.new_pic_inline(io.BytesIO(png), width=Mm(diameter_mm))
    cx, cy = int(inline.extent.cx), int(inline.extent.cy)
    x = round(centre_x_pt * _EMU_PER_PT - cx / 2)
    y = round((1 - SEAL_CENTRE_ABOVE_BLOCK_LINES) * LINE_PT * _EMU_PER_PT - cy / 2)
    anchor = parse_xml(
        f'<wp:anchor {nsdecls("wp", "a")} distT="0" distB="0" distL="0" distR="0"'
        ' simplePos="0" relativeHeight="251659264" behindDoc="0" locked="0"'
        ' layoutInCell="1" allowOverlap="1">'
        '<wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="margin"><wp:posOffset>{x}</wp:posOffset></wp:positionH>'
        f'<wp:positionV relativeFrom="paragraph"><wp:posOffset>{y}</wp:posOffset></wp:positionV>'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        "<wp:wrapNone/></wp:anchor>"
    )
    for tag in ("wp:docPr", "wp:cNvGraphicFramePr", "a:graphic"):
        anchor.append(inline.find(qn(tag)))
    anchor.find(qn("wp:docPr")).set("descr", "印章")
    drawing = OxmlElement("w:drawing")
    drawing.append(anchor)
    run._r.append(drawing)


def _add_note(document: Document, note: str | None) -> None:
    """7.3.6: on the line under the date, two characters in, in parentheses."""
    if note and note.strip():
        p = _paragraph(document)
        _indent(p, first_line=2)
        _add_run(p, _note_text(note))


def _note_text(note: str) -> str:
    note = note.strip()
    return note if note.startswith(("（", "(")) else f"（{note}）"


def _add_attendance(document: Document, attendance: Attendance | None) -> None:
    """10.3: one line under the body, two characters in, "出席：" in 黑体, names in 仿宋,
    wrapped lines aligned after the colon; then 请假 and 列席 alike."""
    rows = _attendance_rows(attendance)
    if not rows:
        return
    _blank_lines(document, 1)
    for label, names in rows:
        p = _paragraph(document)
        _indent(p, left=5, first_line=-3)
        _add_run(p, f"{label}：", font=FONT_HEITI)
        _add_run(p, "、".join(names))


def _attendance_rows(attendance: Attendance | None) -> list[tuple[str, Sequence[str]]]:
    if attendance is None:
        return []
    rows = (
        ("出席", attendance.present),
        ("请假", attendance.on_leave),
        ("列席", attendance.observers),
    )
    return [(label, names) for label, names in rows if names]


def _add_attachment_bodies(document: Document, bodies: Sequence[tuple[str, str]]) -> None:
    """7.3.7: each attachment from a new page, "附件N" in 3号黑体 top-left on line 1, its
    title centred on line 3, then text formatted like the body."""
    for i, (title, text) in enumerate(bodies):
        label = f"附件{i + 1}" if len(bodies) > 1 else "附件"
        p = _paragraph(document)
        p.paragraph_format.page_break_before = True
        _add_run(p, label, font=FONT_HEITI)
        _blank_lines(document, 1)
        title_p = _paragraph(document, align=WD_ALIGN_PARAGRAPH.CENTER, snap_to_grid=False)
        _add_run(title_p, "\n".join(title_lines(title)), font=FONT_XIAOBIAOSONG, size=SIZE_2HAO)
        _blank_lines(document, 1)
        _add_text(document, text)


# ==========================================================================================
# 版记 (7.4)
# ==========================================================================================


def _add_colophon(document: Document, doc: RenderInput, *, placement: ColophonPlacement) -> None:
    """7.4: 抄送 and 印发机关/印发日期 in 4号仿宋 between rules, the last rule on the text
    block's bottom edge, at the foot of the last page — which must be even (7.4.1 版记应当
    置于公文最后一面, and the last page of a two-sided 公文 is even).

    The 版记 is a floating one-column table positioned against the bottom of the text
    block (w:tblpPr vertAnchor=margin tblpYSpec=bottom): Word, WPS and LibreOffice put it
    at the foot of the page where its anchor paragraph lands and flow text that would
    collide with it onto the next page. Its rules are the table's borders: top and bottom
    0.35 mm (sz 8 = 1 pt), between rows 0.25 mm (sz 6 = 0.75 pt). 信函 (10.1) print only
    抄送, without rules.

    Which page that is depends on where the renderer breaks pages, which only a layout
    engine knows: ``placement`` (from documents/docx/issue.py, after a conversion) moves it
    to the back of an odd last page, or after a blank page (7.5: 空白页和版记页均不编排页码).

    Why a table and not a framed paragraph (w:framePr): LibreOffice renders such a frame
    mid-page without its rules and splits it across pages.
    """
    rows = _colophon_rows(doc)
    if not rows:
        return
    if placement == ColophonPlacement.EVEN_PAGE_UNNUMBERED:
        _start_unnumbered_section(document)
    letter = doc.doc_type == "letter"
    # LibreOffice imports a floating table as a floating frame (which can sit at the
    # bottom) only if it is 4.69 mm narrower than the text area — or, positioned against
    # the page horizontally, narrower than the page less its smaller margin. Hence
    # horzAnchor=page at the left margin, which keeps the full 156 mm width.
    width = TEXT_WIDTH_TWIPS

    def rule(side: str, sz: int = 0) -> str:
        if letter or not sz:
            return f'<w:{side} w:val="nil"/>'
        return f'<w:{side} w:val="single" w:sz="{sz}" w:space="0" w:color="000000"/>'

    borders = (
        rule("top", COLOPHON_OUTER_RULE_SZ) + rule("left") + rule("bottom", COLOPHON_OUTER_RULE_SZ)
        + rule("right") + rule("insideH", COLOPHON_INNER_RULE_SZ) + rule("insideV")
    )
    zero = "".join(f'<w:{side} w:w="0" w:type="dxa"/>' for side in ("top", "left", "bottom", "right"))
    tbl = parse_xml(
        f"<w:tbl {nsdecls('w')}><w:tblPr>"
        '<w:tblpPr w:leftFromText="0" w:rightFromText="0" w:topFromText="0" w:bottomFromText="0"'
        f' w:vertAnchor="margin" w:horzAnchor="page" w:tblpX="{_LEFT_TW}" w:tblpYSpec="bottom"/>'
        '<w:tblOverlap w:val="never"/>'
        f'<w:tblW w:w="{width}" w:type="dxa"/><w:jc w:val="center"/>'
        f"<w:tblBorders>{borders}</w:tblBorders>"
        f'<w:tblLayout w:type="fixed"/><w:tblCellMar>{zero}</w:tblCellMar>'
        '<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0"'
        ' w:noHBand="1" w:noVBand="1"/>'
        f'</w:tblPr><w:tblGrid><w:gridCol w:w="{width}"/></w:tblGrid></w:tbl>'
    )
    for left, right in rows:
        tr = parse_xml(
            f'<w:tr {nsdecls("w")}><w:trPr><w:cantSplit/></w:trPr><w:tc><w:tcPr>'
            f'<w:tcW w:w="{width}" w:type="dxa"/></w:tcPr></w:tc></w:tr>'
        )
        tbl.append(tr)
        p = Paragraph(tr.find(qn("w:tc")).add_p(), document._body)
        p.paragraph_format.line_spacing = Pt(LINE_PT)
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
        if right is None:  # 抄送: 左右各空一字, wrapped lines align after "抄送：" (7.4.2)
            _indent(p, left=1 + 3, right=1, first_line=-3, char_pt=SIZE_4HAO, grid=False)
            _add_run(p, left, size=SIZE_4HAO)
        else:  # 印发机关 左空一字, 印发日期 右空一字 (7.4.3)
            _indent(p, left=1, right=1, char_pt=SIZE_4HAO, grid=False)
            p.paragraph_format.tab_stops.add_tab_stop(
                Pt(TEXT_WIDTH_PT - SIZE_4HAO), WD_TAB_ALIGNMENT.RIGHT
            )
            _add_run(p, f"{left}\t{right}", size=SIZE_4HAO)
    body = document.element.body
    body.insert(len(body) - 1, tbl)  # before the body's sectPr
    # A floating table is anchored to the paragraph after it; 1 pt high so that it never
    # adds a line of its own.
    anchor = _thin_paragraph(document)
    anchor.paragraph_format.page_break_before = placement != ColophonPlacement.SAME_PAGE


def _colophon_rows(doc: RenderInput) -> list[tuple[str, str | None]]:
    """(text, right-hand text) rows: 抄送 (may wrap), then 印发机关 … 印发日期."""
    rows: list[tuple[str, str | None]] = []
    if doc.cc_recipients:
        rows.append((_cc_text(doc.cc_recipients), None))
    if doc.doc_type != "letter" and (doc.printing_office or doc.printed_on):
        printed = format_cn_date(doc.printed_on) + "印发" if doc.printed_on else ""
        rows.append((doc.printing_office or "", printed))
    return rows


def _cc_text(cc_recipients: Sequence[str]) -> str:
    return "抄送：" + "，".join(cc_recipients) + "。"  # 7.4.2 最后一个抄送机关名称后标句号


def _start_unnumbered_section(document: Document) -> None:
    """A new section from the next page with empty footers (7.5: 版记页前有空白页的，空白页
    和版记页均不编排页码): its first page stays blank and the 版记 goes on the next.

    A nextPage section rather than evenPage: LibreOffice 7.4 gives an evenPage section a
    page style without the footer geometry, which moves the text block's bottom edge.
    """
    numbered = document.sections[0].footer.paragraphs[0]._p.pPr
    section = document.add_section(WD_SECTION_START.NEW_PAGE)
    section.different_first_page_header_footer = False  # not the 信函's first-page head
    for footer in (section.footer, section.even_page_footer):
        footer.is_linked_to_previous = False
        for p in footer.paragraphs:
            # the numbered footer's height, so the text block keeps its bottom edge
            for child in list(p._p):
                p._p.remove(child)
            p._p.append(copy.deepcopy(numbered))
    # The section's first paragraph carries its break; it must not be the floating table
    # (LibreOffice turns that into a frame and loses the break).
    _thin_paragraph(document)


def _thin_paragraph(document: Document) -> Paragraph:
    p = document.add_paragraph()
    p.paragraph_format.line_spacing = Pt(1)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
    return p


# ==========================================================================================
# Low-level helpers
# ==========================================================================================


class _Container(Protocol):
    def add_paragraph(self, text: str = ..., style: str | None = ...) -> Paragraph: ...


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _text_units(text: str) -> float:
    """Width in 3号 characters: CJK and full-width (and ambiguous, which Chinese fonts set
    full width) count 1, the rest half."""
    return sum(
        1.0 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 0.5
        for ch in text
        if ch not in "\n\t"
    )


def _paragraph(
    container: _Container,
    *,
    align: WD_ALIGN_PARAGRAPH | None = None,
    snap_to_grid: bool = True,
) -> Paragraph:
    p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    if not snap_to_grid:
        oxml.ppr_child(p, "w:snapToGrid").set(qn("w:val"), "0")
    return p


def _blank_lines(container: _Container, n: int) -> list[Paragraph]:
    return [container.add_paragraph() for _ in range(n)]


def _add_run(
    p: Paragraph,
    text: str,
    *,
    font: str = FONT_FANGSONG,
    size: float = SIZE_3HAO,
    color: RGBColor | None = None,
    scale: int = 100,
) -> Run:
    """A run with every font slot set: python-docx's ``font.name`` sets only ascii/hAnsi,
    and Word picks the East Asian slot for Chinese text. Characters XML 1.0 cannot hold
    (C0 controls other than tab/newline, lone surrogates) are dropped: the API stores
    them, and one would otherwise make every render of the document fail."""
    run = p.add_run(oxml.xml_text(text))
    rpr = run._r.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), font)
    fonts.set(qn("w:hint"), "eastAsia")
    run.font.size = Pt(size)
    # 3号 text is set 0.25 pt tight (see BODY_RUN_SPACING); other sizes (title, 版记, page
    # numbers, the mark) at their natural width, overriding the Normal style's -5.
    spacing = oxml.el("w:spacing", val=str(BODY_RUN_SPACING if size == SIZE_3HAO else 0))
    oxml.insert_in_order(rpr, spacing, "w:spacing", oxml.RPR_ORDER)
    if color is not None:
        run.font.color.rgb = color
    if scale != 100:
        w = OxmlElement("w:w")
        w.set(qn("w:val"), str(scale))
        oxml.insert_in_order(rpr, w, "w:w", oxml.RPR_ORDER)
    return run


def _indent(
    p: Paragraph,
    *,
    left: float = 0,
    right: float = 0,
    first_line: float = 0,
    char_pt: float = GRID_PITCH_PT,
    grid: bool = True,
) -> None:
    """Indents in characters (字), the unit GB/T 9704 counts in. A negative first_line is a
    hanging indent. On the grid the *Chars attributes are written too, so Word measures
    in grid pitches exactly; the twips values are the same length for other readers."""
    ind = p._p.get_or_add_pPr().get_or_add_ind()
    values = {"left": left, "right": right}
    if first_line > 0:
        values["firstLine"] = first_line
    elif first_line < 0:
        values["hanging"] = -first_line
    for name, chars in values.items():
        if not chars:
            continue
        ind.set(qn(f"w:{name}"), str(round(chars * char_pt * 20)))
        if grid:
            ind.set(qn(f"w:{name}Chars"), str(round(chars * 100)))


# ==========================================================================================
# A stored Document
# ==========================================================================================


def issuer_mark_for(document: document_models.Document) -> str:
    issuer = document.issuer
    if document.doc_type == document_models.DocType.MINUTES:
        return f"{issuer.short_name or issuer.name}纪要"
    if document.doc_type == document_models.DocType.LETTER:
        return issuer.name  # 信函格式: the organisation's full name (GB/T 9704 10.1)
    return issuer.issuer_mark or f"{issuer.name}文件"


def render_input_for(
    document: document_models.Document,
    *,
    seal_png: bytes | None = None,
    printed_on: date | None = None,
    modified: dt.datetime | None = None,
    joint_seal_pngs: Sequence[bytes] | None = None,
) -> RenderInput:
    """What ``document`` prints. ``printed_on`` overrides the stored 印发日期 (the issuing
    step fixes it before sealing, so every signed copy carries it); ``modified`` is the
    file's time (default: now). For a joint document (联合发文) ``joint_seal_pngs`` holds
    every issuer's seal in issuer order, the lead's first (then ``seal_png`` is unused)."""
    joint = list(document.joint_issuers.select_related("organisation").order_by("position"))
    co_issuers: list[CoIssuer] = []
    if joint:
        pngs = list(joint_seal_pngs) if joint_seal_pngs is not None else []
        if pngs and len(pngs) != len(joint):
            raise ValueError("one seal per joint issuer")
        seal_png = pngs[0] if pngs else None
        co_issuers = [
            CoIssuer(
                mark=row.organisation.issuer_mark.removesuffix("文件") or row.organisation.name,
                name=row.signature_name or row.organisation.name,
                seal_png=pngs[index] if pngs else None,
            )
            for index, row in enumerate(joint)
            if index > 0
        ]
    classification_label = None
    if document.classification >= Clearance.SECRET:
        label = str(Clearance(document.classification).label)
        classification_label = f"{label}★{document.secrecy_period}" if document.secrecy_period else label
    urgency = document_models.Urgency(document.urgency)
    urgency_label = None if urgency == document_models.Urgency.NORMAL else str(urgency.label)
    signers: tuple[str, ...] = ()
    if document.doc_type in document_models.UPWARD_DOC_TYPES and document.signer is not None:
        signers = (document.signer.display_name,)
    if document.doc_type in document_models.UPWARD_DOC_TYPES and joint:
        # 7.2.6: every joint issuer's 签发人, in issuer order (each one's latest sign-off).
        signed = {
            step.department_id: step.actor.display_name
            for step in document.steps.filter(
                kind=document_models.StepKind.SIGN_OFF, state=document_models.StepState.DONE, actor__isnull=False
            ).select_related("actor").order_by("finished_at", "pk")
            if step.actor is not None
        }
        names = tuple(signed[row.organisation_id] for row in joint if row.organisation_id in signed)
        signers = names or signers
    # 附件说明 (7.3.4): every attachment, files and 随文附件, in the drafter's order; only a
    # 随文附件's text is printed after the body (a file travels beside the document).
    from documents.selectors import current_attachments  # it imports this module

    attachments = list(current_attachments(document).only("name", "kind", "text", "position"))
    return RenderInput(
        doc_type=document.doc_type,
        title=document.title,
        body=document.body,
        issuer_mark=issuer_mark_for(document),
        issuer_name=document.signature_name or document.issuer.name,
        doc_number=document.doc_number or None,
        issued_on=document.issued_on,
        primary_recipients=[org.name for org in ordered_recipients(document, "primary")],
        cc_recipients=[org.name for org in ordered_recipients(document, "cc")],
        copy_number=document.copy_number or None,
        classification_label=classification_label,
        urgency_label=urgency_label,
        signers=signers,
        attachments=[item.name for item in attachments],
        attachment_bodies=[(item.name, item.text) for item in attachments if not item.is_file and item.text],
        note=document.note or None,
        printing_office=document.printing_office or None,
        printed_on=printed_on or document.printed_on,
        seal_png=seal_png if document.doc_type != document_models.DocType.MINUTES else None,
        seal_diameter_mm=float(settings.SEAL_IMAGE_DIAMETER_MM),
        co_issuers=co_issuers,
        created=document.created_at,
        modified=modified,
    )


def render_document(
    document: document_models.Document,
    *,
    seal_png: bytes | None = None,
    printed_on: date | None = None,
    modified: dt.datetime | None = None,
    colophon: ColophonPlacement = ColophonPlacement.SAME_PAGE,
) -> bytes:
    """The DOCX of a stored ``document`` (see ``render_input_for``). For the issued copy
    whose 版记 must land on an even page use ``documents.docx.issue.issue_copy``."""
    inputs = render_input_for(document, seal_png=seal_png, printed_on=printed_on, modified=modified)
    return render_docx(inputs, colophon=colophon)


def docx_filename(document: document_models.Document) -> str:
    name = document.doc_number or f"草稿{document.pk}"
    return f"{name} {plain_title(document.title)}"[:120] + ".docx"


def ordered_recipients(document: document_models.Document, kind: str) -> list[Department]:
    # documents.selectors imports this module (to render), hence the late import.
    from documents.selectors import recipients

    return recipients(document, "primary" if kind == "primary" else "cc")
