"""Images get a thumbnail on upload and hostile ones are refused; PDF/DOCX attachments
are previewed as page images rendered by the server (poppler in a limited subprocess),
cached per attachment and served only to those who may read the file."""

from __future__ import annotations

import importlib.util
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from messaging.chat import attachments, previews, selectors
from messaging.chat.thumbnails import MAX_PIXELS, make_thumbnail
from messaging.errors import ApplicationError
from messaging.models import Attachment, AttachmentPreview, Message
from tests.messaging.conftest import new_client_id

pytestmark = pytest.mark.django_db

API = "/api/messaging"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def _client(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares ``width`` x ``height``: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


def _jpeg_with_gps(size: tuple[int, int] = (1600, 900)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = "TestCam"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def _send(user: Any, conversation: Any, name: str, data: bytes) -> Message:
    return attachments.attachment_send(
        actor=user, conversation_id=conversation.pk, client_id=new_client_id(), name=name, data=data
    ).message


# ------------------------------------------------------------------------------ thumbnails


def test_an_image_gets_a_thumbnail_without_exif_shown_inline_to_members_only(personas: Any, group: Any) -> None:
    message = _send(personas.drafter, group, "现场.jpg", _jpeg_with_gps())
    attachment = message.attachment
    assert attachment is not None and attachment.thumbnail
    # Orientation applied (portrait now), longest side 480.
    assert (attachment.thumb_width, attachment.thumb_height) == (270, 480)
    response = _client(personas.head).get(f"{API}/attachments/{attachment.pk}/thumbnail/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "sandbox" in response["Content-Security-Policy"] and response["X-Content-Type-Options"] == "nosniff"
    thumb = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert thumb.size == (270, 480)
    assert not thumb.getexif() and "exif" not in thumb.info
    payload = _client(personas.head).get(f"{API}/conversations/{group.pk}/messages/").json()["messages"][0]["attachment"]
    assert payload["thumbnail_url"] == f"{API}/attachments/{attachment.pk}/thumbnail/"
    assert payload["preview_url"] is None
    assert _client(personas.outsider).get(f"{API}/attachments/{attachment.pk}/thumbnail/").status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "code", "status"),
    [
        ("炸弹.png", _png_header_only(30000, 30000), "attachment.image_too_large", 413),  # 900 Mpx in a few hundred bytes
        ("长条.png", _png_header_only(25000, 10), "attachment.image_too_large", 413),  # one side too long
        ("边界.png", _png_header_only(7000, 7000), "attachment.image_too_large", 413),  # above the explicit cap
        ("坏图.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "attachment.image_invalid", 415),  # PNG magic, no image
        ("伪装.png", b"MZ\x90\x00 this is a program, not a picture", "attachment.type_not_allowed", 415),
        ("伪装2.png", b"%PDF-1.7\n%%EOF\n", "attachment.type_not_allowed", 415),  # a PDF named .png
    ],
)
def test_hostile_images_are_refused_with_a_code_and_leave_nothing(
    personas: Any, group: Any, name: str, data: bytes, code: str, status: int, _media: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(personas.drafter).post(
        f"{API}/conversations/{group.pk}/attachments/",
        {"client_id": new_client_id(), "file": SimpleUploadedFile(name, data)},
        format="multipart",
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Attachment.objects.exists() and not Message.objects.filter(conversation=group).exists()
    assert _stored_files(_media) == []


def test_pillows_own_bomb_guard_is_set_to_the_cap() -> None:
    with pytest.raises(ApplicationError) as refused:
        make_thumbnail(_png_header_only(20000, 20000))
    assert refused.value.code == "attachment.image_too_large"
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS


def test_a_transparent_png_keeps_its_alpha_in_a_png_thumbnail() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (1000, 500), (0, 0, 0, 0)).save(buffer, format="PNG")
    thumb = make_thumbnail(buffer.getvalue())
    assert (thumb.extension, thumb.width, thumb.height) == (".png", 480, 240)
    assert Image.open(io.BytesIO(thumb.data)).mode == "RGBA"


# ------------------------------------------------------------------------------ previews


def _pdf(pages: int) -> bytes:
    images = [Image.new("RGB", (595, 842), (255, 255, 255 - 40 * i)) for i in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


@pytest.mark.needs_tool("pdftoppm", install="Debian package poppler-utils")
def test_a_pdf_is_previewed_as_page_images_once_for_members_only(personas: Any, group: Any, monkeypatch: Any) -> None:
    message = _send(personas.drafter, group, "通知.pdf", _pdf(3))
    attachment = message.attachment
    assert attachment is not None
    monkeypatch.setattr(previews, "PREVIEW_MAX_PAGES", 2)
    head = _client(personas.head)
    assert _client(personas.outsider).get(f"{API}/attachments/{attachment.pk}/preview/").status_code == 404
    assert not AttachmentPreview.objects.exists()  # an outsider makes the server render nothing
    response = head.get(f"{API}/attachments/{attachment.pk}/preview/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["pages"], body["total_pages"]) == (2, 3)  # the page limit holds
    page = head.get(body["page_urls"][1])
    assert page.status_code == 200 and page["Content-Type"] == "image/png"
    assert "sandbox" in page["Content-Security-Policy"]
    image = Image.open(io.BytesIO(b"".join(page.streaming_content)))
    assert image.format == "PNG" and image.width == previews.PREVIEW_WIDTH
    assert head.get(f"{API}/attachments/{attachment.pk}/preview/3/").status_code == 404
    # Cached: a second request renders nothing.
    monkeypatch.setattr(previews, "render_pages", lambda pdf: pytest.fail("rendered twice"))
    assert head.get(f"{API}/attachments/{attachment.pk}/preview/").json() == body
    assert AttachmentPreview.objects.count() == 1
    assert _client(personas.outsider).get(body["page_urls"][0]).status_code == 404
    payload = head.get(f"{API}/conversations/{group.pk}/messages/").json()["messages"][0]["attachment"]
    assert payload["preview_url"] == f"{API}/attachments/{attachment.pk}/preview/"


@pytest.mark.needs_tool("pdftoppm", install="Debian package poppler-utils")
def test_a_broken_pdf_and_a_slow_render_are_refused_with_codes(personas: Any, group: Any, monkeypatch: Any) -> None:
    broken = _send(personas.drafter, group, "坏.pdf", b"%PDF-1.7\n" + b"garbage " * 100)
    response = _client(personas.head).get(f"{API}/attachments/{broken.attachment_id}/preview/")
    assert (response.status_code, response.json()["code"]) == (422, "preview.failed")
    monkeypatch.setattr(previews, "PREVIEW_TIMEOUT_SECONDS", 0.0001)
    slow = _send(personas.drafter, group, "慢.pdf", _pdf(1))
    response = _client(personas.head).get(f"{API}/attachments/{slow.attachment_id}/preview/")
    assert (response.status_code, response.json()["code"]) == (503, "preview.timeout")
    assert not AttachmentPreview.objects.exists()


def test_only_pdf_and_docx_are_previewed(personas: Any, group: Any) -> None:
    text = _send(personas.drafter, group, "名单.txt", "张三".encode())
    response = _client(personas.head).get(f"{API}/attachments/{text.attachment_id}/preview/")
    assert (response.status_code, response.json()["code"]) == (415, "preview.not_supported")


def test_docx_preview_goes_through_the_office_converter_when_it_is_installed(personas: Any, group: Any) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("关于开展安全检查的通知")
    buffer = io.BytesIO()
    document.save(buffer)
    message = _send(personas.drafter, group, "通知.docx", buffer.getvalue())
    assert message.attachment is not None
    info = selectors.access_attachment(personas.head, message.attachment.pk)
    response = _client(personas.head).get(f"{API}/attachments/{info.pk}/preview/")
    if importlib.util.find_spec("officehub.office") is None:
        # This tree has no officehub.office (the LibreOffice worker): said so, with a code.
        assert (response.status_code, response.json()["code"]) == (503, "preview.unavailable")
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["pages"] >= 1
