"""Screen watermarks: 公文, archive, chat and meeting pages carry the viewer's name,
account and date in an empty, unselectable, unclickable overlay; other pages do not.
Preview PDFs: the words are stamped on every page as text; the input stays as it was."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from officehub.watermark import PdfStampFailed, is_watermarked_path, stamp_pdf, watermark_label, watermark_lines
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

OVERLAY = re.compile(r'<div id="watermark" class="watermark" aria-hidden="true"([^>]*)></div>')


def overlay_of(html: str) -> dict[str, str]:
    match = OVERLAY.search(html)
    assert match, "no watermark overlay on the page"
    return dict(re.findall(r'data-watermark-(\w+)="([^"]*)"', match.group(1)))


def meeting_for(personas: Any) -> Any:
    from messaging.meetings import services
    from officehub.transactions import in_transaction

    now = timezone.now()
    return in_transaction(services.meeting_schedule)(
        actor=personas.head, title="督办例会", agenda="", start_at=now + timedelta(minutes=1),
        end_at=now + timedelta(hours=1), user_ids=[personas.drafter.pk], observer_ids=[],
    )


def test_document_archive_chat_and_meeting_pages_carry_the_viewers_watermark(personas):
    document = DocumentFactory.create(at="review")
    meeting = meeting_for(personas)
    client = Client()
    client.force_login(personas.drafter)
    today = timezone.localdate().isoformat()
    for url in (f"/documents/{document.pk}/", "/documents/", f"/documents/{document.pk}/timeline/", "/archives/",
                "/messages/", "/messages/meetings/", f"/messages/meetings/{meeting.pk}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert overlay_of(html) == {"name": "王芳", "account": "wangfang", "date": today}, url
        assert '<script src="/static/officehub/watermark.js" defer></script>' in html, url


def test_the_overlay_holds_no_text_of_its_own(personas):
    client = Client()
    client.force_login(personas.drafter)
    html = client.get("/messages/").content.decode()
    assert OVERLAY.search(html) is not None  # ...></div>: an empty element, the words only in attributes
    css = client.get("/static/officehub/app.css")
    text = b"".join(css.streaming_content).decode() if css.streaming else css.content.decode()  # type: ignore[attr-defined]
    rule = re.search(r"\.watermark \{([^}]*)\}", text)
    assert rule and "pointer-events: none" in rule.group(1) and "user-select: none" in rule.group(1)


def test_each_viewer_sees_their_own_watermark(personas):
    document = DocumentFactory.create(at="review")
    client = Client()
    client.force_login(personas.reviewer)
    assert overlay_of(client.get(f"/documents/{document.pk}/").content.decode())["account"] == "zhaomin"


def test_other_pages_and_anonymous_visitors_have_no_watermark(personas):
    client = Client()
    assert 'id="watermark"' not in client.get("/login/").content.decode()
    client.force_login(personas.drafter)
    for url in ("/", "/directory/", "/seals/"):
        assert 'id="watermark"' not in client.get(url).content.decode(), url
    assert is_watermarked_path("/documents/1/") and not is_watermarked_path("/documents")


def test_a_label_names_the_viewer_the_account_and_the_local_date(personas):
    label = watermark_label(personas.drafter, today=date(2026, 3, 1))
    assert label == {"name": "王芳", "account": "wangfang", "date": "2026-03-01"}
    assert watermark_lines(label) == ["王芳 wangfang", "2026-03-01"]


# --------------------------------------------------------------------------- PDF stamping


def blank_pdf(pages: int = 2) -> bytes:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)
    out = io.BytesIO()
    document.save(out)
    document.close()
    return out.getvalue()


def pdf_text(pdf: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return [document[index].get_textpage().get_text_range() for index in range(len(document))]
    finally:
        document.close()


def needs_cjk_font() -> None:
    from officehub.watermark import FONT_CANDIDATES
    from tests.needs import missing

    if not any(__import__("pathlib").Path(path).exists() for path, _ in FONT_CANDIDATES):
        missing("a TrueType CJK font", install="Debian package fonts-wqy-zenhei")


def test_stamping_puts_the_words_on_every_page_as_text_and_leaves_the_input_alone():
    needs_cjk_font()
    source = blank_pdf(3)
    digest = hashlib.sha256(source).hexdigest()
    stamped = stamp_pdf(source, ["王芳 wangfang", "2026-03-01"])
    assert hashlib.sha256(source).hexdigest() == digest
    assert stamped != source and stamped.startswith(b"%PDF-")
    texts = pdf_text(stamped)
    assert len(texts) == 3
    for text in texts:
        assert text.count("王芳 wangfang") >= 10 and "2026-03-01" in text
    assert len(stamped) < 60_000  # the font is cut down to the stamped characters, not 16 MB


def test_a_broken_pdf_is_refused_with_a_code():
    needs_cjk_font()
    with pytest.raises(PdfStampFailed) as caught:
        stamp_pdf(b"%PDF-1.7 not really", ["王芳 wangfang"])
    assert caught.value.code == "pdf.unreadable" and caught.value.status == 503
