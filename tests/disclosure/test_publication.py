"""主动公开 documents reach the public portal when — and only when — they are distributed;
nothing else ever does (probed by id, by search and by listing, anonymously), and a
withdrawal takes a document off at once, audited."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from disclosure import services
from disclosure.models import Publication, PublicationState
from documents import services as document_services
from documents.models import Disclosure
from officehub.audit.models import AuditEntry
from officehub.directory.models import Clearance
from officehub.errors import NotFound
from tests.disclosure.conftest import act, distributed, drain
from tests.documents import flow

pytestmark = [pytest.mark.django_db, pytest.mark.elasticsearch]


def anonymous_sees(document_id: int, title: str) -> dict[str, bool]:
    """Every way an anonymous visitor could reach a document: its page, its file, the
    public API, the listing and a search for its exact title (page and API)."""
    client = Client()
    listing = client.get("/gk/").content.decode()
    searched = client.get("/gk/", {"q": f"“{title}”"}).content.decode()
    api_search = client.get("/api/gk/documents/", {"q": f"“{title}”"}).json()
    return {
        "page": client.get(f"/gk/documents/{document_id}/").status_code == 200,
        "file": client.get(f"/gk/documents/{document_id}/file/").status_code == 200,
        "api": client.get(f"/api/gk/documents/{document_id}/").status_code == 200,
        "listing": f'data-document-id="{document_id}"' in listing,
        "search": f'data-document-id="{document_id}"' in searched,
        "api_search": any(hit["document_id"] == document_id for hit in api_search["hits"]),
    }


NOWHERE = dict.fromkeys(["page", "file", "api", "listing", "search", "api_search"], False)
EVERYWHERE = dict.fromkeys(NOWHERE, True)


def test_a_proactive_document_is_published_once_distributed_and_not_before(personas, portal_index):
    title = "关于公布2026年省级政务服务事项目录的通知"
    document = flow.to_numbering(personas, title=title, classification=Clearance.PUBLIC, disclosure="proactive",
                                 needs_seal=False)
    act(document_services.document_assign_number, document_id=document.pk, actor=personas.reviewer)
    drain()
    # Numbered, waiting for 分发: not public yet, however it is asked for.
    assert anonymous_sees(document.pk, title) == NOWHERE
    assert not Publication.objects.filter(document=document).exists()

    act(document_services.document_distribute, document_id=document.pk, actor=personas.reviewer)
    publication = Publication.objects.get(document=document)
    assert publication.state == PublicationState.PUBLISHED
    assert (publication.title, publication.doc_number, publication.issuer_name) == (
        title, flow.refresh(document).doc_number, "浙江省人民政府办公厅"
    )
    assert publication.issued_on == flow.refresh(document).issued_on and publication.year == publication.issued_on.year
    assert drain() == 1
    assert anonymous_sees(document.pk, title) == EVERYWHERE
    assert AuditEntry.objects.filter(action="disclosure.published", target_id=str(publication.pk)).exists()

    page = Client().get(f"/gk/documents/{document.pk}/").content.decode()
    assert title in page and publication.doc_number in page and "2026" in page
    assert "各地各部门要切实加强领导" in page  # the text
    api = Client().get(f"/api/gk/documents/{document.pk}/").json()
    assert api["doc_number"] == publication.doc_number and api["doc_type_label"] == "通知"
    assert api["file_url"] == f"/gk/documents/{document.pk}/file/"


@pytest.mark.parametrize("disclosure", [Disclosure.ON_REQUEST, Disclosure.WITHHELD])
def test_on_request_and_withheld_documents_never_appear(personas, portal_index, disclosure):
    title = f"关于{disclosure}测试事项的函"
    document = distributed(personas, disclosure=disclosure, title=title, doc_type="letter")
    assert document.status == "distributed"
    drain()
    assert not Publication.objects.filter(document=document).exists()
    assert anonymous_sees(document.pk, title) == NOWHERE
    # Nor its incoming copies, nor an id that does not exist: the same 404.
    for copy in document.incoming_copies.all():
        assert Client().get(f"/gk/documents/{copy.pk}/").status_code == 404
    missing = Client().get("/gk/documents/999999999/")
    hidden = Client().get(f"/gk/documents/{document.pk}/")
    assert missing.status_code == hidden.status_code == 404
    assert missing.content == hidden.content
    assert Client().get("/api/gk/documents/999999999/").json() == Client().get(f"/api/gk/documents/{document.pk}/").json()


def test_an_internal_document_cannot_be_marked_proactive(personas):
    with pytest.raises(Exception) as info:
        flow.draft(personas, disclosure="proactive", classification=Clearance.INTERNAL)
    assert getattr(info.value, "code", "") == "document.disclosure_not_public"


def test_the_default_is_not_to_publish(personas, portal_index):
    document = flow.draft(personas)
    assert document.disclosure == Disclosure.WITHHELD


def test_disclosure_is_set_in_the_api_and_changes_only_until_sign_off(personas, api_client):
    from tests.documents.flow import org

    api_client.force_authenticate(personas.drafter)
    created = api_client.post("/api/documents/", {
        "doc_type": "notice", "title": "关于开展政务公开工作的通知", "body": "各单位：现将有关事项通知如下。",
        "classification": 0, "disclosure": "on_request", "needs_seal": False,
        "primary_recipient_ids": [org("浙江省大数据发展管理局").pk],
    }, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["disclosure"] == "on_request" and created.json()["disclosure_label"] == "依申请公开"
    document_id = created.json()["id"]
    assert api_client.patch(f"/api/documents/{document_id}/", {"disclosure": "proactive"}, format="json").json()[
        "disclosure"] == "proactive"
    # Making it 内部 while it is 主动公开 is refused, like the reverse.
    refused = api_client.patch(f"/api/documents/{document_id}/", {"classification": 1}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "document.disclosure_not_public"
    act(document_services.document_submit, document_id=document_id, actor=personas.drafter)
    # At 核稿 the reviewer may still change it.
    api_client.force_authenticate(personas.reviewer)
    assert api_client.patch(f"/api/documents/{document_id}/", {"disclosure": "withheld"}, format="json").status_code == 200
    act(document_services.document_review, document_id=document_id, actor=personas.reviewer, approve=True)
    act(document_services.document_sign_off, document_id=document_id, actor=personas.leader, approve=True)
    # Signed off: at 复核 the 公开属性 is fixed.
    refused = api_client.patch(f"/api/documents/{document_id}/", {"disclosure": "proactive"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "document.invalid_transition"
    assert flow.refresh(flow.Document.objects.get(pk=document_id)).disclosure == "withheld"
    bad = api_client.post("/api/documents/", {"doc_type": "notice", "title": "x", "disclosure": "secret"}, format="json")
    assert bad.status_code == 400


def test_the_detail_page_and_draft_form_show_the_disclosure(personas, client):
    document = flow.draft(personas, disclosure="on_request", classification=Clearance.PUBLIC)
    client.force_login(personas.drafter)
    assert 'data-disclosure="on_request">依申请公开<' in client.get(f"/documents/{document.pk}/").content.decode()
    form = client.get("/documents/new/").content.decode()
    assert 'name="disclosure"' in form and '<option value="withheld" selected>不予公开</option>' in form
    response = client.post("/documents/new/", {
        "doc_type": "notice", "title": "关于网页拟稿公开属性的通知", "body": "正文", "classification": "0",
        "disclosure": "proactive", "urgency": "normal",
    })
    assert response.status_code == 302
    assert flow.Document.objects.get(title="关于网页拟稿公开属性的通知").disclosure == "proactive"


def test_a_rolled_back_distribution_publishes_nothing(personas):
    document = flow.to_numbering(personas, classification=Clearance.PUBLIC, disclosure="proactive", needs_seal=False)
    act(document_services.document_assign_number, document_id=document.pk, actor=personas.reviewer)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        document_services.document_distribute(document_id=document.pk, actor=personas.reviewer)
        assert Publication.objects.filter(document=document).exists()  # inside: written with it
        raise Abort
    assert not Publication.objects.filter(document=document).exists()
    assert flow.refresh(document).status == "distribute"


def test_withdrawal_hides_the_document_at_once_and_is_audited(personas, portal_index, api_client):
    title = "关于调整部分行政事业性收费标准的通知"
    document = distributed(personas, title=title)
    drain()
    assert anonymous_sees(document.pk, title) == EVERYWHERE
    publication = Publication.objects.get(document=document)

    # Not the drafter, not another organisation's office: the same 404 as a missing id.
    for outsider in (personas.drafter, personas.other_org_custodian):
        api_client.force_authenticate(outsider)
        refused = api_client.post(f"/api/disclosure/publications/{publication.pk}/withdraw/", {"reason": "x"}, format="json")
        assert refused.status_code in (403, 404)
    api_client.force_authenticate(personas.reviewer)  # the issuer's office
    missing_reason = api_client.post(f"/api/disclosure/publications/{publication.pk}/withdraw/", {"reason": " "},
                                     format="json")
    assert missing_reason.status_code == 400
    done = api_client.post(f"/api/disclosure/publications/{publication.pk}/withdraw/",
                           {"reason": "收费标准另行发布"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "withdrawn"
    # Before the index learns of it the database already refuses it everywhere …
    assert anonymous_sees(document.pk, title) == NOWHERE
    # … and after the drain the index no longer holds it either.
    assert drain() == 1
    from disclosure.index import alias_name
    from search import es

    assert es.client().count(index=alias_name(), query={"term": {"publication_id": publication.pk}})["count"] == 0
    entry = AuditEntry.objects.get(action="disclosure.withdrawn", target_id=str(publication.pk))
    assert entry.actor_id == personas.reviewer.pk and entry.data["reason"] == "收费标准另行发布"
    again = api_client.post(f"/api/disclosure/publications/{publication.pk}/withdraw/", {"reason": "再次"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "publication.invalid_transition"


def test_withdrawal_page_and_staff_list(personas, portal_index, client):
    document = distributed(personas, title="关于印发政务公开工作要点的通知")
    publication = Publication.objects.get(document=document)
    client.force_login(personas.staff)  # no office role
    assert client.get("/disclosure/publications/").status_code == 403
    assert client.post(f"/disclosure/publications/{publication.pk}/withdraw/", {"reason": "x"}).status_code == 404
    client.force_login(personas.reviewer)
    page = client.get("/disclosure/publications/").content.decode()
    assert f'data-publication-id="{publication.pk}"' in page
    client.post(f"/disclosure/publications/{publication.pk}/withdraw/", {"reason": "内容有误"})
    assert Publication.objects.get(pk=publication.pk).state == PublicationState.WITHDRAWN


def test_withdraw_service_refuses_outsiders_with_not_found(personas):
    document = distributed(personas)
    publication = Publication.objects.get(document=document)
    with pytest.raises(NotFound), transaction.atomic():
        services.publication_withdraw(publication_id=publication.pk, actor=personas.city_reviewer, reason="x")


def test_the_issued_copy_is_downloaded_from_the_sealing_record(personas, portal_index):
    document = distributed(personas, sealed=True, title="关于加强政务公开平台建设的通知")
    assert document.seal_record_id is not None
    drain()
    response = Client().get(f"/gk/documents/{document.pk}/file/")
    assert response.status_code == 200
    record = document.seal_record
    assert record is not None
    # The signed PDF, byte for byte as it was sealed (its signature verifies for anyone).
    assert record.signed_pdf is not None
    assert response["Content-Type"] == "application/pdf" and response.content == bytes(record.signed_pdf)
    assert "attachment" in response["Content-Disposition"]


def test_before_anything_is_published_the_portal_answers_empty_and_not_degraded(personas, portal_index):
    # A new deployment: no portal index exists until the first publication is drained.
    # Search answers "nothing found", not "the search service is down".
    response = Client().get("/api/gk/documents/", {"q": "政务公开"})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["degraded"], body["notice"]) == (0, False, "")
    page = Client().get("/gk/", {"q": "政务公开"})
    assert page.status_code == 200 and "暂时不可用" not in page.content.decode()
