"""The REST API end to end: the whole outgoing flow to distribution and the incoming flow
to conclusion, each persona acting in turn; refusals and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from docx import Document as DocxDocument
from rest_framework.test import APIClient

from documents.docx.render import docx_to_text
from documents.models import Document, Step
from officehub.audit.models import AuditEntry
from officehub.directory.models import User
from officehub.workbench.models import TodoItem
from tests.documents import flow
from tests.documents.flow import dept, org

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(user: Any, path: str, data: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
    response = client_for(user).post(path, data or {}, format="json")
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_outgoing_flow_from_draft_to_distribution_then_incoming_to_conclusion(personas: Any) -> None:
    big_data = org("浙江省大数据发展管理局")
    created = post(personas.drafter, "/api/documents/", {
        "doc_type": "notice",
        "title": "关于开展政务数据共享专项检查的通知",
        "body": "一、检查范围\n省级各部门。\n二、时间安排\n（一）自查阶段。",
        "primary_recipient_ids": [big_data.pk],
        "countersign_department_ids": [dept("浙江省人民政府办公厅", "综合处").pk],
        "urgency": "urgent",
    }, status=201)
    doc_id = created["id"]
    base = f"/api/documents/{doc_id}/"
    assert created["status"] == "draft" and created["actions"] == ["edit", "submit", "share"]

    assert post(personas.drafter, base + "submit/")["status"] == "review"
    reviewed = post(personas.reviewer, base + "review/", {"approve": True, "opinion": "文字已核"})
    assert reviewed["status"] == "countersign"
    assert reviewed["current_holders"] == ["周强"]
    assert post(personas.head2, base + "countersign/", {"approve": True, "opinion": "同意"})["status"] == "sign_off"
    signed = post(personas.leader, base + "sign-off/", {"approve": True, "opinion": "同意印发"})
    assert signed["status"] == "recheck" and signed["signer"] == "刘洋" and signed["issued_on"]
    assert post(personas.reviewer2, base + "recheck/", {"approve": True})["status"] == "assign_number"
    numbered = post(personas.reviewer, base + "assign-number/")
    assert numbered["status"] == "seal"
    assert numbered["doc_number"].startswith("浙政办发〔") and numbered["doc_number"].endswith("〕1号")
    seal_request = post(
        personas.drafter, base + "seal-requests/", {"seal_id": flow.office_seal_id(), "reason": "印发"}, status=201
    )
    decided = post(personas.custodian, f"/api/documents/seal-requests/{seal_request['id']}/decide/", {"approve": True})
    assert decided["status"] == "approved"
    distributed = post(personas.reviewer, base + "distribute/")
    assert distributed["status"] == "distributed"
    assert [f["recipient_organisation"]["name"] for f in distributed["feedback"]] == ["浙江省大数据发展管理局"]

    # the DOCX is the standard layout with number and red header
    response = client_for(personas.drafter).get(base + "docx/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    text = docx_to_text(response.content)
    assert "浙江省人民政府办公厅文件" in text and numbered["doc_number"] in text and "关于开展政务数据共享专项检查的通知" in text

    # --- 收文 at the 大数据局 ---------------------------------------------------------
    office = personas.other_org_custodian  # fengxue: the 大数据局 office (reviewer role)
    inbox = client_for(office).get("/api/documents/?box=incoming").json()["results"]
    assert [item["title"] for item in inbox] == ["关于开展政务数据共享专项检查的通知"]
    incoming = f"/api/documents/{inbox[0]['id']}/"
    assert post(office, incoming + "receive/")["status"] == "register"
    registered = post(office, incoming + "register/", {"note": "加急件"})
    assert registered["status"] == "screen" and registered["chaser"] == "冯雪" and registered["deadline"]
    assert post(office, incoming + "screen/", {"accept": True})["status"] == "propose"
    leader = User.objects.get(username="weidong")
    proposed = post(office, incoming + "propose/", {"opinion": "建议数据资源处主办，办公室协办"})
    assert proposed["status"] == "instruct" and proposed["current_holders"] == ["卫东"]
    head = User.objects.get(username="chuyi")
    instructed = post(leader, incoming + "instruct/", {
        "opinion": "同意",
        "lead_department_id": dept("浙江省大数据发展管理局", "数据资源处").pk,
        "assisting_department_ids": [dept("浙江省大数据发展管理局", "办公室").pk],
        "reader_ids": [personas.outsider.pk],
    })
    assert instructed["status"] == "handle"
    # the lead cannot conclude while the assisting department has not handled it
    refused = client_for(head).post(incoming + "conclude/", {"reply": "已完成自查"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "document.assist_pending"
    post(office, incoming + "handle/", {"opinion": "已配合提供材料"})
    post(personas.outsider, incoming + "read/")
    concluded = post(head, incoming + "conclude/", {"reply": "已完成自查，未发现问题。"})
    assert concluded["status"] == "concluded"
    # the sender sees the reply
    source = client_for(personas.drafter).get(base).json()
    assert source["feedback"][0]["reply"] == "已完成自查，未发现问题。"

    timeline = client_for(head).get(incoming + "timeline/").json()
    kinds = [(s["kind"], s["state"]) for s in timeline["steps"]]
    assert kinds == [("receive", "done"), ("register", "done"), ("screen", "done"), ("propose", "done"),
                     ("instruct", "done"), ("handle", "done"), ("handle", "done"), ("circulate", "done")]
    assert [s["actor"] for s in timeline["steps"]] == ["冯雪", "冯雪", "冯雪", "冯雪", "卫东", "褚毅", "冯雪", "钱磊"]


def test_outsider_gets_the_same_404_as_for_a_missing_document(personas: Any) -> None:
    document = flow.to_review(personas)
    outsider = client_for(personas.outsider)
    for suffix in ("", "timeline/", "versions/", "docx/", "diff/?from=1&to=1", "versions/1/comments/"):
        hidden = outsider.get(f"/api/documents/{document.pk}/{suffix}")
        missing = outsider.get(f"/api/documents/999999/{suffix}")
        assert hidden.status_code == missing.status_code == 404, suffix
        assert hidden.json() == missing.json()
    for action in ("submit", "review", "countersign", "sign-off", "recheck", "assign-number", "distribute",
                   "receive", "register", "screen", "propose", "instruct", "handle", "read", "conclude", "remind"):
        hidden = outsider.post(f"/api/documents/{document.pk}/{action}/", {"approve": True, "accept": True,
                                                                          "opinion": "x", "reply": "x"}, format="json")
        assert hidden.status_code == 404, action
        assert hidden.json()["code"] == "not_found"
    assert Document.objects.get(pk=document.pk).status == "review"
    assert outsider.get("/api/documents/").json()["results"] == []


def test_missing_fields_are_refused_with_field_errors(personas: Any) -> None:
    response = client_for(personas.drafter).post("/api/documents/", {"title": "无文种"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "doc_type" in response.json()["extra"]["fields"]
    assert Document.objects.count() == 0


def test_unknown_recipients_are_refused_and_nothing_is_written(personas: Any) -> None:
    before = AuditEntry.objects.count()
    response = client_for(personas.drafter).post("/api/documents/", {
        "doc_type": "notice", "title": "关于××的通知", "primary_recipient_ids": [424242],
    }, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "document.unknown_recipient"
    assert "收文机关不存在" in response.json()["message"]
    assert Document.objects.count() == 0 and TodoItem.objects.count() == 0 and Step.objects.count() == 0
    assert AuditEntry.objects.count() == before


def test_wrong_state_answers_409_with_a_code(personas: Any) -> None:
    document = flow.draft(personas)
    response = client_for(personas.drafter).post(f"/api/documents/{document.pk}/distribute/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "document.invalid_transition"
    assert response.json()["extra"] == {"status": "draft", "action": "distribute"}


def test_not_the_holder_answers_403(personas: Any) -> None:
    document = flow.to_review(personas)
    response = client_for(personas.drafter).post(f"/api/documents/{document.pk}/review/", {"approve": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "document.not_assigned"


def test_classified_draft_is_refused_over_the_api(personas: Any) -> None:
    response = client_for(personas.drafter).post("/api/documents/", {
        "doc_type": "notice", "title": "关于××的通知", "classification": 3,
    }, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "document.classified_refused"


def test_edit_through_the_api_stores_a_version_and_diff(personas: Any) -> None:
    document = flow.draft(personas, body="请各单位认真落实。")
    client = client_for(personas.drafter)
    response = client.patch(f"/api/documents/{document.pk}/", {"body": "请各单位认真贯彻落实。"}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2
    diff = client.get(f"/api/documents/{document.pk}/diff/?from=1&to=2").json()
    assert [op for op in diff["body"] if op["op"] != "equal"] == [{"op": "insert", "text": "贯彻"}]
    assert "<ins>贯彻</ins>" in diff["body_html"]
    comment = client.post(
        f"/api/documents/{document.pk}/versions/2/comments/", {"text": "措辞可以", "quote": "贯彻"}, format="json"
    )
    assert comment.status_code == 201
    listed = client.get(f"/api/documents/{document.pk}/versions/2/comments/").json()
    assert [(c["author"], c["text"], c["quote"]) for c in listed] == [("王芳", "措辞可以", "贯彻")]
    bad = client.get(f"/api/documents/{document.pk}/diff/?from=1&to=9")
    assert bad.status_code == 404


def test_docx_import_takes_title_and_body_and_refuses_other_files(personas: Any) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    source = DocxDocument()
    source.add_paragraph("关于加强值班工作的通知", style="Title")
    source.add_paragraph("各单位：")
    source.add_paragraph("请加强节日值班。")
    buffer = io.BytesIO()
    source.save(buffer)
    client = client_for(personas.drafter)
    upload = SimpleUploadedFile("a.docx", buffer.getvalue())
    response = client.post("/api/documents/import-docx/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {"title": "关于加强值班工作的通知", "body": "各单位：\n请加强节日值班。"}
    not_a_zip = SimpleUploadedFile("a.docx", b"not a zip")
    response = client.post("/api/documents/import-docx/", {"file": not_a_zip}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "docx.not_docx"


def test_every_action_is_in_the_openapi_schema(personas: Any) -> None:
    response = client_for(personas.drafter).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for action in ("submit", "review", "countersign", "sign-off", "recheck", "assign-number", "seal-requests",
                   "distribute", "receive", "register", "screen", "propose", "instruct", "handle", "read",
                   "conclude", "remind", "share", "timeline", "versions", "diff", "docx"):
        assert f"/api/documents/{{document_id}}/{action}/" in paths, action
    assert "/api/documents/seal-requests/{seal_request_id}/decide/" in paths
    assert "/api/documents/import-docx/" in paths


def test_inbox_list_query_count_does_not_grow_with_documents(personas: Any, django_assert_max_num_queries: Any) -> None:
    flow.distributed(personas)
    flow.distributed(personas)
    client = client_for(personas.other_org_custodian)
    with django_assert_max_num_queries(12):
        response = client.get("/api/documents/?box=incoming")
    assert response.json()["count"] == 2


def test_share_remind_versions_and_overdue_endpoints(personas: Any) -> None:
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        document = flow.to_review(personas, urgency="extra_urgent")
    base = f"/api/documents/{document.pk}/"
    shared = post(personas.drafter, base + "share/", {"user_ids": [personas.staff.pk]})
    assert shared["id"] == document.pk
    assert client_for(personas.staff).get(base).status_code == 200
    bad = client_for(personas.drafter).post(base + "share/", {"user_ids": []}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"

    post(personas.drafter, base + "remind/", {"message": "请今天办结"})
    refused = client_for(personas.staff).post(base + "remind/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "document.not_chaser"

    versions = client_for(personas.reviewer).get(base + "versions/").json()
    assert [(v["number"], v["author"]) for v in versions] == [(1, "王芳")]

    overdue = client_for(personas.reviewer).get("/api/documents/overdue/").json()
    assert [(row["document_id"], row["kind"]) for row in overdue] == [(document.pk, "review")]
    assert client_for(personas.outsider).get("/api/documents/overdue/").json() == []
    timeline = client_for(personas.drafter).get(base + "timeline/").json()
    assert timeline["steps"][-1]["overdue"] is True and timeline["steps"][-1]["reminders"] == 1


def test_list_filters_by_text_type_and_status(personas: Any) -> None:
    notice = flow.to_review(personas)
    minutes = flow.draft(personas, doc_type="minutes", title="专题会议纪要")
    client = client_for(personas.drafter)

    def ids(query: str) -> list[int]:
        return [row["id"] for row in client.get(f"/api/documents/?{query}").json()["results"]]

    assert sorted(ids("")) == sorted([notice.pk, minutes.pk])
    assert ids("q=会议纪要") == [minutes.pk]
    assert ids("doc_type=notice") == [notice.pk]
    assert ids("status=draft") == [minutes.pk]
    assert sorted(ids("status=nonsense")) == sorted([notice.pk, minutes.pk])
    page = page_client(personas.drafter).get("/documents/?q=会议纪要").content.decode()
    assert "专题会议纪要" in page and notice.title not in page


def page_client(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
