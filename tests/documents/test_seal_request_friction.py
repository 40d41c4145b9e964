"""What a drafter meets when filing a 用印申请: the seals they may name, the true reason a
seal cannot be used, and 主送/抄送 kept in the order entered."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from documents import selectors, services
from documents.docx.render import docx_to_text
from officehub.errors import ApplicationError
from seals.services import seal_revoke, seal_suspend
from tests.documents import flow
from tests.documents.flow import act, org

pytestmark = pytest.mark.django_db


def test_an_api_drafter_finds_the_usable_seals_to_name(personas: Any, api_client: Any) -> None:
    document = flow.to_seal(personas)
    seal_id = flow.office_seal_id()
    api_client.force_authenticate(personas.drafter)
    options = api_client.get(f"/api/documents/{document.pk}/seal-options/").json()
    assert [o["id"] for o in options] == [seal_id] and options[0]["name"].endswith("公章")
    api_client.force_authenticate(personas.city_drafter)  # cannot see the document
    assert api_client.get(f"/api/documents/{document.pk}/seal-options/").status_code == 404


@pytest.mark.parametrize(("verb", "code"), [("suspend", "seal.suspended"), ("revoke", "seal.revoked")])
def test_a_suspended_or_revoked_seal_is_refused_with_its_true_reason(personas: Any, verb: str, code: str) -> None:
    document = flow.to_seal(personas)
    seal_id = flow.office_seal_id()
    assert seal_id is not None
    with transaction.atomic():
        if verb == "suspend":
            seal_suspend(actor=personas.admin, seal_id=seal_id, note="送检")
        else:
            seal_revoke(actor=personas.admin, seal_id=seal_id, reason="superseded", note="换发")
    with pytest.raises(ApplicationError) as caught:
        act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=seal_id, reason="印发")
    assert caught.value.code == code
    assert not selectors.seal_options(document)
    # Another organisation's seal (or a made-up id) stays "unknown": nothing about it leaks.
    with pytest.raises(ApplicationError) as unknown:
        act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=10**9)
    assert unknown.value.code == "document.unknown_seal"


def test_recipients_keep_the_order_the_drafter_entered(personas: Any, api_client: Any) -> None:
    names = ["浙江省财政厅", "浙江省大数据发展管理局", "杭州市人民政府"]
    document = flow.draft(personas, primary_recipient_ids=[org(n).pk for n in names], cc_recipient_ids=[])
    assert [o.name for o in selectors.recipients(document, "primary")] == names
    api_client.force_authenticate(personas.drafter)
    body = api_client.get(f"/api/documents/{document.pk}/").json()
    assert [r["name"] for r in body["primary_recipients"]] == names
    text = docx_to_text(selectors.document_docx(document))
    assert "、".join(names) + "：" in text
    # Reordering alone is a change the drafter can make.
    reordered = list(reversed(names))
    act(services.document_update, document_id=document.pk, actor=personas.drafter,
        fields=services.DraftFields(primary_recipient_ids=[org(n).pk for n in reordered]))
    document.refresh_from_db()
    assert [o.name for o in selectors.recipients(document, "primary")] == reordered
