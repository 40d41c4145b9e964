"""Bad input to the document API and pages is a coded 400 (or the page's error message),
never a 500: NUL bytes, which PostgreSQL text cannot hold; digits that ``str.isdigit``
accepts but ``int`` refuses ("²") or that no bigint holds; impossible dates; values a
model field refuses (an unknown 紧急程度, an over-long 保密期限)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from documents import services
from documents.models import Document, Reminder
from documents.parsing import parse_id
from officehub.errors import ApplicationError
from tests.documents import flow
from tests.documents.flow import act, org
from tests.documents.test_incoming import at, people  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def api_for(api_client: Any, user: Any) -> Any:
    api_client.force_authenticate(user)
    api_client.raise_request_exception = False
    return api_client


def assert_coded(response: Any, status: int = 400, code: str = "document.invalid") -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"code", "message", "extra"} and body["code"] == code
    return body


def page_messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_parse_id_accepts_only_ascii_digits_that_fit_a_bigint() -> None:
    assert parse_id(" 42 ") == 42
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
    for raw in ["", "²", "١", "-1", "1.0", "1e3", str(2**63), "1" * 5000, "\x00", "4\x002"]:
        assert parse_id(raw) is None, raw


# --- API --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["q", "doc_type", "status"])
def test_a_nul_in_a_list_filter_is_a_coded_400(api_client: Any, personas: Any, field: str) -> None:
    flow.draft(personas)
    # Refused at the edge (officehub/middleware.py) before any filter reaches PostgreSQL.
    body = assert_coded(
        api_for(api_client, personas.drafter).get("/api/documents/", {field: "通知\x00"}), code="request.nul_character"
    )
    assert body["extra"]["where"] == "query"


@pytest.mark.parametrize("raw", ["²", "1" * 5000, str(2**63), "-1", ""])
def test_a_version_number_that_is_not_a_plain_number_is_a_coded_400(api_client: Any, personas: Any, raw: str) -> None:
    document = flow.draft(personas)
    response = api_for(api_client, personas.drafter).get(f"/api/documents/{document.pk}/diff/", {"from": raw, "to": "1"})
    assert assert_coded(response)["extra"]["field"] == "from"


# --- pages --------------------------------------------------------------------------------


def test_a_nul_in_the_list_page_filters_is_a_400(personas: Any) -> None:
    for params in ({"q": "\x00"}, {"q": "a\x00b", "doc_type": "notice"}, {"status": "draft\x00"}):
        assert client_for(personas.drafter).get("/documents/", params).status_code == 400


def new_form(**overrides: str) -> dict[str, Any]:
    return {
        "doc_type": "notice", "title": "关于春节值班安排的通知", "body": "一、值班时间",
        "primary_recipient_ids": [str(org("浙江省财政厅").pk)], "urgency": "normal", "classification": "1",
        **overrides,
    }


@pytest.mark.parametrize("field", ["title", "body", "note", "secrecy_period", "attachments"])
def test_a_nul_in_a_drafting_form_is_a_400_and_nothing_is_stored(personas: Any, field: str) -> None:
    client = client_for(personas.drafter)
    assert client.post("/documents/new/", new_form(**{field: "值班\x00安排"})).status_code == 400
    assert not Document.objects.exists()
    document = flow.draft(personas)
    assert client.post(f"/documents/{document.pk}/edit/", new_form(**{field: "x\x00"})).status_code == 400
    assert flow.refresh(document).version == 1


@pytest.mark.parametrize(("field", "value"), [
    ("urgency", "-1"), ("urgency", "²"), ("secrecy_period", "长" * 30), ("copy_number", "²²²²²²"),
    ("classification", "²"), ("primary_recipient_ids", "²"), ("primary_recipient_ids", str(2**63)),
    ("cc_recipient_ids", "1" * 5000),
])
def test_a_drafting_form_with_a_value_the_model_refuses_shows_the_error(personas: Any, field: str, value: str) -> None:
    client = client_for(personas.drafter)
    response = client.post("/documents/new/", new_form(**{field: value}))
    assert response.status_code == 400
    assert not Document.objects.exists()
    document = flow.draft(personas)
    response = client.post(f"/documents/{document.pk}/edit/", new_form(**{field: value}))
    assert response.status_code == 400
    stored = flow.refresh(document)
    assert (stored.urgency, stored.secrecy_period, stored.copy_number) == ("normal", "", "")


def test_the_services_refuse_what_a_page_would_have_sent(personas: Any) -> None:
    for values in ({"title": "通知\x00"}, {"body": "\x00"}, {"urgency": "soon"}, {"secrecy_period": "长" * 30},
                   {"copy_number": "²²²²²²"}, {"attachments": [{"title": "附件\x00"}]}):
        with pytest.raises(ApplicationError) as caught:
            act(services.document_create_draft, **{"actor": personas.drafter, "doc_type": "notice", "title": "通知",
                                                   **values})
        assert (caught.value.code, caught.value.status) == ("document.invalid", 400), values
    document = flow.draft(personas)
    with pytest.raises(ApplicationError) as caught:
        act(services.document_update, document_id=document.pk, actor=personas.drafter,
            fields=services.DraftFields(body="正文\x00"))
    assert caught.value.code == "document.invalid"
    assert flow.refresh(document).body == document.body


@pytest.mark.parametrize(("action", "form"), [
    ("remind", {"message": "请\x00尽快"}),
    ("share", {"usernames": "\x00"}),
    ("comment", {"version": "1", "text": "批注\x00"}),
    ("submit", {"x\x00": "1"}),
])
def test_a_nul_in_an_action_form_is_a_400_and_changes_nothing(personas: Any, action: str, form: dict[str, str]) -> None:
    document = flow.to_review(personas)
    response = client_for(personas.drafter).post(f"/documents/{document.pk}/act/{action}/", form)
    assert response.status_code == 400
    assert not Reminder.objects.exists()
    stored = flow.refresh(document)
    assert stored.status == "review" and not stored.shared_with.exists()


@pytest.mark.parametrize("raw", ["²", str(2**63), "1" * 5000])
def test_an_id_field_that_is_not_a_plain_number_is_the_pages_error_message(personas: Any, raw: str) -> None:
    document = flow.to_seal(personas)
    client = client_for(personas.drafter)
    response = client.post(f"/documents/{document.pk}/act/seal_request/", {"seal_id": raw, "reason": "印发"})
    assert response.status_code == 302 and page_messages(response) == ["选择的项目无效。"]
    assert not flow.refresh(document).seal_requests.exists()
    request = act(services.seal_request_create, document_id=document.pk, actor=personas.drafter,
                  seal_id=flow.office_seal_id(), reason="印发")
    response = client_for(personas.custodian).post(
        f"/documents/{document.pk}/act/seal_decide/", {"seal_request_id": raw, "decision": "approve"}
    )
    assert response.status_code == 302 and page_messages(response) == ["选择的项目无效。"]
    request.refresh_from_db()
    assert request.status == "pending" and flow.refresh(document).status == "seal"
    review = flow.to_review(personas)
    response = client_for(personas.reviewer).post(
        f"/documents/{review.pk}/act/review/", {"decision": "approve", "set_countersign": "1", "countersign_department_ids": raw}
    )
    assert response.status_code == 302 and page_messages(response) == ["选择的项目无效。"]
    assert flow.refresh(review).status == "review"


@pytest.mark.parametrize("deadline", ["2026-02-30T10:00", "2026-13-01T10:00", "2026-01-01T25:00", "明天"])
def test_an_impossible_deadline_is_the_pages_error_message(people: Any, deadline: str) -> None:  # noqa: F811
    document = at(people, "register")
    response = client_for(people.office).post(f"/documents/{document.pk}/act/register/", {"deadline": deadline})
    assert response.status_code == 302 and page_messages(response) == ["办理时限格式不正确。"]
    assert flow.refresh(document).status == "register"
    response = client_for(people.office).post(f"/documents/{document.pk}/act/register/", {"chaser_id": "²"})
    assert response.status_code == 302 and page_messages(response) == ["选择的项目无效。"]


@pytest.mark.parametrize("raw", ["²", "1" * 5000, str(2**63)])
def test_a_diff_page_with_a_version_that_is_not_a_plain_number_is_a_404(personas: Any, raw: str) -> None:
    document = flow.draft(personas)
    response = client_for(personas.drafter).get(f"/documents/{document.pk}/diff/", {"from": raw, "to": "1"})
    assert response.status_code == 404
