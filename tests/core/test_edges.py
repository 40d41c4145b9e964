"""officehub/uploads.py and officehub/edges.py: the shared edge helpers."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from officehub.edges import download, error_frame
from officehub.errors import ApplicationError, NotFound
from officehub.uploads import UnsafeFile, check_office_zip, docx_text, read_upload


def office_zip(parts: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_bytes(text: str) -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


class LyingUpload:
    """Declares a small size but has more bytes."""

    size = 10

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buffer.read(n)


def test_read_upload_refuses_over_the_limit_even_when_the_declared_size_lies() -> None:
    assert read_upload(SimpleUploadedFile("a.txt", b"x" * 100), limit=100) == b"x" * 100
    for upload in (SimpleUploadedFile("a.txt", b"x" * 101), LyingUpload(b"x" * 500)):
        with pytest.raises(ApplicationError) as caught:
            read_upload(upload, limit=100, code="attachment.too_large")
        assert (caught.value.code, caught.value.status) == ("attachment.too_large", 413)
        assert caught.value.extra["max_bytes"] == 100


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "file.legacy_or_encrypted"),
        (b"%PDF-1.7 not a zip", "file.wrong_type"),
        (b"PK\x03\x04 truncated", "file.corrupt"),
        (office_zip({"word/document.xml": b"<w/>", "../evil": b"x"}), "file.corrupt"),
        (office_zip({"docProps/app.xml": b"<x/>"}), "file.wrong_type"),
        (office_zip({"word/document.xml": b"<w/>", **{f"p{i}": b"" for i in range(2001)}}), "file.too_many_entries"),
        (office_zip({"word/document.xml": b"\0" * (10 * 1024 * 1024)}), "file.suspicious_compression"),
    ],
)
def test_hostile_office_files_are_refused_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(UnsafeFile) as caught:
        check_office_zip(data)
    assert caught.value.code == code and caught.value.status == 400


def test_a_real_docx_passes_and_its_text_is_read() -> None:
    data = docx_bytes("关于推进政务数据共享的通知")
    check_office_zip(data)
    assert docx_text(data) == "关于推进政务数据共享的通知"
    with pytest.raises(UnsafeFile):
        check_office_zip(data, kind="xlsx")  # not a workbook


def test_download_names_the_file_in_chinese_with_an_ascii_fallback() -> None:
    response = download(b"data", "浙政办发〔2026〕1号.docx", "application/octet-stream")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert "%E6%B5%99" in disposition  # 浙, percent-encoded
    assert response["X-Content-Type-Options"] == "nosniff"
    assert download(b"x", "a.pdf", "application/pdf", inline=True)["Content-Disposition"].startswith("inline")


def test_download_sends_a_named_plain_fallback_beside_the_chinese_name() -> None:
    named = download(b"x", "归档文件目录-1.csv", "text/csv", ascii_filename='catalogue-"1".csv')
    assert named["Content-Disposition"] == (
        "attachment; filename=\"catalogue-1.csv\"; filename*=utf-8''%E5%BD%92%E6%A1%A3%E6%96%87%E4%BB%B6%E7%9B%AE%E5%BD%95-1.csv"
    )
    # An ASCII name needs no fallback: it is the filename itself.
    assert download(b"x", "a.pdf", "application/pdf", ascii_filename="b.pdf")["Content-Disposition"] == (
        'attachment; filename="a.pdf"'
    )


def test_error_frame_is_the_api_error_body_as_a_socket_frame() -> None:
    frame: dict[str, Any] = error_frame(NotFound(), ref=7, conversation_id=3)
    assert frame == {"type": "error", "code": "not_found", "message": NotFound().message, "extra": {}, "ref": 7,
                     "conversation_id": 3}
    assert error_frame(ValidationError(["甲", "乙"]))["message"] == "甲；乙"
