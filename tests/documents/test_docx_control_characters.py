"""Text the API accepts (control characters included, found by the API fuzz test) always
renders: XML 1.0 cannot hold C0 controls or lone surrogates, so the DOCX drops them."""

from __future__ import annotations

import dataclasses
import io

from docx import Document

from documents.docx.render import docx_to_text, render_docx
from tests.documents.test_docx_render import NOTICE


def test_control_characters_in_any_field_do_not_break_the_docx() -> None:
    hostile = dataclasses.replace(
        NOTICE,
        title="关于\x01加强值班\x1f工作的通知",
        body="一、总体要求\x0b\n（一）压实\x08责任。\ud800",
        note="联系人：张三\x02",
        attachments=["清单\x07"],
        primary_recipients=["各市\x1e人民政府"],
    )
    data = render_docx(hostile)
    text = docx_to_text(data)
    Document(io.BytesIO(data))  # a valid package
    assert "关于加强值班工作的通知" in text and "压实责任" in text and "联系人：张三" in text
    assert not any(ch in text for ch in "\x01\x02\x07\x08\x0b\x1e\x1f")
