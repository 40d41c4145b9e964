"""Server-rendered pages of the document flow. Thin: parse the form, call the service the
API calls, show the result or the coded error's Chinese message. Each write opens its
transaction here (officehub/transactions.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from documents import selectors, services
from documents.docx.importing import import_upload
from documents.edges import (
    attachment_download,
    docx_download,
    package_download,
    pdf_download,
    read_attachment_upload,
    request_user,
)
from documents.errors import DocumentNotSealed
from documents.models import MAX_JOINT_ISSUERS, Disclosure, DocType, Document, DocumentStatus, Urgency
from documents.parsing import has_nul, parse_id
from documents.templates_catalog import DOC_TEMPLATES
from officehub.directory.models import Clearance, Department, User
from officehub.edges import flash_error
from officehub.errors import ApplicationError, NotFound


def _access(request: HttpRequest, document_id: int) -> Document:
    try:
        return selectors.access_document(request_user(request), document_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _ids(request: HttpRequest, name: str) -> list[int]:
    values = []
    for raw in request.POST.getlist(name):
        if not raw.strip():
            continue
        value = parse_id(raw)
        if value is None:
            raise ApplicationError("选择的项目无效。", code="document.invalid", extra={"field": name})
        values.append(value)
    return values


def _optional_int(request: HttpRequest, name: str) -> int | None:
    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise ApplicationError("选择的项目无效。", code="document.invalid", extra={"field": name})
    return value


def refuse_nul(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 400 to a request whose query or form carries a NUL byte, which PostgreSQL
    text cannot hold: before any service (or filter) would hand it to the database."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        for data in (request.GET, request.POST):
            for key, values in data.lists():
                if has_nul(key, *values):
                    raise BadRequest("请求中含有不允许的字符（NUL）。")
        return view(request, *args, **kwargs)

    return wrapped


@login_required
@refuse_nul
def document_list(request: HttpRequest) -> HttpResponse:
    box = request.GET.get("box", "outgoing")
    if box not in ("outgoing", "incoming", "overdue"):
        box = "outgoing"
    context: dict[str, Any] = {"box": box, "now": timezone.now()}
    if box == "overdue":
        context["steps"] = selectors.overdue_steps(request_user(request))[:200]
    else:
        user = request_user(request)
        documents = selectors.incoming_inbox(user) if box == "incoming" else selectors.outgoing_list(user)
        context["filters"] = {key: request.GET.get(key, "") for key in ("q", "doc_type", "status")}
        context["documents"] = selectors.filter_documents(
            documents, query=context["filters"]["q"], doc_type=context["filters"]["doc_type"],
            status=context["filters"]["status"],
        )[:200]
    context["doc_types"] = DocType.choices
    context["statuses"] = DocumentStatus.choices
    return render(request, "documents/list.html", context)


def _form_choices(user: User) -> dict[str, Any]:
    organisation = selectors.organisation_of_user(user)
    organisations = Department.objects.filter(is_organisation=True).order_by("path")
    departments = Department.objects.none()
    if organisation is not None:
        organisations = organisations.exclude(pk=organisation.pk)
        departments = Department.objects.filter(path__startswith=organisation.path, is_organisation=False).order_by("path")
    classifications = [
        (value, label) for value, label in Clearance.choices
        if (value < Clearance.SECRET or settings.CLASSIFIED_NETWORK) and value <= user.clearance
    ]
    return {
        "doc_types": DocType.choices,
        "organisations": organisations,
        "departments": [dept for dept in departments if dept.organisation() == organisation],
        "urgencies": Urgency.choices,
        "classifications": classifications,
        "disclosures": Disclosure.choices,
        "organisation": organisation,
        # 联合发文: a select per co-issuer place (the lead is the drafter's organisation)
        "co_issuer_places": list(range(MAX_JOINT_ISSUERS - 1)),
    }


def _fields_from_post(request: HttpRequest) -> dict[str, Any]:
    # The 公开属性 select is on the form only while it may change (before sign-off).
    disclosure = {"disclosure": request.POST["disclosure"]} if "disclosure" in request.POST else {}
    # 联合发文机关: one select per place, in order; on the form only before sign-off.
    joint = {"co_issuer_ids": _ids(request, "co_issuer_ids")} if "joint_form" in request.POST else {}
    return {
        **disclosure,
        **joint,
        "title": request.POST.get("title", ""),
        "body": request.POST.get("body", "").replace("\r\n", "\n"),
        "urgency": request.POST.get("urgency", Urgency.NORMAL),
        "classification": int(request.POST.get("classification") or Clearance.INTERNAL),
        "secrecy_period": request.POST.get("secrecy_period", "").strip(),
        "copy_number": request.POST.get("copy_number", "").strip(),
        "note": request.POST.get("note", "").strip(),
        "attachments": [
            {"title": line.strip(), "body": ""} for line in request.POST.get("attachments", "").splitlines() if line.strip()
        ],
        "primary_recipient_ids": _ids(request, "primary_recipient_ids"),
        "cc_recipient_ids": _ids(request, "cc_recipient_ids"),
        "countersign_department_ids": _ids(request, "countersign_department_ids"),
    }


@login_required
@refuse_nul
def document_new(request: HttpRequest) -> HttpResponse:
    """拟稿 from a 文种 template, with an optional DOCX import filling title and body."""
    doc_type = request.GET.get("doc_type") or request.POST.get("doc_type") or DocType.NOTICE
    if doc_type not in DocType.values:
        doc_type = DocType.NOTICE
    template = DOC_TEMPLATES[DocType(doc_type)]
    values: dict[str, Any] = {"doc_type": doc_type, "title": template["title"], "body": template["body"],
                              "urgency": Urgency.NORMAL, "classification": Clearance.INTERNAL,
                              "disclosure": Disclosure.WITHHELD,
                              "primary_recipient_ids": [], "cc_recipient_ids": [], "countersign_department_ids": [],
                              "co_issuer_ids": []}
    error = None
    if request.method == "POST":
        try:
            upload = request.FILES.get("docx")
            if request.POST.get("import") and upload:
                values.update(_fields_from_post(request))
                imported = import_upload(upload)
                values.update(title=imported.title, body=imported.body)
                messages.info(request, "已从 DOCX 导入标题和正文，请核对后保存。")
            else:
                posted = _fields_from_post(request)
                values.update(posted)
                with transaction.atomic(durable=True):
                    document = services.document_create_draft(actor=request_user(request), doc_type=doc_type, **posted)
                messages.success(request, "草稿已保存。")
                return redirect("documents-detail", document_id=document.pk)
        except ApplicationError as exc:
            error = exc.message
        except ValueError:
            error = "提交的数据有误。"
    return render(request, "documents/form.html", {
        "values": values, "error": error, "template": template, "creating": True, **_form_choices(request_user(request)),
    }, status=400 if error else 200)


@login_required
@refuse_nul
def document_edit(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _access(request, document_id)
    if "edit" not in selectors.available_actions(request_user(request), document):
        messages.error(request, "当前环节您不能修改该公文。")
        return redirect("documents-detail", document_id=document.pk)
    attachments = list(selectors.current_attachments(document))
    values: dict[str, Any] = {
        "doc_type": document.doc_type, "title": document.title, "body": document.body,
        "urgency": document.urgency, "classification": document.classification,
        "secrecy_period": document.secrecy_period, "copy_number": document.copy_number, "note": document.note,
        "attachments": [{"title": a.name, "body": a.text} for a in attachments if not a.is_file],
        "disclosure": document.disclosure,
        "primary_recipient_ids": [d.pk for d in selectors.recipients(document, "primary")],
        "cc_recipient_ids": [d.pk for d in selectors.recipients(document, "cc")],
        "countersign_department_ids": [d.pk for d in document.countersign_departments.all()],
        "co_issuer_ids": list(
            document.joint_issuers.filter(position__gt=0).order_by("position").values_list("organisation_id", flat=True)
        ),
    }
    error = None
    if request.method == "POST":
        try:
            posted = _fields_from_post(request)
            # The form edits 随文附件 by name; one whose name is kept keeps its text.
            texts = {a.name: a.text for a in attachments if not a.is_file}
            posted["attachments"] = [{**item, "body": texts.get(item["title"], "")} for item in posted["attachments"]]
            if document.status != "draft":
                posted.pop("countersign_department_ids")
            values.update(posted)
            with transaction.atomic(durable=True):
                services.document_update(
                    document_id=document.pk, actor=request_user(request), fields=services.DraftFields(**posted)
                )
            messages.success(request, "修改已保存。")
            return redirect("documents-detail", document_id=document.pk)
        except ApplicationError as exc:
            error = exc.message
        except ValueError:
            error = "提交的数据有误。"
    return render(request, "documents/form.html", {
        "values": values, "error": error, "document": document, "creating": False, **_form_choices(request_user(request)),
        "attachment_files": attachments, "attachments_editable": _attachments_editable(request, document),
        "attachment_max_mb": settings.DOCUMENT_ATTACHMENT_MAX_BYTES // (1024 * 1024),
    }, status=400 if error else 200)


def _attachments_editable(request: HttpRequest, document: Document) -> bool:
    """Files are added and removed by the drafter holding the 拟稿 step (the services decide;
    this only chooses whether the page offers it)."""
    user = request_user(request)
    return document.status == DocumentStatus.DRAFT and selectors.open_step_for(document, user, "draft") is not None


@login_required
@require_POST
@refuse_nul
def document_attachment_upload(request: HttpRequest, document_id: int) -> HttpResponse:
    """上传附件 from the edit page; back to it with the result as a message."""
    document = _access(request, document_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ApplicationError("请选择要上传的文件。", code="file.missing", extra={"field": "file"})
        data = read_attachment_upload(upload)
        with transaction.atomic(durable=True):
            attachment = services.attachment_upload(
                document_id=document.pk, actor=request_user(request), file_name=upload.name or "", data=data,
                name=request.POST.get("name", ""),
            )
        messages.success(request, f"已上传附件“{attachment.name}”。")
    except ApplicationError as exc:
        flash_error(request, exc)
    return redirect("documents-edit", document_id=document.pk)


@login_required
@require_POST
@refuse_nul
def document_attachment_change(request: HttpRequest, document_id: int, attachment_id: int, op: str) -> HttpResponse:
    """移除 / 上移 / 下移 an attachment from the edit page."""
    document = _access(request, document_id)
    actor = request_user(request)
    try:
        with transaction.atomic(durable=True):
            if op == "remove":
                services.attachment_remove(document_id=document.pk, attachment_id=attachment_id, actor=actor)
                messages.success(request, "已移除附件（历史版本仍保留）。")
            elif op in ("up", "down"):
                order = list(selectors.current_attachments(document).values_list("pk", flat=True))
                if attachment_id not in order:
                    raise NotFound("该附件不存在。")
                index = order.index(attachment_id)
                other = index - 1 if op == "up" else index + 1
                if 0 <= other < len(order):
                    order[index], order[other] = order[other], order[index]
                services.attachment_reorder(document_id=document.pk, actor=actor, attachment_ids=order)
            else:
                raise Http404()
    except ApplicationError as exc:
        flash_error(request, exc)
    return redirect("documents-edit", document_id=document.pk)


@login_required
def document_attachment_download(request: HttpRequest, document_id: int, attachment_id: int) -> HttpResponse:
    """One attachment file, for whoever may read the document (and any version's file)."""
    try:
        _document, attachment = selectors.access_attachment(request_user(request), document_id, attachment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return attachment_download(attachment)


@login_required
@refuse_nul
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _access(request, document_id)
    actions = selectors.available_actions(request_user(request), document)
    versions = list(
        selectors.document_versions(document).prefetch_related("comments__author", "attachment_links__attachment")
    )
    organisation = document.recipient_organisation if document.direction == "incoming" else None
    context: dict[str, Any] = {
        "document": document,
        "actions": actions,
        "timeline": selectors.document_timeline(document),
        "holders": selectors.current_holders(document),
        "versions": versions,
        "seal_requests": document.seal_requests.select_related("requested_by", "decided_by", "organisation"),
        "pending_seal_request": selectors.pending_seal_request(document, request_user(request)),
        "feedback": selectors.distribution_feedback(document) if document.direction == "outgoing" else [],
        "primary_recipients": selectors.recipients(document, "primary"),
        "cc_recipients": selectors.recipients(document, "cc"),
        "countersign_departments": document.countersign_departments.all(),
        "now": timezone.now(),
        "seal_verification": selectors.document_seal_verification(document),
        "attachment_files": list(selectors.current_attachments(document)),
        "joint_issuers": selectors.joint_issuer_status(document),
    }
    if "instruct" in actions and organisation is not None:
        context["org_departments"] = [
            d for d in Department.objects.filter(path__startswith=organisation.path, is_organisation=False).order_by("path")
            if d.organisation() == organisation
        ]
        context["org_users"] = selectors.organisation_users(organisation).select_related("department")
    if "review" in actions:
        context["departments"] = _form_choices(request_user(request))["departments"]
    if "seal_request" in actions:
        context["seals"] = [(option["id"], option["name"]) for option in selectors.seal_options(document, request_user(request))]
    return render(request, "documents/detail.html", context)


def _decision(request: HttpRequest) -> bool:
    return request.POST.get("decision", "approve") in ("approve", "accept", "concur", "pass")


def _deadline(request: HttpRequest) -> datetime | None:
    raw = request.POST.get("deadline", "").strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw)  # None when malformed; ValueError for e.g. 2月30日
    except ValueError:
        value = None
    if value is None:
        raise ApplicationError("办理时限格式不正确。", code="document.invalid", extra={"field": "deadline"})
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _usernames(request: HttpRequest) -> list[int]:
    names = [name for name in request.POST.get("usernames", "").replace("，", ",").replace(",", " ").split() if name]
    found = dict(User.objects.filter(username__in=names, is_active=True).values_list("username", "pk"))
    missing = [name for name in names if name not in found]
    if missing or not names:
        raise ApplicationError(f"用户不存在：{'、'.join(missing) or '（未填写）'}。", code="document.invalid",
                               extra={"field": "usernames"})
    return [found[name] for name in names]


ACTIONS: dict[str, tuple[str, Callable[[HttpRequest, int], Any]]] = {
    "submit": ("已送审。", lambda r, i: services.document_submit(document_id=i, actor=request_user(r))),
    "review": ("核稿意见已提交。", lambda r, i: services.document_review(
        document_id=i, actor=request_user(r), approve=_decision(r), opinion=r.POST.get("opinion", ""),
        countersign_department_ids=_ids(r, "countersign_department_ids") if "set_countersign" in r.POST else None)),
    "countersign": ("会签意见已提交。", lambda r, i: services.document_countersign(
        document_id=i, actor=request_user(r), approve=_decision(r), opinion=r.POST.get("opinion", ""))),
    "sign_off": ("签发意见已提交。", lambda r, i: services.document_sign_off(
        document_id=i, actor=request_user(r), approve=_decision(r), opinion=r.POST.get("opinion", ""))),
    "recheck": ("复核意见已提交。", lambda r, i: services.document_recheck(
        document_id=i, actor=request_user(r), approve=_decision(r), opinion=r.POST.get("opinion", ""))),
    "assign_number": ("已编号。", lambda r, i: services.document_assign_number(document_id=i, actor=request_user(r))),
    "seal_request": ("用印申请已提交。", lambda r, i: services.seal_request_create(
        document_id=i, actor=request_user(r), seal_id=_optional_int(r, "seal_id"), reason=r.POST.get("reason", ""))),
    "seal_decide": ("用印审批已提交。", lambda r, i: services.seal_request_decide(
        seal_request_id=_optional_int(r, "seal_request_id") or 0, actor=request_user(r), approve=_decision(r),
        reason=r.POST.get("reason", ""))),
    "distribute": ("已分发。", lambda r, i: services.document_distribute(document_id=i, actor=request_user(r))),
    "receive": ("已签收。", lambda r, i: services.document_receive(document_id=i, actor=request_user(r))),
    "register": ("已登记。", lambda r, i: services.document_register(
        document_id=i, actor=request_user(r), deadline=_deadline(r), chaser_id=_optional_int(r, "chaser_id"),
        note=r.POST.get("note", ""))),
    "screen": ("初审意见已提交。", lambda r, i: services.document_screen(
        document_id=i, actor=request_user(r), accept=_decision(r), opinion=r.POST.get("opinion", ""))),
    "propose": ("拟办意见已提交。", lambda r, i: services.document_propose(
        document_id=i, actor=request_user(r), opinion=r.POST.get("opinion", ""))),
    "instruct": ("批办意见已提交。", lambda r, i: services.document_instruct(
        document_id=i, actor=request_user(r), opinion=r.POST.get("opinion", ""),
        lead_department_id=_optional_int(r, "lead_department_id"),
        assisting_department_ids=_ids(r, "assisting_department_ids"), reader_ids=_ids(r, "reader_ids"))),
    "handle": ("办理意见已提交。", lambda r, i: services.document_handle(
        document_id=i, actor=request_user(r), opinion=r.POST.get("opinion", ""))),
    "read": ("已标记为已阅。", lambda r, i: services.document_read(document_id=i, actor=request_user(r))),
    "conclude": ("已办结。", lambda r, i: services.document_conclude(
        document_id=i, actor=request_user(r), reply=r.POST.get("reply", ""), opinion=r.POST.get("opinion", ""))),
    "remind": ("已催办。", lambda r, i: services.document_remind(
        document_id=i, actor=request_user(r), message=r.POST.get("message", ""))),
    "share": ("已共享。", lambda r, i: services.document_share(document_id=i, actor=request_user(r), user_ids=_usernames(r))),
    "comment": ("批注已添加。", lambda r, i: services.document_comment_add(
        document_id=i, actor=request_user(r), version_number=_optional_int(r, "version") or 0,
        text=r.POST.get("text", ""), quote=r.POST.get("quote", ""))),
}


@login_required
@require_POST
@refuse_nul
def document_act(request: HttpRequest, document_id: int, action: str) -> HttpResponse:
    """Every action button posts here; the same service as the API does the work."""
    document = _access(request, document_id)
    if action not in ACTIONS:
        raise Http404("未知操作")
    done, call = ACTIONS[action]
    try:
        with transaction.atomic(durable=True):
            call(request, document.pk)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, done)
    try:
        selectors.access_document(request_user(request), document.pk)
    except NotFound:
        return redirect("documents-index")
    return redirect("documents-detail", document_id=document.pk)


@login_required
@refuse_nul
def document_timeline_page(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _access(request, document_id)
    return render(request, "documents/timeline.html", {
        "document": document, "timeline": selectors.document_timeline(document),
        "holders": selectors.current_holders(document),
    })


@login_required
@refuse_nul
def document_diff(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _access(request, document_id)
    versions = list(selectors.document_versions(document))
    last = versions[-1].number if versions else 1
    old = parse_id(request.GET.get("from", str(max(1, last - 1))))
    new = parse_id(request.GET.get("to", str(last)))
    try:
        if old is None or new is None:
            raise NotFound()
        diff = selectors.version_diff(document, old, new)
    except NotFound:
        raise Http404("版本不存在") from None
    return render(request, "documents/diff.html", {
        "document": document, "versions": versions, "diff": diff,
        "title_html": selectors.diff_html(diff["title"]), "body_html": selectors.diff_html(diff["body"]),
        "comments": diff["to"].comments.select_related("author"),
    })


@login_required
@refuse_nul
def document_docx_download(request: HttpRequest, document_id: int) -> HttpResponse:
    return docx_download(_access(request, document_id))


@login_required
def document_pdf_download(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        return pdf_download(_access(request, document_id))
    except DocumentNotSealed as exc:
        raise Http404(exc.message) from None


@login_required
def document_package_download(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        return package_download(_access(request, document_id))
    except DocumentNotSealed as exc:
        raise Http404(exc.message) from None

