"""Helpers for 联合发文 tests: a joint document driven through the services, each call in
its own transaction (as an entry point would)."""

from __future__ import annotations

from typing import Any

from documents import services
from documents.models import Document, SealRequest
from officehub.directory.models import User
from tests.documents import flow
from tests.documents.flow import act, org

LEAD = "浙江省人民政府办公厅"
BIG_DATA = "浙江省大数据发展管理局"
FINANCE = "浙江省财政厅"
CITY = "杭州市人民政府办公厅"


def user(username: str) -> User:
    return User.objects.select_related("department").get(username=username)


# Each co-issuer's 签发领导, 用印申请人 (office staff) and seal custodian (officehub/demo.py).
LEADERS = {BIG_DATA: "weidong", FINANCE: "zhuwen"}
REQUESTERS = {BIG_DATA: "fengxue", FINANCE: "hanmei"}
CUSTODIANS = {BIG_DATA: "fengxue", FINANCE: "qinyu"}


def draft(p: Any, co: tuple[str, ...] = (BIG_DATA,), **overrides: Any) -> Document:
    values: dict[str, Any] = {
        "title": "关于联合开展政务数据共享专项检查的通知",
        "primary_recipient_ids": [org(CITY).pk],
        "cc_recipient_ids": [],
        "co_issuer_ids": [org(name).pk for name in co],
    }
    values.update(overrides)
    return flow.draft(p, **values)


def to_sign_off(p: Any, co: tuple[str, ...] = (BIG_DATA,), **overrides: Any) -> Document:
    document = draft(p, co, **overrides)
    act(services.document_submit, document_id=document.pk, actor=p.drafter)
    act(services.document_review, document_id=document.pk, actor=p.reviewer, approve=True, opinion="同意")
    return flow.refresh(document)


def sign_all(p: Any, document: Document, co: tuple[str, ...] = (BIG_DATA,)) -> Document:
    act(services.document_sign_off, document_id=document.pk, actor=p.leader, approve=True, opinion="同意")
    for name in co:
        act(services.document_sign_off, document_id=document.pk, actor=user(LEADERS[name]), approve=True, opinion="同意")
    return flow.refresh(document)


def to_seal(p: Any, co: tuple[str, ...] = (BIG_DATA,), **overrides: Any) -> Document:
    document = sign_all(p, to_sign_off(p, co, **overrides), co)
    act(services.document_recheck, document_id=document.pk, actor=p.reviewer2, approve=True)
    act(services.document_assign_number, document_id=document.pk, actor=p.reviewer)
    return flow.refresh(document)


def request_seals(p: Any, document: Document, co: tuple[str, ...] = (BIG_DATA,)) -> dict[str, SealRequest]:
    requests = {
        LEAD: act(services.seal_request_create, document_id=document.pk, actor=p.drafter,
                  seal_id=flow.office_seal_id(LEAD), reason="联合印发")
    }
    for name in co:
        requests[name] = act(services.seal_request_create, document_id=document.pk, actor=user(REQUESTERS[name]),
                             seal_id=flow.office_seal_id(name), reason="联合印发")
    return requests


def to_distribute(p: Any, co: tuple[str, ...] = (BIG_DATA,), **overrides: Any) -> Document:
    document = to_seal(p, co, **overrides)
    requests = request_seals(p, document, co)
    act(services.seal_request_decide, seal_request_id=requests[LEAD].pk, actor=p.custodian, approve=True)
    for name in co:
        act(services.seal_request_decide, seal_request_id=requests[name].pk, actor=user(CUSTODIANS[name]), approve=True)
    return flow.refresh(document)
