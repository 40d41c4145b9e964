"""Server-rendered pages: only the actions the user may take, forms that call the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from documents.models import Document
from tests.documents import flow
from tests.documents.flow import org

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_new_page_offers_the_template_of_the_chosen_doc_type(personas: Any) -> None:
    page = client_for(personas.drafter).get("/documents/new/?doc_type=request")
    html = page.content.decode()
    assert page.status_code == 200
    assert "关于××的请示" in html and "妥否，请批示。" in html
    assert 'value="2"' not in html  # 秘密 is not offered off a secret network


def test_drafting_through_the_page_creates_the_draft(personas: Any) -> None:
    response = client_for(personas.drafter).post("/documents/new/", {
        "doc_type": "notice", "title": "关于春节值班安排的通知", "body": "一、值班时间\n二、值班要求",
        "primary_recipient_ids": [str(org("浙江省财政厅").pk)], "urgency": "normal", "classification": "1",
    })
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/documents/{document.pk}/"
    assert (document.title, document.drafter) == ("关于春节值班安排的通知", personas.drafter)


def test_bad_input_on_the_page_shows_the_chinese_message_and_writes_nothing(personas: Any) -> None:
    response = client_for(personas.drafter).post("/documents/new/", {
        "doc_type": "notice", "title": "关于××的通知", "classification": "3", "urgency": "normal",
    })
    assert response.status_code == 400
    assert "涉密网络" in response.content.decode()
    assert Document.objects.count() == 0


def test_detail_shows_only_the_actions_of_the_current_user(personas: Any) -> None:
    document = flow.to_review(personas)
    drafter_page = client_for(personas.drafter).get(f"/documents/{document.pk}/").content.decode()
    reviewer_page = client_for(personas.reviewer).get(f"/documents/{document.pk}/").content.decode()
    assert 'id="form-review"' in reviewer_page and 'id="form-submit"' not in reviewer_page
    assert 'id="form-review"' not in drafter_page and 'id="no-actions"' not in drafter_page  # the drafter may 催办
    assert 'id="form-remind"' in drafter_page
    colleague_page = client_for(personas.drafter2).get(f"/documents/{document.pk}/").content.decode()
    assert 'id="no-actions"' in colleague_page


def test_outsider_gets_404_on_every_page(personas: Any) -> None:
    document = flow.to_review(personas)
    client = client_for(personas.outsider)
    for suffix in ("", "timeline/", "diff/", "docx/", "edit/"):
        assert client.get(f"/documents/{document.pk}/{suffix}").status_code == 404, suffix
    assert client.post(f"/documents/{document.pk}/act/review/", {"decision": "approve"}).status_code == 404
    assert Document.objects.get(pk=document.pk).status == "review"


def test_action_forms_post_to_the_services(personas: Any) -> None:
    document = flow.to_review(personas)
    client = client_for(personas.reviewer)
    response = client.post(f"/documents/{document.pk}/act/review/", {"decision": "return", "opinion": ""}, follow=True)
    assert "退回时请填写退回理由" in response.content.decode()
    assert Document.objects.get(pk=document.pk).status == "review"
    client.post(f"/documents/{document.pk}/act/review/", {"decision": "approve", "opinion": "同意"})
    assert Document.objects.get(pk=document.pk).status == "sign_off"


def test_lists_timeline_and_diff_pages_render(personas: Any) -> None:
    document = flow.distributed(personas)
    drafter = client_for(personas.drafter)
    assert document.title in drafter.get("/documents/").content.decode()
    timeline = drafter.get(f"/documents/{document.pk}/timeline/").content.decode()
    for label in ("拟稿", "核稿", "签发", "复核", "编号", "用印", "分发"):
        assert label in timeline
    inbox = client_for(personas.other_org_custodian).get("/documents/?box=incoming").content.decode()
    assert document.title in inbox
    flow.act(__import__("documents.services", fromlist=["x"]).document_comment_add, document_id=document.pk,
             actor=personas.drafter, version_number=1, text="终稿")
    diff = drafter.get(f"/documents/{document.pk}/diff/?from=1&to=1")
    assert diff.status_code == 200 and "终稿" in diff.content.decode()
    overdue = client_for(personas.reviewer).get("/documents/?box=overdue")
    assert overdue.status_code == 200


def test_a_notice_goes_from_draft_to_distribution_through_the_pages(personas: Any) -> None:
    """Each role acts in turn on the detail page; recipients then find it in their 收文."""
    from documents.models import SealRequest
    from officehub.directory.models import User

    seal_id = flow.office_seal_id()
    drafter = client_for(personas.drafter)
    drafter.post("/documents/new/", {
        "doc_type": "notice", "title": "关于开展安全生产大检查的通知", "body": "一、检查内容\n二、工作要求",
        "primary_recipient_ids": [str(org("浙江省大数据发展管理局").pk)], "urgency": "normal", "classification": "1",
    })
    document = Document.objects.get()
    url = f"/documents/{document.pk}/"

    def act_on_page(user: Any, action: str, data: dict[str, Any], expect: str) -> None:
        client = client_for(user)
        page = client.get(url).content.decode()
        assert f'id="form-{action}"' in page, (action, user.username)
        response = client.post(f"{url}act/{action}/", data, follow=True)
        assert response.status_code == 200
        assert Document.objects.get(pk=document.pk).status == expect, response.content.decode()[-2000:]

    act_on_page(personas.drafter, "submit", {}, "review")
    act_on_page(personas.reviewer, "review", {"decision": "approve", "opinion": "同意"}, "sign_off")
    act_on_page(personas.leader, "sign_off", {"decision": "approve", "opinion": ""}, "recheck")
    act_on_page(personas.reviewer2, "recheck", {"decision": "pass"}, "assign_number")
    act_on_page(personas.reviewer, "assign_number", {}, "seal")
    act_on_page(personas.drafter, "seal_request", {"seal_id": str(seal_id), "reason": "印发"}, "seal")
    request = SealRequest.objects.get()
    act_on_page(personas.custodian, "seal_decide", {"seal_request_id": str(request.pk), "decision": "approve"}, "distribute")
    act_on_page(personas.reviewer, "distribute", {}, "distributed")

    timeline = drafter.get(f"{url}timeline/").content.decode()
    assert all(name in timeline for name in ("王芳", "赵敏", "刘洋", "孙丽", "黄燕"))
    docx = drafter.get(f"{url}docx/")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"

    office = client_for(personas.other_org_custodian)
    inbox = office.get("/documents/?box=incoming").content.decode()
    assert "关于开展安全生产大检查的通知" in inbox
    copy = Document.objects.get(direction="incoming")
    copy_url = f"/documents/{copy.pk}/"
    for action, data, expect in (
        ("receive", {}, "register"), ("register", {"note": ""}, "screen"), ("screen", {"decision": "accept"}, "propose"),
        ("propose", {"opinion": "请局领导批示"}, "instruct"),
    ):
        office.post(f"{copy_url}act/{action}/", data)
        assert Document.objects.get(pk=copy.pk).status == expect, action
    leader = client_for(User.objects.get(username="weidong"))
    page = leader.get(copy_url).content.decode()
    assert 'id="form-instruct"' in page and "数据资源处" in page
    leader.post(f"{copy_url}act/instruct/", {"opinion": "请数据资源处办理",
                                            "lead_department_id": str(flow.dept("浙江省大数据发展管理局", "数据资源处").pk)})
    head = client_for(User.objects.get(username="chuyi"))
    head.post(f"{copy_url}act/conclude/", {"reply": "已组织检查"})
    assert Document.objects.get(pk=copy.pk).status == "concluded"
    assert "已组织检查" in drafter.get(url).content.decode()  # the sender sees the reply


def test_docx_import_on_the_drafting_page(personas: Any) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from docx import Document as DocxDocument

    source = DocxDocument()
    source.add_paragraph("关于调整办公时间的通知", style="Title")
    source.add_paragraph("自下周一起执行夏季作息时间。")
    buffer = io.BytesIO()
    source.save(buffer)
    client = client_for(personas.drafter)
    page = client.post("/documents/new/", {"doc_type": "notice", "import": "1", "title": "", "body": "",
                                           "docx": SimpleUploadedFile("x.docx", buffer.getvalue())})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="关于调整办公时间的通知"' in html and "自下周一起执行夏季作息时间。" in html
    bad = client.post("/documents/new/", {"doc_type": "notice", "import": "1",
                                          "docx": SimpleUploadedFile("x.docx", b"%PDF-1.4")})
    assert bad.status_code == 400 and Document.objects.count() == 0


def test_sharing_from_the_page(personas: Any) -> None:
    document = flow.draft(personas)
    client = client_for(personas.drafter)
    response = client.post(f"/documents/{document.pk}/act/share/", {"usernames": "heli, nosuchuser"}, follow=True)
    assert "用户不存在：nosuchuser" in response.content.decode()
    assert not document.shared_with.exists()
    client.post(f"/documents/{document.pk}/act/share/", {"usernames": "heli"})
    assert list(document.shared_with.values_list("username", flat=True)) == ["heli"]
    assert client_for(personas.staff).get(f"/documents/{document.pk}/").status_code == 200


def test_archive_link_is_offered_to_the_organisations_archivist_once_distributed(personas: Any) -> None:
    document = flow.distributed(personas)
    page = client_for(personas.archivist).get(f"/documents/{document.pk}/").content.decode()
    assert 'id="archive-document"' in page and "/archives/pending/" in page
    # Not for staff without the archivist role, nor for another organisation's archivist.
    assert 'id="archive-document"' not in client_for(personas.reviewer).get(f"/documents/{document.pk}/").content.decode()
    other = client_for(personas.other_org_archivist).get(f"/documents/{document.pk}/")
    assert 'id="archive-document"' not in other.content.decode()


def test_no_archive_link_before_distribution(personas: Any) -> None:
    document = flow.to_distribute(personas)
    page = client_for(personas.archivist).get(f"/documents/{document.pk}/").content.decode()
    assert 'id="archive-document"' not in page
