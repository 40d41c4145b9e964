"""The 预览件: a document's PDF with the viewer's watermark on every page, for anyone who
may open the document; the signed original it starts from keeps its bytes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from documents import preview, selectors
from officehub.office.client import PdfConversionFailed
from tests.core.test_watermark import blank_pdf, needs_cjk_font, pdf_text
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(monkeypatch: Any) -> dict[str, bytes]:
    """Stands in for ``documents.selectors.signed_pdf`` (sealing's signed 版式 copy, which
    the preview prefers): one fixed PDF per document."""
    originals: dict[str, bytes] = {}

    def signed_pdf(document: Any) -> bytes:
        return originals.setdefault(str(document.pk), blank_pdf(2))

    monkeypatch.setattr(selectors, "signed_pdf", signed_pdf)
    return originals


def test_the_preview_carries_the_viewers_watermark_and_the_original_is_unchanged(personas, signed):
    needs_cjk_font()
    document = DocumentFactory.create(at="review")
    original = selectors.signed_pdf(document)
    digest = hashlib.sha256(original).hexdigest()
    client = Client()
    client.force_login(personas.reviewer)
    response = client.get(f"/documents/{document.pk}/preview/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response["Cache-Control"] == "private, no-store"
    assert "%EF%BC%88%E9%A2%84%E8%A7%88%E4%BB%B6%EF%BC%89.pdf" in response["Content-Disposition"]  # （预览件）.pdf
    today = timezone.localdate().isoformat()
    for text in pdf_text(response.content):
        assert "赵敏 zhaomin" in text and today in text
    assert hashlib.sha256(selectors.signed_pdf(document)).hexdigest() == digest
    assert response.content != original


def test_an_outsider_gets_the_same_404_as_for_a_missing_document(personas, signed):
    document = DocumentFactory.create(at="review")
    client = Client()
    client.force_login(personas.outsider)
    assert client.get(f"/documents/{document.pk}/preview/").status_code == 404
    assert client.get("/documents/999999/preview/").status_code == 404


def test_without_a_signed_pdf_and_a_failing_conversion_the_preview_is_refused_with_503(personas, monkeypatch):
    def convert_docx(docx: bytes, *, pdfa: bool = True) -> Any:
        raise PdfConversionFailed("converter down", code="pdf.converter_unavailable")

    monkeypatch.setattr(selectors, "signed_pdf", lambda document: None)
    monkeypatch.setattr(preview, "convert_docx", convert_docx)
    document = DocumentFactory.create(at="review")
    client = Client()
    client.force_login(personas.drafter)
    response = client.get(f"/documents/{document.pk}/preview/")
    assert response.status_code == 503 and "预览件" in response.content.decode()


def test_without_a_signed_pdf_the_converted_docx_is_stamped(personas, monkeypatch):
    needs_cjk_font()
    seen: list[bytes] = []

    class Conversion:
        def __init__(self, pdf: bytes) -> None:
            self.pdf = pdf

    def convert_docx(docx: bytes, *, pdfa: bool = True) -> Conversion:
        seen.append(docx)
        return Conversion(blank_pdf(1))

    monkeypatch.setattr(selectors, "signed_pdf", lambda document: None)
    monkeypatch.setattr(preview, "convert_docx", convert_docx)
    document = DocumentFactory.create(at="review")
    client = Client()
    client.force_login(personas.drafter)
    response = client.get(f"/documents/{document.pk}/preview/")
    assert response.status_code == 200 and seen and seen[0].startswith(b"PK")
    assert "王芳 wangfang" in pdf_text(response.content)[0]
