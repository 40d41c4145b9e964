"""Low-level WordprocessingML helpers that python-docx does not model.

python-docx orders only the ``w:pPr``/``w:rPr`` children it knows; the ones added here go
into their schema position (ECMA-376 Part 1 §17.3.1.26, §17.3.2.28), which Word insists
on. Nothing here knows GB/T 9704: ``documents/docx/render.py`` holds the layout.
"""

from __future__ import annotations

import re

from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import RGBColor
from docx.text.paragraph import Paragraph

# Characters XML 1.0 cannot hold: C0 controls other than tab/newline/CR, lone surrogates.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold. The API stores whatever a
    client sends; one such character would otherwise make every render of it fail."""
    return XML_INVALID.sub("", text)


def replace_style_props(style: BaseOxmlElement, ppr_xml: str, rpr_xml: str) -> None:
    """Replace a style's paragraph and run properties with the given inner XML."""
    for tag in ("w:pPr", "w:rPr"):
        old = style.find(qn(tag))
        if old is not None:
            style.remove(old)
    style.append(parse_xml(f"<w:pPr {nsdecls('w')}>{ppr_xml}</w:pPr>"))
    style.append(parse_xml(f"<w:rPr {nsdecls('w')}>{rpr_xml}</w:rPr>"))


def fonts_xml(font: str) -> str:
    """``w:rFonts`` naming ``font`` in every slot (Word picks the East Asian one for Chinese)."""
    return (
        f'<w:rFonts w:ascii="{font}" w:eastAsia="{font}" w:hAnsi="{font}" w:cs="{font}"'
        ' w:hint="eastAsia"/>'
    )


def set_border(p: Paragraph, side: str, *, style: str, sz: int, color: RGBColor | None = None, space: int = 1) -> None:
    """A paragraph border on ``side`` (``sz`` in eighths of a point), replacing any there."""
    pbdr = ppr_child(p, "w:pBdr")
    order = ("w:top", "w:left", "w:bottom", "w:right", "w:between", "w:bar")
    tag = f"w:{side}"
    existing = pbdr.find(qn(tag))
    if existing is not None:
        pbdr.remove(existing)
    border = el(tag, val=style, sz=str(sz), space=str(space), color=str(color or "000000"))
    insert_in_order(pbdr, border, tag, order)


def el(tag: str, **attrs: str) -> BaseOxmlElement:
    """A new ``tag`` element with ``w:``-namespaced attributes."""
    element = OxmlElement(tag)
    for name, value in attrs.items():
        element.set(qn(f"w:{name}"), value)
    return element


def ppr_child(p: Paragraph, tag: str) -> BaseOxmlElement:
    """The pPr child ``tag``, created in its schema position (ECMA-376 §17.3.1.26) when
    missing; python-docx only orders the children it models."""
    ppr = p._p.get_or_add_pPr()
    existing = ppr.find(qn(tag))
    if existing is not None:
        return existing
    element = OxmlElement(tag)
    insert_in_order(ppr, element, tag, PPR_ORDER)
    return element


def insert_in_order(parent: BaseOxmlElement, element: BaseOxmlElement, tag: str, order: tuple[str, ...]) -> None:
    """Insert ``element`` before the first child that the schema puts after ``tag``."""
    later = {qn(t) for t in order[order.index(tag) + 1 :]}
    for child in parent:
        if child.tag in later:
            child.addprevious(element)
            return
    parent.append(element)


PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr",
    "w:widowControl", "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs",
    "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap",
    "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
    "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
RPR_ORDER = (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps",
    "w:strike", "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof",
    "w:snapToGrid", "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern",
    "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
    "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
    "w:specVanish", "w:oMath",
)  # fmt: skip
