"""Seal pages: the seal list, a seal's usage log, verification, record packages, CA files.
Thin like the API; each write opens its transaction here (officehub/transactions.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.request import Request

from officehub.audit.models import AuditEntry
from officehub.directory.models import User
from officehub.edges import flash_error
from officehub.errors import ApplicationError
from seals import selectors, services
from seals.edges import (
    VerifyThrottle,
    package_download,
    pem_download,
    refresh_crl,
    request_user,
    verify_uploads,
)
from seals.errors import SealNotFound, SealRecordNotFound
from seals.models import RevocationReason, Seal

T = TypeVar("T")


def _or_404(call: Callable[[], T]) -> T:
    try:
        return call()
    except (SealNotFound, SealRecordNotFound):
        raise Http404 from None


class SealRow(TypedDict):
    """One row of the seal list page."""

    seal: Seal
    image_data_uri: str
    custodians: list[User]


class EventRow(TypedDict):
    """One audit event on a seal's usage page."""

    entry: AuditEntry
    label: str


@login_required
def seal_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    rows: list[SealRow] = [
        {
            "seal": seal,
            "image_data_uri": "data:image/png;base64," + base64.b64encode(bytes(seal.image)).decode(),
            "custodians": selectors.seal_custodians(seal),
        }
        for seal in selectors.seals_visible_to(user).prefetch_related("custodians")
    ]
    return render(
        request,
        "seals/list.html",
        {
            "rows": rows,
            "is_admin": services.can_administer_seals(user),
            "reasons": RevocationReason.choices,
            "ca": selectors.active_ca(),
        },
    )


ACTION_LABELS = {
    "seal.issued": "签发",
    "seal.activated": "启用",
    "seal.suspended": "暂停",
    "seal.resumed": "恢复",
    "seal.revoked": "吊销",
    "seal.used": "用印",
    "seal.custodians_changed": "更换印章管理员",
}


@login_required
def seal_usage(request: HttpRequest, seal_id: int) -> HttpResponse:
    seal = _or_404(lambda: selectors.access_seal(request_user(request), seal_id))
    events: list[EventRow] = [
        {"entry": entry, "label": ACTION_LABELS.get(entry.action, entry.action)}
        for entry in selectors.seal_audit_events(seal)[:500]
    ]
    return render(
        request,
        "seals/usage.html",
        {
            "seal": seal,
            "custodians": selectors.seal_custodians(seal),
            "records": selectors.seal_records(seal)[:500],
            "events": events,
        },
    )


_TRANSITIONS: dict[str, Callable[..., Seal]] = {
    "activate": services.seal_activate,
    "suspend": services.seal_suspend,
    "resume": services.seal_resume,
    "revoke": services.seal_revoke,
}


@login_required
@require_POST
def seal_transition(request: HttpRequest, seal_id: int, verb: str) -> HttpResponse:
    actor = request_user(request)
    _or_404(lambda: selectors.access_seal(actor, seal_id))
    service = _TRANSITIONS.get(verb)
    if service is None:
        raise Http404
    kwargs: dict[str, Any] = {"actor": actor, "seal_id": seal_id}
    if verb in {"suspend", "resume", "revoke"}:
        kwargs["note"] = request.POST.get("note", "")[:200]
    if verb == "revoke":
        kwargs["reason"] = request.POST.get("reason", RevocationReason.UNSPECIFIED)
    try:
        with transaction.atomic(durable=True):
            seal = service(**kwargs)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, f"“{seal.name}”当前状态：{seal.get_effective_status_display()}。")
    return redirect("seals-index")


def verify_page(request: HttpRequest) -> HttpResponse:
    """验章, public: upload a signed PDF, or a DOCX with its .p7s; nothing is stored.
    Rate-limited per client address like the API."""
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        throttle = VerifyThrottle()
        if not throttle.allow_request(Request(request), None):
            context["error"] = f"验证过于频繁，请 {throttle.wait() or 1:.0f} 秒后再试。"
            status = 429
        else:
            try:
                report = verify_uploads(request.FILES)
            except ApplicationError as exc:
                context["error"] = exc.message
                status = exc.status
            else:
                context["report"] = report
                context["filenames"] = [upload.name for upload in request.FILES.values() if hasattr(upload, "name")]
    return render(request, "seals/public_verify.html", context, status=status)


@login_required
def record_page(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _or_404(lambda: selectors.access_seal_record(request_user(request), record_id))
    result = services.seal_record_verify(record_id=record.pk)
    return render(
        request, "seals/verify.html", {"record": record, "result": result, "seal": record.seal}
    )


@login_required
def record_package(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _or_404(lambda: selectors.access_seal_record(request_user(request), record_id))
    return package_download(record)


# The CA certificate and CRL are public material: any organisation a document is sent to,
# and any citizen, verifies seals against them (every seal certificate names the CRL URL).
def ca_pem(request: HttpRequest) -> HttpResponse:
    return pem_download(selectors.ca_certificate_pem(), "officehub-seal-ca.pem")


def crl_pem(request: HttpRequest) -> HttpResponse:
    ca = selectors.active_ca()
    if ca is not None:
        refresh_crl(ca.pk)
        ca.refresh_from_db(fields=["crl_pem", "crl_number", "crl_next_update"])
    return pem_download(selectors.crl_pem(ca) if ca else None, "officehub-seal-crl.pem")
