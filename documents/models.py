"""公文 data: documents, workflow steps, versions, comments, numbering, seal requests.

Models hold data and invariants only; every state change lives in ``documents.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from officehub.directory.models import Clearance


class Direction(models.TextChoices):
    OUTGOING = "outgoing", _("发文")
    INCOMING = "incoming", _("收文")


class DocType(models.TextChoices):
    """The 15 文种 of 条例 第八条."""

    RESOLUTION = "resolution", _("决议")
    DECISION = "decision", _("决定")
    ORDER = "order", _("命令（令）")
    COMMUNIQUE = "communique", _("公报")
    ANNOUNCEMENT = "announcement", _("公告")
    PUBLIC_NOTICE = "public_notice", _("通告")
    OPINION = "opinion", _("意见")
    NOTICE = "notice", _("通知")
    CIRCULAR = "circular", _("通报")
    REPORT = "report", _("报告")
    REQUEST = "request", _("请示")
    REPLY = "reply", _("批复")
    MOTION = "motion", _("议案")
    LETTER = "letter", _("函")
    MINUTES = "minutes", _("纪要")


# Upward documents show 签发人 in the header (GB/T 9704 7.2.4).
UPWARD_DOC_TYPES = frozenset({DocType.REQUEST, DocType.REPORT})


class Urgency(models.TextChoices):
    NORMAL = "normal", _("普通")
    URGENT = "urgent", _("加急")
    EXTRA_URGENT = "extra_urgent", _("特急")


class Disclosure(models.TextChoices):
    """公开属性 (《中华人民共和国政府信息公开条例》): whether the 政务公开 portal publishes the
    document once it is distributed. Not publishing is the default: a drafter must choose
    主动公开 for a document to reach the public."""

    PROACTIVE = "proactive", _("主动公开")
    ON_REQUEST = "on_request", _("依申请公开")
    WITHHELD = "withheld", _("不予公开")


class DocumentStatus(models.TextChoices):
    """Where the document waits: the name of its current step (or a final state)."""

    # outgoing
    DRAFT = "draft", _("拟稿")
    REVIEW = "review", _("核稿")
    COUNTERSIGN = "countersign", _("会签")
    SIGN_OFF = "sign_off", _("签发")
    RECHECK = "recheck", _("复核")
    ASSIGN_NUMBER = "assign_number", _("编号")
    SEAL = "seal", _("用印")
    DISTRIBUTE = "distribute", _("分发")
    DISTRIBUTED = "distributed", _("已分发")
    # incoming
    RECEIVE = "receive", _("签收")
    REGISTER = "register", _("登记")
    SCREEN = "screen", _("初审")
    PROPOSE = "propose", _("拟办")
    INSTRUCT = "instruct", _("批办")
    HANDLE = "handle", _("承办")
    CONCLUDED = "concluded", _("已办结")
    RETURNED = "returned", _("已退回来文单位")
    # both
    ARCHIVED = "archived", _("已归档")


class StepKind(models.TextChoices):
    DRAFT = "draft", _("拟稿")
    REVIEW = "review", _("核稿")
    COUNTERSIGN = "countersign", _("会签")
    SIGN_OFF = "sign_off", _("签发")
    RECHECK = "recheck", _("复核")
    ASSIGN_NUMBER = "assign_number", _("编号")
    SEAL = "seal", _("用印")
    DISTRIBUTE = "distribute", _("分发")
    RECEIVE = "receive", _("签收")
    REGISTER = "register", _("登记")
    SCREEN = "screen", _("初审")
    PROPOSE = "propose", _("拟办")
    INSTRUCT = "instruct", _("批办")
    HANDLE = "handle", _("承办")
    CIRCULATE = "circulate", _("传阅")
    CONCLUDE = "conclude", _("办结")


class StepState(models.TextChoices):
    OPEN = "open", _("办理中")
    DONE = "done", _("已办理")
    RETURNED = "returned", _("已退回")
    CANCELLED = "cancelled", _("已撤销")


class Document(models.Model):
    """One 公文, outgoing (发文) or incoming (收文), with the format elements of 条例 第九条."""

    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices)
    doc_type = models.CharField(_("文种"), max_length=20, choices=DocType.choices)
    status = models.CharField(_("状态"), max_length=20, choices=DocumentStatus.choices)

    # 版头
    copy_number = models.CharField(_("份号"), max_length=6, blank=True)
    classification = models.PositiveSmallIntegerField(
        _("密级"), choices=Clearance.choices, default=Clearance.INTERNAL
    )
    secrecy_period = models.CharField(_("保密期限"), max_length=20, blank=True)
    urgency = models.CharField(_("紧急程度"), max_length=20, choices=Urgency.choices, default=Urgency.NORMAL)
    issuer = models.ForeignKey(
        "directory.Department", verbose_name=_("发文机关"), on_delete=models.PROTECT, related_name="issued_documents"
    )
    doc_number = models.CharField(_("发文字号"), max_length=60, blank=True)
    doc_year = models.PositiveSmallIntegerField(_("年份"), null=True, blank=True)
    doc_serial = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("签发人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="signed_documents",
    )

    # 主体
    title = models.CharField(_("标题"), max_length=200)
    primary_recipients = models.ManyToManyField(
        "directory.Department", verbose_name=_("主送机关"), blank=True, related_name="documents_primary"
    )
    body = models.TextField(_("正文"), blank=True)
    # 附件: ``Attachment`` rows (``document.attachments``), in the order of the 附件说明.
    signature_name = models.CharField(_("发文机关署名"), max_length=100, blank=True)
    issued_on = models.DateField(_("成文日期"), null=True, blank=True)
    note = models.CharField(_("附注"), max_length=300, blank=True)
    disclosure = models.CharField(
        _("公开属性"), max_length=20, choices=Disclosure.choices, default=Disclosure.WITHHELD
    )
    # 印章: the sealing record holding the sealed, signed DOCX (seals app).
    seal_record = models.ForeignKey(
        "seals.SealRecord", verbose_name=_("用印记录"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )

    # 版记
    # 主送/抄送 in the order the drafter entered them (GB/T 9704 lists them as written):
    # {"primary": [organisation ids], "cc": [...]}; the M2M fields hold the membership.
    recipient_order = models.JSONField(_("收文机关顺序"), default=dict, blank=True)
    cc_recipients = models.ManyToManyField(
        "directory.Department", verbose_name=_("抄送机关"), blank=True, related_name="documents_cc"
    )
    printing_office = models.CharField(_("印发机关"), max_length=100, blank=True)
    printed_on = models.DateField(_("印发日期"), null=True, blank=True)

    # workflow
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("拟稿人"), on_delete=models.PROTECT, related_name="drafted_documents"
    )
    drafting_department = models.ForeignKey(
        "directory.Department", verbose_name=_("拟稿部门"), on_delete=models.PROTECT, related_name="drafted_documents"
    )
    countersign_departments = models.ManyToManyField(
        "directory.Department", verbose_name=_("会签部门"), blank=True, related_name="countersign_documents"
    )
    needs_seal = models.BooleanField(_("需要用印"), default=True)
    source_document = models.ForeignKey(
        "self", verbose_name=_("来文"), null=True, blank=True, on_delete=models.PROTECT, related_name="incoming_copies"
    )
    recipient_organisation = models.ForeignKey(
        "directory.Department", verbose_name=_("收文机关"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="received_documents",
    )
    is_cc = models.BooleanField(_("抄送件"), default=False)
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    chaser = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("催办人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="chased_documents",
    )
    lead_department = models.ForeignKey(
        "directory.Department", verbose_name=_("主办部门"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="led_documents",
    )
    return_reason = models.TextField(_("退回理由"), blank=True)
    reply = models.TextField(_("答复"), blank=True)
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("共享给"), blank=True, related_name="shared_documents"
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("公文")
        verbose_name_plural = _("公文")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["direction", "status"]),
            models.Index(fields=["recipient_organisation", "status"]),
        ]
        constraints = [
            # 发文字号: one serial per issuer and year (DESIGN §4), only on outgoing documents.
            models.UniqueConstraint(
                fields=["issuer", "doc_year", "doc_serial"],
                condition=Q(direction="outgoing", doc_serial__isnull=False),
                name="document_unique_number_per_issuer_year",
            ),
            models.CheckConstraint(
                condition=Q(direction="outgoing") | Q(recipient_organisation__isnull=False, source_document__isnull=False),
                name="document_incoming_has_recipient_and_source",
            ),
            models.CheckConstraint(condition=Q(classification__lte=4), name="document_classification_range"),
            # 主动公开 goes to the public portal: only a document marked 公开 may say so.
            models.CheckConstraint(
                condition=~Q(disclosure="proactive") | Q(classification=0), name="document_proactive_is_public"
            ),
            models.CheckConstraint(condition=Q(doc_serial__isnull=True) | Q(doc_serial__gte=1), name="document_serial_positive"),
            models.UniqueConstraint(
                fields=["source_document", "recipient_organisation"],
                condition=Q(direction="incoming"),
                name="document_one_incoming_per_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doc_number} {self.title}".strip()

    @property
    def is_joint(self) -> bool:
        """联合发文: the document names co-issuers (JointIssuer rows beside the lead)."""
        return self.joint_issuers.exists()

    @property
    def is_upward(self) -> bool:
        return self.doc_type in UPWARD_DOC_TYPES

    @property
    def organisation_id(self) -> int | None:
        """The organisation that holds this copy: the issuer for 发文, the recipient for 收文."""
        return self.issuer_id if self.direction == Direction.OUTGOING else self.recipient_organisation_id


# GB/T 9704 7.3.5.1: seals of joint issuers stand side by side, evenly spaced, two a row.
MAX_JOINT_ISSUERS = 4


class JointIssuer(models.Model):
    """联合发文: one issuing organisation of a jointly issued outgoing document.

    A joint document has one row per organisation: the lead (主办机关, position 0, the same
    organisation as ``Document.issuer``, whose 发文字号 the document carries) and each
    co-issuer (1, 2, …) in the order the 版头 and the 署名 list them (GB/T 9704 7.2.4,
    7.3.5.1). A document with no rows has one issuer. Each organisation's 签发 is a
    SIGN_OFF step with ``department`` = the organisation; its seal is a SealRequest with
    ``organisation``. ``layout_seal_id`` is the seal drawn into the joint copy, fixed
    when the first organisation seals (its picture is in the signed bytes from then on).
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="joint_issuers")
    organisation = models.ForeignKey(
        "directory.Department", verbose_name=_("发文机关"), on_delete=models.PROTECT, related_name="joint_issued_documents"
    )
    position = models.PositiveSmallIntegerField(_("排列顺序"))
    signature_name = models.CharField(_("发文机关署名"), max_length=100)
    layout_seal_id = models.BigIntegerField(_("版面印章"), null=True, blank=True)

    class Meta:
        verbose_name = _("联合发文机关")
        verbose_name_plural = _("联合发文机关")
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "organisation"], name="joint_issuer_unique_organisation"),
            models.UniqueConstraint(fields=["document", "position"], name="joint_issuer_unique_position"),
            models.CheckConstraint(condition=Q(position__lt=MAX_JOINT_ISSUERS), name="joint_issuer_position_range"),
        ]

    def __str__(self) -> str:
        return self.signature_name

    @property
    def is_lead(self) -> bool:
        return self.position == 0


class Step(models.Model):
    """One step of a document's flow: who holds it, who acted, opinion and timestamps.

    Parallel work (会签 departments, 传阅 readers, 协办 departments) is one row each, so
    every holder acts independently; ``round`` counts the returns to the drafter.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("环节"), max_length=20, choices=StepKind.choices)
    state = models.CharField(_("状态"), max_length=20, choices=StepState.choices, default=StepState.OPEN)
    round = models.PositiveIntegerField(_("轮次"), default=1)
    department = models.ForeignKey(
        "directory.Department", verbose_name=_("部门"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="document_steps",
    )
    role = models.CharField(_("角色"), max_length=20, blank=True, help_text=_("lead/assist for 承办"))
    holders = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("当前办理人"), related_name="document_steps")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="document_steps_acted",
    )
    outcome = models.CharField(_("结果"), max_length=30, blank=True)
    opinion = models.TextField(_("意见"), blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    last_reminded_at = models.DateTimeField(_("最近催办"), null=True, blank=True)

    class Meta:
        verbose_name = _("办理环节")
        verbose_name_plural = _("办理环节")
        ordering = ["started_at", "pk"]
        indexes = [
            models.Index(fields=["document", "state"]),
            models.Index(fields=["state", "due_at"], condition=Q(state="open"), name="step_open_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("started_at")),
                name="step_finished_after_start",
            ),
            models.CheckConstraint(
                condition=Q(state="open", finished_at__isnull=True) | (~Q(state="open") & Q(finished_at__isnull=False)),
                name="step_finished_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.get_state_display()}）"


class Reminder(models.Model):
    """One 催办: by the chaser (manual) or by the worker for an overdue step."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="reminders")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message = models.CharField(_("催办内容"), max_length=300, blank=True)
    automatic = models.BooleanField(_("逾期自动催办"), default=False)
    recipient_ids = models.JSONField(_("催办对象"), default=list)
    created_at = models.DateTimeField(_("催办时间"))

    class Meta:
        verbose_name = _("催办")
        verbose_name_plural = _("催办")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"催办 {self.created_at:%Y-%m-%d %H:%M}"


class DocumentVersion(models.Model):
    """A stored text of the document; a new one on every edit of title or body."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    step_kind = models.CharField(_("修改环节"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("修改时间"))

    class Meta:
        verbose_name = _("版本")
        verbose_name_plural = _("版本")
        ordering = ["document", "number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="document_version_unique")]

    def __str__(self) -> str:
        return f"第{self.number}版 {self.title}"


class AttachmentKind(models.TextChoices):
    """What a 附件 is: a file of one of the accepted formats, or a 随文附件 whose text is
    printed on its own pages after the body (GB/T 9704 8, no file)."""

    PDF = "pdf", "PDF"
    DOCX = "docx", "Word（DOCX）"
    XLSX = "xlsx", "Excel（XLSX）"
    OFD = "ofd", "OFD"
    PNG = "png", _("PNG 图片")
    JPEG = "jpeg", _("JPEG 图片")
    TEXT = "text", _("随文附件")


class AttachmentContent(models.Model):
    """The bytes of one attachment file, stored once by their SHA-256.

    In the row, as the sealed DOCX and archived files are: they commit or roll back with
    the upload, and no worker depends on a local disk. Content-addressed, so a document's
    every version and every recipient's incoming copy refer to the very bytes uploaded
    (the same digest, by construction) without storing them again. Never changed or deleted.
    """

    sha256 = models.CharField(_("SHA-256 摘要"), max_length=64, unique=True)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    data = models.BinaryField(_("文件"), editable=False)
    created_at = models.DateTimeField(_("存储时间"))

    class Meta:
        verbose_name = _("附件文件")
        verbose_name_plural = _("附件文件")
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="attachment_content_sha256_hex"),
            models.CheckConstraint(condition=Q(size__gte=1), name="attachment_content_not_empty"),
        ]

    def __str__(self) -> str:
        return self.sha256


class Attachment(models.Model):
    """One 附件 of one document copy, listed by ``position`` in the 附件说明 (GB/T 9704 7.3.4).

    A file uploaded to the draft (``content``: its bytes, shared by digest), or a 随文附件
    (kind ``text``: a name and the text printed after the body, no file). A row never
    changes once stored, but for leaving the current list (``removed_at``) and its place
    in it: every ``DocumentVersion`` lists the rows it had (``VersionAttachment``), so an
    old version keeps its attachments. An incoming copy holds its own rows, copied from
    the sender's (``source``) and pointing at the same content.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField(_("顺序"))
    name = models.CharField(_("附件名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=AttachmentKind.choices)
    file_name = models.CharField(_("文件名"), max_length=255, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=100, blank=True)
    content = models.ForeignKey(
        AttachmentContent, verbose_name=_("文件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The content's digest and size, kept beside it so lists never read the bytes.
    size = models.PositiveBigIntegerField(_("大小（字节）"), default=0)
    sha256 = models.CharField(_("SHA-256 摘要"), max_length=64, blank=True)
    text = models.TextField(_("附件正文"), blank=True)
    source = models.ForeignKey(
        "self", verbose_name=_("来文附件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(_("上传时间"))
    removed_at = models.DateTimeField(_("移除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["document", "position", "pk"]
        indexes = [
            models.Index(fields=["document", "position"], condition=Q(removed_at__isnull=True), name="attachment_current"),
        ]
        constraints = [
            # A file has its content, digest and size; a 随文附件 has none of them.
            models.CheckConstraint(
                condition=(Q(kind="text") & Q(content__isnull=True) & Q(sha256="") & Q(size=0))
                | (~Q(kind="text") & Q(content__isnull=False) & Q(sha256__regex=r"^[0-9a-f]{64}$") & Q(size__gte=1)),
                name="attachment_file_has_content",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_file(self) -> bool:
        return self.kind != AttachmentKind.TEXT


class VersionAttachment(models.Model):
    """Which attachments a version had, in their 附件说明 order."""

    version = models.ForeignKey("DocumentVersion", on_delete=models.CASCADE, related_name="attachment_links")
    attachment = models.ForeignKey(Attachment, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(_("顺序"))

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "attachment"], name="version_attachment_unique"),
            models.UniqueConstraint(fields=["version", "position"], name="version_attachment_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id}/{self.position}: {self.attachment_id}"


class DocumentComment(models.Model):
    """A 批注 on one version."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    quote = models.CharField(_("批注原文"), max_length=200, blank=True)
    text = models.TextField(_("批注"))
    created_at = models.DateTimeField(_("批注时间"))

    class Meta:
        verbose_name = _("批注")
        verbose_name_plural = _("批注")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:50]


class NumberSequence(models.Model):
    """The last serial issued per 机关代字 and year; updated under a row lock, so gapless."""

    issuer = models.ForeignKey("directory.Department", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "year"], name="number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.issuer_id}/{self.year}: {self.last_serial}"


class SealRequestStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已用印")
    REJECTED = "rejected", _("已驳回")


class SealRequest(models.Model):
    """用印申请: a step of the document flow, decided by the named seal's custodian."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="seal_requests")
    # A seals.Seal id; kept as a plain id so the document flow does not depend on the seal
    # registry's schema (DESIGN §1: seals knows no document workflow).
    seal_id = models.BigIntegerField(_("印章"), null=True, blank=True)
    # Whose seal: the issuer, or one organisation of a joint document (联合发文).
    organisation = models.ForeignKey(
        "directory.Department", verbose_name=_("用印机关"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("用印事由"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=SealRequestStatus.choices, default=SealRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(_("审批意见"), max_length=300, blank=True)
    seal_record_id = models.BigIntegerField(_("用印记录"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("用印申请")
        verbose_name_plural = _("用印申请")
        ordering = ["-created_at"]
        constraints = [
            # One pending request per organisation (a joint document has one per issuer).
            models.UniqueConstraint(
                fields=["document", "organisation"], condition=Q(status="pending"),
                name="seal_request_one_pending_per_organisation", nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"用印申请 {self.pk}（{self.get_status_display()}）"
