"""Chat REST API: history with cursor pagination, receipts, recall, attachments, 公文
cards, DING — and the outsider's identical 404 on every path."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from messaging.chat import attachments, jobs, services
from messaging.models import Attachment, Message
from tests.messaging.conftest import new_client_id, send

pytestmark = pytest.mark.django_db

API = "/api/messaging"


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()  # a real image: images are decoded for their thumbnail
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _client(api_client: Any, user: Any) -> Any:
    api_client.force_authenticate(user)
    return api_client


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_history_pages_backwards_with_a_cursor(
    personas: Any, group: Any, api_client: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(1, 8):
        send(personas.drafter, group, f"第{i}条")
    client = _client(api_client, personas.drafter)
    with django_assert_max_num_queries(12):
        first = client.get(f"{API}/conversations/{group.pk}/messages/?limit=3").json()
    assert [m["seq"] for m in first["messages"]] == [5, 6, 7]
    assert first["next_before"] == 5 and first["last_seq"] == 7
    assert first["messages"][0]["read_count"] == 0 and first["messages"][0]["unread_count"] == 3
    second = client.get(f"{API}/conversations/{group.pk}/messages/?limit=3&before={first['next_before']}").json()
    assert [m["seq"] for m in second["messages"]] == [2, 3, 4]
    last = client.get(f"{API}/conversations/{group.pk}/messages/?limit=3&before={second['next_before']}").json()
    assert [m["seq"] for m in last["messages"]] == [1] and last["next_before"] is None
    bad = client.get(f"{API}/conversations/{group.pk}/messages/?limit=abc")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_send_over_http_is_idempotent_and_validated(personas: Any, group: Any, api_client: Any) -> None:
    client = _client(api_client, personas.head)
    url = f"{API}/conversations/{group.pk}/messages/"
    created = client.post(url, {"client_id": "h-1", "body": "收到"}, format="json")
    again = client.post(url, {"client_id": "h-1", "body": "收到"}, format="json")
    assert (created.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True and again.json()["message"]["seq"] == created.json()["message"]["seq"] == 1
    empty = client.post(url, {"client_id": "h-2", "body": ""}, format="json")
    assert empty.status_code == 400 and empty.json()["code"] == "message.empty" and "不能为空" in empty.json()["message"]


def test_conversation_list_shows_unread_and_marks_read(personas: Any, group: Any, api_client: Any) -> None:
    jobs.department_groups_sync_all()  # the worker's job (a GET writes nothing)
    send(personas.drafter, group, "一")
    send(personas.drafter, group, "二")
    client = _client(api_client, personas.head)
    rows = {row["id"]: row for row in client.get(f"{API}/conversations/").json()}
    assert rows[group.pk]["unread"] == 2 and rows[group.pk]["last_message"] == "王芳：二"
    assert any(row["kind"] == "department" for row in rows.values())
    read = client.post(f"{API}/conversations/{group.pk}/read/", {"seq": 2}, format="json").json()
    assert read == {"conversation_id": group.pk, "last_read_seq": 2, "unread": 0}


def test_conversation_list_get_writes_nothing(personas: Any, group: Any, django_user_model: Any) -> None:
    """A GET is safe: no department-group sync, no membership rows, no session save.
    The head's department group does not exist yet (the worker has not run), the case in
    which the list used to create it."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    send(personas.drafter, group, "一")
    client = Client()
    client.force_login(personas.head)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{API}/conversations/")
    assert response.status_code == 200 and group.pk in [row["id"] for row in response.json()]
    writes = [q["sql"] for q in queries if q["sql"].lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []


def test_unread_summary_counts_every_conversation_for_the_shell_badge(personas: Any, group: Any, api_client: Any) -> None:
    from rest_framework.test import APIClient

    send(personas.drafter, group, "一")
    send(personas.drafter, group, "二")
    direct = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    send(personas.drafter, direct, "三")
    assert _client(api_client, personas.head).get(f"{API}/unread/").json() == {
        "unread": 3,
        "conversations": 2,
        "muted_conversation_ids": [],
    }
    services.conversation_mark_read(actor=personas.head, conversation_id=group.pk, seq=2)
    assert _client(api_client, personas.head).get(f"{API}/unread/").json() == {
        "unread": 1,
        "conversations": 1,
        "muted_conversation_ids": [],
    }
    assert _client(api_client, personas.drafter).get(f"{API}/unread/").json() == {
        "unread": 0,
        "conversations": 0,
        "muted_conversation_ids": [],
    }
    anonymous = APIClient().get(f"{API}/unread/")
    assert anonymous.status_code == 401 and anonymous.json()["code"]


def test_receipts_list_who_has_and_has_not_read(personas: Any, group: Any, api_client: Any) -> None:
    message = send(personas.drafter, group, "请阅")
    services.conversation_mark_read(actor=personas.head, conversation_id=group.pk, seq=1)
    body = _client(api_client, personas.drafter).get(f"{API}/messages/{message.pk}/receipts/").json()
    assert (body["read_count"], body["unread_count"]) == (1, 2)
    assert [r["name"] for r in body["read"]] == ["陈杰"]
    other = _client(api_client, personas.head).get(f"{API}/messages/{message.pk}/receipts/")
    assert other.status_code == 403 and other.json()["code"] == "receipt.not_sender"


def test_recall_over_http(personas: Any, group: Any, api_client: Any) -> None:
    message = send(personas.drafter2, group, "撤回我")
    response = _client(api_client, personas.drafter2).post(f"{API}/messages/{message.pk}/recall/")
    assert response.status_code == 200 and response.json()["body"] == "消息已撤回"
    again = api_client.post(f"{API}/messages/{message.pk}/recall/")
    assert again.status_code == 409 and again.json()["code"] == "message.already_recalled"


def test_group_create_and_direct_open(personas: Any, api_client: Any) -> None:
    client = _client(api_client, personas.head)
    created = client.post(f"{API}/conversations/", {"title": "督查专班", "member_ids": [personas.head3.pk]}, format="json")
    assert created.status_code == 201
    detail = client.get(f"{API}/conversations/{created.json()['id']}/").json()
    assert detail["my_role"] == "owner" and {m["name"] for m in detail["members"]} == {"陈杰", "吴昊"}
    direct = client.post(f"{API}/conversations/direct/", {"user_id": personas.staff.pk}, format="json").json()
    assert client.get(f"{API}/conversations/{direct['id']}/").json()["title"] == "何丽"
    missing = client.post(f"{API}/conversations/direct/", {"user_id": 10**9}, format="json")
    assert missing.status_code == 404


def test_attachment_upload_and_member_download(personas: Any, group: Any, api_client: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    client = _client(api_client, personas.drafter)
    url = f"{API}/conversations/{group.pk}/attachments/"
    response = client.post(url, {"client_id": new_client_id()}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "attachment.missing"
    upload = io.BytesIO(PDF)
    upload.name = "会议通知.pdf"
    response = client.post(url, {"client_id": new_client_id(), "file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    attachment = response.json()["message"]["attachment"]
    assert (attachment["name"], attachment["content_type"], attachment["size"]) == ("会议通知.pdf", "application/pdf", len(PDF))
    download = _client(api_client, personas.head).get(attachment["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf" and "attachment" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "data", "code", "status"),
    [
        ("假图片.png", b"<html><script>alert(1)</script></html>", "attachment.type_not_allowed", 415),
        ("脚本.html", b"<html></html>", "attachment.type_not_allowed", 415),
        ("改名.pdf", PNG, "attachment.type_not_allowed", 415),
        ("程序.exe", b"MZ\x90\x00", "attachment.type_not_allowed", 415),
        ("压缩包.docx", b"PK\x03\x04garbage", "attachment.type_not_allowed", 415),
        ("大文件.pdf", PDF + b"0" * 2048, "attachment.too_large", 413),
    ],
)
def test_attachment_rejections_store_nothing(
    personas: Any, group: Any, api_client: Any, settings: Any, tmp_path: Any, name: str, data: bytes, code: str, status: int
) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.ATTACHMENT_MAX_BYTES = 2048
    upload = io.BytesIO(data)
    upload.name = name
    response = _client(api_client, personas.drafter).post(
        f"{API}/conversations/{group.pk}/attachments/", {"client_id": new_client_id(), "file": upload}, format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Attachment.objects.exists() and not Message.objects.filter(conversation=group).exists()
    assert not any(tmp_path.rglob("*.*"))


def test_office_and_text_files_are_recognised_by_content() -> None:
    assert attachments.sniff_content_type("报告.docx", _docx()).startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    assert attachments.sniff_content_type("名单.txt", "张三\n李四".encode()) == "text/plain; charset=utf-8"
    assert attachments.sniff_content_type("照片.JPG", b"\xff\xd8\xff\xe0rest") == "image/jpeg"


def test_outsider_gets_404_on_every_http_path(personas: Any, group: Any, api_client: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    upload = io.BytesIO(PNG)
    upload.name = "图.png"
    attachment_message = attachments.attachment_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), name="图.png", data=PNG
    ).message
    message = send(personas.drafter, group, "内部")
    ding = services.ding_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="急", recipient_ids=[personas.head.pk]
    ).message.ding
    client = _client(api_client, personas.outsider)
    calls = [
        ("get", f"{API}/conversations/{group.pk}/", None),
        ("get", f"{API}/conversations/{group.pk}/messages/", None),
        ("post", f"{API}/conversations/{group.pk}/messages/", {"client_id": "o-1", "body": "hi"}),
        ("post", f"{API}/conversations/{group.pk}/read/", {"seq": 1}),
        ("post", f"{API}/conversations/{group.pk}/members/", {"user_ids": [personas.outsider.pk]}),
        (
            "post",
            f"{API}/conversations/{group.pk}/dings/",
            {"client_id": "o-2", "body": "急", "recipient_ids": [personas.head.pk]},
        ),
        ("get", f"{API}/messages/{message.pk}/receipts/", None),
        ("post", f"{API}/messages/{message.pk}/recall/", None),
        ("get", f"{API}/messages/{message.pk}/document/", None),
        ("get", f"{API}/attachments/{attachment_message.attachment_id}/download/", None),
        ("get", f"{API}/dings/{ding.pk}/", None),
        ("post", f"{API}/dings/{ding.pk}/confirm/", None),
        ("post", f"{API}/dings/{ding.pk}/cancel/", None),
    ]
    missing = client.get(f"{API}/conversations/{10**9}/messages/").json()
    for method, url, data in calls:
        response = getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)
        assert response.status_code == 404, url
        assert response.json() == missing, url
    upload_response = client.post(
        f"{API}/conversations/{group.pk}/attachments/", {"client_id": "o-3", "file": upload}, format="multipart"
    )
    assert upload_response.status_code == 404
    assert Message.objects.filter(conversation=group).count() == 3


def test_anonymous_is_refused(group: Any, api_client: Any) -> None:
    assert api_client.get(f"{API}/conversations/").status_code == 401
    assert api_client.get(f"{API}/conversations/{group.pk}/messages/").status_code == 401


def test_ding_over_http_shows_confirmations(personas: Any, group: Any, api_client: Any) -> None:
    sent = _client(api_client, personas.drafter).post(
        f"{API}/conversations/{group.pk}/dings/",
        {"client_id": new_client_id(), "body": "请确认", "recipient_ids": [personas.head.pk, personas.reviewer.pk]},
        format="json",
    )
    ding_id = sent.json()["message"]["ding"]["id"]
    confirmed = _client(api_client, personas.head).post(f"{API}/dings/{ding_id}/confirm/").json()
    assert [c["name"] for c in confirmed["confirmed"]] == ["陈杰"] and [p["name"] for p in confirmed["pending"]] == ["赵敏"]


def test_document_card_opens_only_for_viewers(personas: Any, group: Any, api_client: Any) -> None:
    from documents.services import document_create_draft

    document = document_create_draft(actor=personas.drafter, doc_type="notice", title="关于开展安全生产检查的通知")
    card = services.message_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="请阅", document_id=document.pk
    ).message
    allowed = _client(api_client, personas.head).get(f"{API}/messages/{card.pk}/document/")  # same division
    assert allowed.status_code == 200 and allowed.json()["title"] == "关于开展安全生产检查的通知"
    refused = _client(api_client, personas.reviewer).get(f"{API}/messages/{card.pk}/document/")  # member, not a viewer
    assert refused.status_code == 404 and refused.json()["code"] == "message.document_unavailable"
    with pytest.raises(services.NotFound):
        services.message_send(
            actor=personas.reviewer, conversation_id=group.pk, client_id=new_client_id(), body="", document_id=document.pk
        )


def test_document_card_for_unknown_document_is_refused(personas: Any, group: Any) -> None:
    with pytest.raises(services.NotFound) as exc:
        services.message_send(
            actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="", document_id=10**9
        )
    assert exc.value.code == "message.document_unavailable"
    assert not Message.objects.filter(conversation=group).exists()
