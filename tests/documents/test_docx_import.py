"""Uploaded DOCX files are untrusted zips: checked before python-docx reads them."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest
from docx import Document

from documents.docx.importing import DocxImportError, import_docx
from documents.docx.render import render_docx
from officehub.uploads import MAX_ENTRIES
from tests.documents.test_docx_render import BODY, NOTICE

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)
DOCUMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body/></w:document>"
)


def zip_bytes(entries: dict[str, bytes | str], *, required: bool = True) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if required:
            archive.writestr("[Content_Types].xml", CONTENT_TYPES)
            archive.writestr("word/document.xml", DOCUMENT_XML)
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def refused(data: bytes, **limits) -> DocxImportError:
    with pytest.raises(DocxImportError) as caught:
        import_docx(data, **limits)
    error = caught.value
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.message)  # told in Chinese
    return error


def docx_of(*paragraphs: tuple[str, str | None]) -> bytes:
    document = Document()
    for text, style in paragraphs:
        document.add_paragraph(text, style=style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_rendered_document_round_trips_to_its_title_and_body():
    imported = import_docx(render_docx(NOTICE))
    assert imported.title == NOTICE.title
    lines = imported.body.split("\n")
    positions = [lines.index(para) for para in BODY.splitlines()]
    assert positions == sorted(positions)  # every body paragraph, in order
    assert "浙江省人民政府办公厅文件" not in lines  # the red header precedes the title
    assert lines[0] == "各市、县（市、区）人民政府、省政府直属各单位："  # 主送 kept


def test_without_a_title_style_the_first_non_empty_paragraph_is_the_title():
    data = docx_of(
        ("", None), ("关于开展安全检查的通知", None), ("各处室：", None), ("请于本周完成。", None)
    )
    imported = import_docx(data)
    assert imported.title == "关于开展安全检查的通知"
    assert imported.body == "各处室：\n请于本周完成。"


def test_a_title_styled_paragraph_wins_over_text_before_it():
    data = docx_of(
        ("机密草稿", None), ("关于开展安全检查的通知", "Title"), ("请于本周完成。", None)
    )
    imported = import_docx(data)
    assert imported.title == "关于开展安全检查的通知"
    assert imported.body == "请于本周完成。"


def test_table_text_is_imported_in_reading_order():
    document = Document()
    document.add_paragraph("检查安排", style="Title")
    document.add_paragraph("安排如下：")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "时间"
    table.cell(0, 1).text = "地点"
    document.add_paragraph("特此通知。")
    out = io.BytesIO()
    document.save(out)
    assert import_docx(out.getvalue()).body == "安排如下：\n时间\n地点\n特此通知。"


def test_a_plain_text_file_is_not_a_docx():
    assert refused("这是一段纯文本。".encode()).code == "docx.not_docx"


def test_an_old_word_binary_file_is_not_a_docx():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    error = refused(ole)
    assert error.code == "docx.not_docx"
    assert ".docx" in error.message


def test_a_zip_without_word_content_is_not_a_docx():
    assert refused(zip_bytes({"readme.txt": "hello"}, required=False)).code == "docx.not_docx"


def test_a_truncated_docx_is_corrupt():
    data = render_docx(NOTICE)
    assert refused(data[: len(data) // 2]).code == "docx.corrupt"


def test_garbage_xml_inside_a_well_formed_zip_is_corrupt():
    data = zip_bytes({"_rels/.rels": "<not xml"})
    assert refused(data).code == "docx.corrupt"


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", DOCUMENT_XML)
        with archive.open("word/media/image1.bin", "w") as entry:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(50):  # 50 MB of zeros, about 50 KB deflated
                entry.write(chunk)
    data = out.getvalue()
    assert len(data) < 1024 * 1024
    assert refused(data).code in {"docx.suspicious_compression", "docx.too_large"}
    # Even under a generous size limit, the ratio alone gives it away.
    error = refused(data, max_uncompressed=1024 * 1024 * 1024)
    assert error.code == "docx.suspicious_compression"
    assert error.extra["entry"] == "word/media/image1.bin"


def test_a_document_larger_than_the_limit_is_too_large():
    error = refused(render_docx(NOTICE), max_uncompressed=100_000)
    assert error.code == "docx.too_large"
    assert error.extra["limit"] == 100_000


def test_too_many_entries_are_refused():
    data = zip_bytes({f"word/media/{i}.txt": "x" for i in range(MAX_ENTRIES + 1)})
    assert refused(data).code == "docx.too_many_entries"
    assert refused(render_docx(NOTICE), max_entries=5).code == "docx.too_many_entries"


@pytest.mark.parametrize("name", ["../evil.xml", "word/../../evil.xml", "/etc/passwd", "C:/x.xml"])
def test_entry_names_escaping_the_package_are_refused(name):
    error = refused(zip_bytes({name: "x"}))
    assert error.code == "docx.corrupt"
    assert error.extra["entry"] == name


def test_a_document_without_text_is_empty():
    assert refused(docx_of()).code == "docx.empty"
    assert refused(docx_of(("   ", None), ("\u3000", None))).code == "docx.empty"


def test_a_rendered_letter_round_trips_too():
    letter = dataclasses.replace(NOTICE, doc_type="letter", issuer_mark="浙江省人民政府办公厅")
    imported = import_docx(render_docx(letter))
    assert imported.title == NOTICE.title
    assert BODY.splitlines()[0] in imported.body.split("\n")
