"""联合发文 as printed: the joint 版头 (GB/T 9704 7.2.4) and the joint seals (7.3.5.1),
rendered, converted by the real LibreOffice and measured with pdfplumber, as
tests/documents/test_layout.py measures a single issuer's copy.

7.2.4: 联合行文时……主办机关名称排列在前；如有“文件”二字，应当置于发文机关名称右侧，以联合发文机关名称
为准上下居中排布. 7.3.5.1: 联合行文时……将各发文机关署名按照发文机关顺序整齐排列在相应位置，并将
印章一一对应、端正、居中下压发文机关署名，最后一个印章端正、居中下压发文机关署名和成文日期，印章之间
排列整齐、互不相交或相切，每排印章两端不得超出版心.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Iterator
from typing import Any

import pdfplumber
import pytest

from documents.docx.issue import IssuedCopy, issue_rendered
from documents.docx.render import CoIssuer
from seals.images import render_round_seal
from tests.documents.test_layout import BODY_PT, LEFT_MM, MM, NOTICE, RIGHT_MM, TOP_MM, Line, lines_of

LEAD = "浙江省人民政府办公厅"
FINANCE = "浙江省财政厅"
BIG_DATA = "浙江省大数据发展管理局"
DATE = "2026年1月5日"


def co_issuer(name: str) -> CoIssuer:
    return CoIssuer(mark=name, name=name, seal_png=render_round_seal(organisation=name, diameter_mm=42, dpi=200))


@dataclasses.dataclass
class Printed:
    copy: IssuedCopy
    pages: list[Any]


@pytest.fixture(scope="module")
def printed() -> Iterator[dict[int, Printed]]:
    issued = {
        2: issue_rendered(dataclasses.replace(NOTICE, co_issuers=[co_issuer(FINANCE)])),
        3: issue_rendered(dataclasses.replace(NOTICE, co_issuers=[co_issuer(FINANCE), co_issuer(BIG_DATA)])),
        # unsealed (7.3.5.2): no seal pictures at all
        0: issue_rendered(dataclasses.replace(
            NOTICE, seal_png=None, co_issuers=[CoIssuer(mark=FINANCE, name=FINANCE), CoIssuer(mark=BIG_DATA, name=BIG_DATA)]
        )),
    }
    opened = {n: pdfplumber.open(io.BytesIO(copy.pdf)) for n, copy in issued.items()}
    try:
        yield {n: Printed(copy=issued[n], pages=pdf.pages) for n, pdf in opened.items()}
    finally:
        for pdf in opened.values():
            pdf.close()


def mark_lines(page: Any) -> list[tuple[str, float, float, float, float]]:
    """(text, x0, x1, top, bottom) in mm of each line of red glyphs larger than 3号."""
    rows: dict[tuple[float, bool], list[dict[str, Any]]] = {}
    for c in page.chars:
        if c["text"].strip() and c["size"] > 20 and c.get("non_stroking_color") == (1.0, 0.0, 0.0):
            # 「文件」 may share a baseline with a middle name: keep it apart (no name has 文 or 件)
            rows.setdefault((round(c["bottom"], 0), c["text"] in "文件"), []).append(c)
    out = []
    for _, cs in sorted(rows.items()):
        cs.sort(key=lambda c: c["x0"])
        out.append(("".join(c["text"] for c in cs), cs[0]["x0"] / MM, cs[-1]["x1"] / MM, cs[0]["top"] / MM, cs[0]["bottom"] / MM))
    return out


@pytest.mark.parametrize("count", [2, 3])
def test_the_joint_head_stacks_the_issuers_lead_first_with_wenjian_once_centred_to_their_right(printed, count):
    page = printed[count].pages[0]
    lines = mark_lines(page)
    names = [line for line in lines if line[0] != "文件"]
    word = [line for line in lines if line[0] == "文件"]
    expected = [LEAD, FINANCE, BIG_DATA][:count]
    assert [name[0] for name in names] == expected  # the lead first, in issuer order
    assert len(word) == 1  # 「文件」 once
    assert "".join(line[0] for line in lines).count("文件") == 1
    _, wx0, wx1, wtop, wbottom = word[0]
    # to the right of every name, and vertically centred on the stack of names
    assert wx0 > max(name[2] for name in names)
    stack_centre = (names[0][3] + names[-1][4]) / 2
    assert (wtop + wbottom) / 2 == pytest.approx(stack_centre, abs=1.0)
    # the names are spread to one width (分散对齐), and the whole mark sits centred in the block
    assert max(n[1] for n in names) - min(n[1] for n in names) < 1.0
    assert max(n[2] for n in names) - min(n[2] for n in names) < 1.0
    assert (names[0][1] + wx1) / 2 == pytest.approx((LEFT_MM + RIGHT_MM) / 2, abs=1.5)
    assert names[0][1] >= LEFT_MM - 0.5 and wx1 <= RIGHT_MM + 0.5
    # 7.2.4: the mark's top 35 mm below the text block's top edge
    assert names[0][3] == pytest.approx(TOP_MM + 35, abs=1.5)
    # the names never overlap each other
    for upper, lower in itertools.pairwise(names):
        assert lower[3] >= upper[4] - 0.5
    # one 发文字号, the lead's, centred under the mark
    body = lines_of(page, BODY_PT)
    numbers = [line for line in body if "〔2026〕" in line.text]
    assert [line.text.replace(" ", "") for line in numbers] == ["浙政办发〔2026〕12号"]
    assert numbers[0].top > names[-1][4]


def seals_of(page: Any) -> list[tuple[float, float, float, float]]:
    """(x0, x1, top, bottom) in mm of the seal pictures, left to right, top to bottom."""
    images = [im for im in page.images if (im["x1"] - im["x0"]) / MM > 30]
    return sorted(((im["x0"] / MM, im["x1"] / MM, im["top"] / MM, im["bottom"] / MM) for im in images),
                  key=lambda s: (round(s[2]), s[0]))


def segments(lines: list[Line]) -> list[Line]:
    """Lines split where a tab leaves a gap (two 署名 on one row are two segments)."""
    out = []
    for line in lines:
        start = 0
        for i in range(1, len(line.chars) + 1):
            if i == len(line.chars) or line.chars[i]["x0"] - line.chars[i - 1]["x1"] > 8:
                cs = line.chars[start:i]
                out.append(dataclasses.replace(
                    line, chars=cs, text="".join(c["text"] for c in cs), x0=cs[0]["x0"] / MM, x1=cs[-1]["x1"] / MM
                ))
                start = i
    return out


def line_with(lines: list[Line], text: str) -> Line:
    return next(line for line in segments(lines) if line.text.replace(" ", "") == text)


def test_two_seals_stand_side_by_side_evenly_spaced_each_pressing_its_issuers_name(printed):
    doc = printed[2]
    copy = doc.copy
    assert len(copy.seal_boxes) == 2 and copy.seal_boxes[0] == (copy.seal_page, copy.seal_box)
    page = doc.pages[copy.seal_boxes[0][0]]
    assert copy.seal_boxes[1][0] == copy.seal_boxes[0][0]  # one page
    seals = seals_of(page)
    assert len(seals) == 2
    (ax0, ax1, atop, _), (bx0, bx1, btop, bbottom) = seals
    for x0, x1, top, bottom in seals:
        assert x1 - x0 == pytest.approx(42, abs=0.5) and bottom - top == pytest.approx(42, abs=0.5)
        assert LEFT_MM <= x0 and x1 <= RIGHT_MM  # within the text block
    assert atop == pytest.approx(btop, abs=0.3)  # one row, aligned
    assert bx0 - ax1 > 2.0  # 互不相交或相切
    # evenly spaced: each centred in its half of the block
    assert (ax0 + ax1) / 2 == pytest.approx(LEFT_MM + 156 / 4, abs=1.0)
    assert (bx0 + bx1) / 2 == pytest.approx(LEFT_MM + 156 * 3 / 4, abs=1.0)
    # PAdES rectangles are these pictures, in issuer order (PDF points, bottom-left origin)
    height = float(page.height)
    for (_, box), (x0, x1, top, _bottom) in zip(copy.seal_boxes, seals, strict=True):
        assert (box[0] / MM, box[2] / MM) == (pytest.approx(x0, abs=0.2), pytest.approx(x1, abs=0.2))
        assert (height - box[3]) / MM == pytest.approx(top, abs=0.2)

    lines = lines_of(page, BODY_PT)
    lead, finance, date = line_with(lines, LEAD), line_with(lines, FINANCE), line_with(lines, DATE)
    assert lead.baseline == pytest.approx(finance.baseline, abs=0.2)  # the 署名 in one row, in order
    assert lead.centre < finance.centre
    for name, (x0, x1, top, bottom) in ((lead, seals[0]), (finance, seals[1])):
        # 端正、居中下压: centred on its own seal, inside it vertically, a little below its centre
        assert name.centre == pytest.approx((x0 + x1) / 2, abs=1.5)
        assert top < name.top and name.baseline < bottom
        assert name.baseline > (top + bottom) / 2 - 5
    # the 成文日期 under the names, pressed by the last seal, centred on it; 右空四字 as alone
    assert date.baseline > finance.baseline
    assert date.centre == pytest.approx((bx0 + bx1) / 2, abs=1.5)
    assert btop < date.top and date.baseline < bbottom
    assert date.x1 == pytest.approx(RIGHT_MM - 4 * 15.75 / MM, abs=2.0)
    # the first seal's top is within one line under the text above it
    above = [line for line in lines if line.baseline < lead.top and line.baseline < atop]
    assert above, "the seals are on a page without body text"
    assert 0 < atop - above[-1].baseline <= 28.95 / MM + 0.5


def test_three_issuers_put_two_seals_a_row_and_the_last_over_the_date(printed):
    doc = printed[3]
    copy = doc.copy
    assert len(copy.seal_boxes) == 3
    page = doc.pages[copy.seal_boxes[-1][0]]
    assert {p for p, _ in copy.seal_boxes} == {copy.seal_boxes[-1][0]}
    seals = seals_of(page)
    assert len(seals) == 3
    first, second, third = seals
    assert first[2] == pytest.approx(second[2], abs=0.3)
    assert third[2] > max(first[3], second[3])  # the second row never touches the first
    assert (third[0] + third[1]) / 2 == pytest.approx((second[0] + second[1]) / 2, abs=0.5)  # under the right seal
    lines = lines_of(page, BODY_PT)
    for name, seal in zip((LEAD, FINANCE, BIG_DATA), seals, strict=True):
        line = line_with(lines, name)
        assert line.centre == pytest.approx((seal[0] + seal[1]) / 2, abs=1.5)
        assert seal[2] < line.top and line.baseline < seal[3]
    date = line_with(lines, DATE)
    assert third[2] < date.top and date.baseline < third[3]
    assert date.baseline > line_with(lines, BIG_DATA).baseline


def test_unsealed_joint_signatures_stack_the_lead_first_two_characters_in(printed):
    doc = printed[0]
    assert doc.copy.seal_boxes == () and doc.copy.seal_page is None
    assert not any(im for page in doc.pages for im in page.images if (im["x1"] - im["x0"]) / MM > 30)
    lines = [line for page in doc.pages for line in lines_of(page, BODY_PT)]
    lead, finance, big_data, date = (line_with(lines, text) for text in (LEAD, FINANCE, BIG_DATA, DATE))
    # 7.3.5.2 联合行文: the lead's 署名 first, the others below it in order, 右空二字
    assert lead.baseline < finance.baseline < big_data.baseline < date.baseline
    assert finance.baseline - lead.baseline == pytest.approx(28.95 / MM, abs=0.3)
    for line in (lead, finance, big_data):
        assert line.x1 == pytest.approx(RIGHT_MM - 2 * 15.75 / MM, abs=1.0)
    assert date.x1 <= RIGHT_MM - 2 * 15.75 / MM + 1.0
    # the head is the joint one all the same
    names = [line[0] for line in mark_lines(doc.pages[0])]
    assert names[:1] == [LEAD] and names.count("文件") == 1
