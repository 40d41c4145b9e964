"""政务公开: what the public portal shows, how it reaches its index, and 依申请公开 requests.

Models hold data and invariants only; every change lives in ``disclosure.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PublicationState(models.TextChoices):
    PUBLISHED = "published", _("已公开")
    WITHDRAWN = "withdrawn", _("已撤回")


class Publication(models.Model):
    """One 主动公开 document on the portal.

    What the public sees is copied here from the distributed document when it is
    published (a distributed document no longer changes): the portal reads this table
    only, never the internal document rows, so no join or later edit can expose what
    was not published. The file is the document's issued copy, read at download time.
    A withdrawn publication keeps its row (and its audit trail) and is no longer served.
    """

    document = models.OneToOneField(
        "documents.Document", verbose_name=_("公文"), on_delete=models.PROTECT, related_name="publication"
    )
    state = models.CharField(_("状态"), max_length=20, choices=PublicationState.choices, default=PublicationState.PUBLISHED)
    issuer = models.ForeignKey(
        "directory.Department", verbose_name=_("发文机关"), on_delete=models.PROTECT, related_name="+"
    )
    issuer_name = models.CharField(_("发文机关名称"), max_length=200)
    title = models.CharField(_("标题"), max_length=200)
    doc_number = models.CharField(_("发文字号"), max_length=60, blank=True)
    doc_type = models.CharField(_("文种"), max_length=20)
    issued_on = models.DateField(_("成文日期"))
    year = models.PositiveSmallIntegerField(_("年份"))
    body = models.TextField(_("正文"), blank=True)
    published_at = models.DateTimeField(_("公开时间"))
    # Last-Modified of the document's pages; the newest over all publications is the
    # portal's (its listings and search answers), see selectors.portal_changed_at.
    changed_at = models.DateTimeField(_("更新时间"))
    indexed_at = models.DateTimeField(_("索引时间"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("撤回人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    withdraw_reason = models.CharField(_("撤回理由"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("公开公文")
        verbose_name_plural = _("公开公文")
        ordering = ["-issued_on", "-pk"]
        indexes = [
            # The portal's listings: newest first, all or one issuer's.
            models.Index(fields=["-issued_on", "-id"], condition=Q(state="published"), name="publication_latest"),
            models.Index(
                fields=["issuer", "-issued_on", "-id"], condition=Q(state="published"), name="publication_by_issuer"
            ),
            models.Index(fields=["changed_at"], name="publication_changed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="published", withdrawn_at__isnull=True)
                | Q(state="withdrawn", withdrawn_at__isnull=False),
                name="publication_withdrawn_iff_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doc_number} {self.title}".strip()


class PublicationText(models.Model):
    """The publication's title and body cut into words (jieba, search.text) by one
    dictionary version: cut once, by the first drain that indexes it, and reused by every
    later write while the dictionary version matches (as ``search.models.ArchiveText``)."""

    publication = models.OneToOneField(Publication, on_delete=models.CASCADE, primary_key=True, related_name="segmented")
    dictionary_version = models.CharField(max_length=10)
    title_seg = models.TextField()
    body_seg = models.TextField()

    def __str__(self) -> str:
        return f"{self.publication_id} ({self.dictionary_version})"


class PortalOutbox(models.Model):
    """A pending write of one publication to the portal index (index it, or delete it once
    withdrawn), inserted in the transaction that changed the publication.

    The row id is the Elasticsearch external version, as in ``search.models.IndexOutbox``:
    a late retry of an older row never overwrites a newer write (a withdrawal's delete
    is never undone by a publish that was still queued)."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["available_at", "id"], condition=Q(done_at__isnull=True), name="portal_outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"portal outbox {self.pk} → publication {self.publication_id}"


class RequestStatus(models.TextChoices):
    """Where a 依申请公开 request waits (《政府信息公开条例》 第二十九–三十三条)."""

    SUBMITTED = "submitted", _("待登记")
    REGISTERED = "registered", _("待分办")
    HANDLING = "handling", _("承办中")
    REPLIED = "replied", _("已答复")
    CONCLUDED = "concluded", _("已办结")


# Requests whose statutory reply is still owed: they count against the deadline.
OPEN_STATUSES = (RequestStatus.REGISTERED, RequestStatus.HANDLING)


class DisclosureRequest(models.Model):
    """A citizen's 依申请公开 request to one organisation, tracked by an unguessable number.

    The citizen sees only the dates of 登记, 承办 and 答复 and the reply itself; staff
    names and the internal notes (``RequestEvent``) stay inside.
    """

    tracking_number = models.CharField(_("查询码"), max_length=20, unique=True)
    organisation = models.ForeignKey(
        "directory.Department", verbose_name=_("受理机关"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("申请人"), max_length=100)
    contact = models.CharField(_("联系方式"), max_length=100)
    description = models.TextField(_("所需信息"))
    status = models.CharField(_("状态"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED)
    submitted_at = models.DateTimeField(_("提交时间"))
    registered_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 答复期限: 20 working days after registration, extended once by 20 (disclosure/workdays.py).
    due_on = models.DateField(_("答复期限"), null=True, blank=True)
    extended_at = models.DateTimeField(_("延期时间"), null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    extension_reason = models.CharField(_("延期理由"), max_length=300, blank=True)
    department = models.ForeignKey(
        "directory.Department", verbose_name=_("承办部门"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    handlers = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("承办人"), blank=True, related_name="+")
    assigned_at = models.DateTimeField(_("分办时间"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reply = models.TextField(_("答复"), blank=True)
    reply_file = models.BinaryField(_("答复附件"), null=True, blank=True, editable=False)
    reply_file_name = models.CharField(_("答复附件名"), max_length=200, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    concluded_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The worker's reminders: once before the deadline, and repeatedly after it.
    due_soon_reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("依申请公开")
        verbose_name_plural = _("依申请公开")
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            models.Index(fields=["organisation", "status", "-submitted_at"], name="disclosure_request_org"),
            models.Index(fields=["due_on"], condition=Q(status__in=["registered", "handling"]), name="disclosure_request_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="submitted") | Q(registered_at__isnull=False, due_on__isnull=False),
                name="disclosure_request_registered_has_deadline",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["submitted", "registered"]) | Q(department__isnull=False, assigned_at__isnull=False),
                name="disclosure_request_handling_has_department",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["replied", "concluded"]) | Q(replied_at__isnull=False),
                name="disclosure_request_replied_is_dated",
            ),
            # The statutory extension is granted once, with a reason.
            models.CheckConstraint(
                condition=Q(extended_at__isnull=True) | ~Q(extension_reason=""),
                name="disclosure_request_extension_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number


EVENT_LABELS = {"filed": "提交申请", "register": "登记", "assign": "分办", "extend": "延长答复期限", "reply": "答复",
                "conclude": "办结"}


class RequestEvent(models.Model):
    """One step of the internal handling, with who did it and their note (staff only)."""

    request = models.ForeignKey(DisclosureRequest, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("内部意见"), blank=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action}"

    @property
    def action_label(self) -> str:
        return EVENT_LABELS.get(self.action, self.action)
