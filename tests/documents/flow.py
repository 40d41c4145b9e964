"""Helpers that drive a document through the services, each call in its own transaction
(as a view or API endpoint would)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from documents import services
from documents.models import Document
from officehub.directory.models import Department


def org(name: str) -> Department:
    return Department.objects.get(name=name, is_organisation=True)


def dept(org_name: str, name: str) -> Department:
    return Department.objects.get(name=name, parent__name=org_name)


def act(service: Any, **kwargs: Any) -> Any:
    with transaction.atomic():
        return service(**kwargs)


def draft(p: Any, **overrides: Any) -> Document:
    values: dict[str, Any] = {
        "actor": p.drafter,
        "doc_type": "notice",
        "title": "关于做好2026年元旦春节期间安全生产工作的通知",
        "body": "一、高度重视\n各地各部门要切实加强领导。\n二、压实责任\n（一）落实属地责任。",
        "primary_recipient_ids": [org("浙江省大数据发展管理局").pk],
        "cc_recipient_ids": [org("浙江省财政厅").pk],
    }
    values.update(overrides)
    return act(services.document_create_draft, **values)


def to_review(p: Any, **overrides: Any) -> Document:
    document = draft(p, **overrides)
    act(services.document_submit, document_id=document.pk, actor=p.drafter)
    return refresh(document)


def to_sign_off(p: Any, **overrides: Any) -> Document:
    document = to_review(p, **overrides)
    act(services.document_review, document_id=document.pk, actor=p.reviewer, approve=True, opinion="同意")
    return refresh(document)


def to_recheck(p: Any, **overrides: Any) -> Document:
    document = to_sign_off(p, **overrides)
    act(services.document_sign_off, document_id=document.pk, actor=p.leader, approve=True, opinion="同意印发")
    return refresh(document)


def to_numbering(p: Any, **overrides: Any) -> Document:
    document = to_recheck(p, **overrides)
    act(services.document_recheck, document_id=document.pk, actor=p.reviewer2, approve=True)
    return refresh(document)


def to_seal(p: Any, **overrides: Any) -> Document:
    document = to_numbering(p, **overrides)
    act(services.document_assign_number, document_id=document.pk, actor=p.reviewer)
    return refresh(document)


def office_seal_id(org_name: str = "浙江省人民政府办公厅") -> int | None:
    """The organisation's active 公章 from the real seals app, issued on first use to the
    organisation's seal custodians (one seal, not the whole demo set, to keep tests fast)."""
    from documents.selectors import organisation_users
    from officehub.directory.models import Role
    from seals.models import SealKind
    from seals.selectors import seals_for_organisation
    from seals.services import ca_init, seal_activate, seal_issue

    organisation = org(org_name)
    if not seals_for_organisation(organisation).exists():
        custodians = [user.pk for user in organisation_users(organisation, role=Role.SEAL_CUSTODIAN)]
        with transaction.atomic():
            ca_init(actor=None)
            seal = seal_issue(actor=None, kind=SealKind.ORGANISATION, owner_organisation_id=organisation.pk,
                              custodian_ids=custodians, check_permission=False)
            seal_activate(actor=None, seal_id=seal.pk, check_permission=False)
    # a fresh query: the selector filters on validity at the time it is built
    return seals_for_organisation(organisation).values_list("pk", flat=True).first()


def to_distribute(p: Any, **overrides: Any) -> Document:
    document = to_seal(p, **overrides)
    request = act(services.seal_request_create, document_id=document.pk, actor=p.drafter, seal_id=office_seal_id(), reason="印发")
    act(services.seal_request_decide, seal_request_id=request.pk, actor=p.custodian, approve=True)
    return refresh(document)


def distributed(p: Any, **overrides: Any) -> Document:
    document = to_distribute(p, **overrides)
    act(services.document_distribute, document_id=document.pk, actor=p.reviewer)
    return refresh(document)


def refresh(document: Document) -> Document:
    return Document.objects.get(pk=document.pk)
