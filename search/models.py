"""Archived records (DA/T 22-2015 文书档案 metadata), their numbering and the index outbox."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from officehub.directory.models import Clearance


class Category(models.TextChoices):
    # DA/T 22 covers 文书 (WS); other 门类 (科技 KJ, 会计 KU …) are out of scope.
    WS = "WS", _("文书")


class Retention(models.TextChoices):
    PERMANENT = "Y", _("永久")
    YEARS_30 = "D30", _("定期30年")
    YEARS_10 = "D10", _("定期10年")


class ArchiveSource(models.TextChoices):
    DOCUMENT = "document", _("公文归档")
    LEGACY = "legacy", _("历史档案上传")


# 条例 第八条: the 15 文种, same identifiers as documents.DocType.
DOC_TYPES: dict[str, str] = {
    "resolution": "决议",
    "decision": "决定",
    "order": "命令（令）",
    "communique": "公报",
    "announcement": "公告",
    "public_notice": "通告",
    "opinion": "意见",
    "notice": "通知",
    "circular": "通报",
    "report": "报告",
    "request": "请示",
    "reply": "批复",
    "motion": "议案",
    "letter": "函",
    "minutes": "纪要",
}

code_validator = RegexValidator(r"^[A-Z0-9]{1,10}$", _("只能包含大写字母和数字，最多10位。"))


def compose_archive_code(*, fonds_code: str, category: str, year: int, retention: str, unit_code: str, item_number: int) -> str:
    """DA/T 22-2015 6.2: 全宗号-门类·年度-保管期限-机构(问题)-件号; the unit part is optional."""
    parts = [fonds_code, f"{category}·{year}", retention]
    if unit_code:
        parts.append(unit_code)
    parts.append(f"{item_number:04d}")
    return "-".join(parts)


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        from search.errors import ArchiveImmutable

        raise ArchiveImmutable()

    def delete(self) -> tuple[int, dict[str, int]]:
        from search.errors import ArchiveImmutable

        raise ArchiveImmutable()


class ArchiveRecord(models.Model):
    """One archived item (件). Written once by ``search.services``; never changed.

    Immutability is enforced three times: services refuse edits (``archive.immutable``),
    ``save``/``delete`` and the queryset refuse them here, and a PostgreSQL trigger
    (migration 0002) rejects any UPDATE or DELETE that bypasses the ORM.
    """

    organisation = models.ForeignKey(
        "directory.Department", verbose_name=_("立档单位"), on_delete=models.PROTECT, related_name="archive_records"
    )
    fonds_code = models.CharField(_("全宗号"), max_length=20, validators=[code_validator])
    category = models.CharField(_("门类"), max_length=4, choices=Category.choices, default=Category.WS)
    year = models.PositiveSmallIntegerField(_("年度"), validators=[MinValueValidator(1900), MaxValueValidator(2100)])
    retention = models.CharField(_("保管期限"), max_length=3, choices=Retention.choices)
    unit_code = models.CharField(_("机构（问题）"), max_length=10, blank=True, validators=[code_validator])
    item_number = models.PositiveIntegerField(_("件号"), validators=[MinValueValidator(1), MaxValueValidator(9999)])
    archive_code = models.CharField(_("档号"), max_length=80, unique=True)
    page_count = models.PositiveIntegerField(_("页数"), validators=[MinValueValidator(1)])
    responsible_party = models.CharField(_("责任者"), max_length=200)
    title = models.CharField(_("题名"), max_length=500)
    record_date = models.DateField(_("日期"))
    classification = models.PositiveSmallIntegerField(_("密级"), choices=Clearance.choices, default=Clearance.PUBLIC)
    doc_number = models.CharField(_("文号"), max_length=60, blank=True)
    doc_type = models.CharField(_("文种"), max_length=20, blank=True, choices=list(DOC_TYPES.items()))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=ArchiveSource.choices)
    # One archive record per document copy (an outgoing original or one incoming copy);
    # legacy uploads have none.
    document = models.OneToOneField(
        "documents.Document", verbose_name=_("公文"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="archive_record",
    )
    file_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    # The archived bytes live in the database: they commit or roll back with the record
    # (no orphan file after a failed archive), and no worker depends on a local disk.
    file_bytes = models.BinaryField(_("归档文件"), editable=False)
    sha256 = models.CharField(_("SHA-256 摘要"), max_length=64, validators=[RegexValidator(r"^[0-9a-f]{64}$")])
    content_text = models.TextField(_("全文"), blank=True)
    scope_departments = models.ManyToManyField(
        "directory.Department", verbose_name=_("查阅范围（部门）"), related_name="+", blank=True
    )
    readers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("指定查阅人"), related_name="readable_archive_records", blank=True
    )
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("归档人"), on_delete=models.PROTECT, related_name="+"
    )
    archived_at = models.DateTimeField(_("归档时间"))

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = _("档案")
        verbose_name_plural = _("档案")
        ordering = ["fonds_code", "year", "retention", "unit_code", "item_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["fonds_code", "category", "year", "retention", "unit_code", "item_number"],
                name="archive_item_unique_in_class",
            ),
            models.CheckConstraint(condition=Q(retention__in=Retention.values), name="archive_retention_valid"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="archive_category_valid"),
            models.CheckConstraint(condition=Q(item_number__gte=1) & Q(item_number__lte=9999), name="archive_item_range"),
            models.CheckConstraint(condition=Q(page_count__gte=1), name="archive_page_count_positive"),
            models.CheckConstraint(
                condition=Q(classification__gte=0) & Q(classification__lte=4), name="archive_classification_valid"
            ),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="archive_sha256_hex"),
        ]
        indexes = [models.Index(fields=["organisation", "year"], name="archive_org_year")]

    def __str__(self) -> str:
        return f"{self.archive_code} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            from search.errors import ArchiveImmutable

            raise ArchiveImmutable()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        from search.errors import ArchiveImmutable

        raise ArchiveImmutable()

    @property
    def catalogue_date(self) -> str:
        """DA/T 22 7.9: the date as eight digits, YYYYMMDD."""
        return self.record_date.strftime("%Y%m%d")

    @property
    def doc_type_label(self) -> str:
        return DOC_TYPES.get(self.doc_type, "")

    def expected_archive_code(self) -> str:
        return compose_archive_code(
            fonds_code=self.fonds_code,
            category=self.category,
            year=self.year,
            retention=self.retention,
            unit_code=self.unit_code,
            item_number=self.item_number,
        )


class ArchiveAttachment(models.Model):
    """One 附件 file archived with its record, in 附件说明 order: the 件 is the document
    with its attachments. Written once with the record and never changed — the same three
    guards (services, ``save``/``delete`` and the queryset, a PostgreSQL trigger from
    migration 0008) — and each file carries its own SHA-256 fixity digest, checked by
    ``search.integrity`` and the fixity API like the record's."""

    record = models.ForeignKey(ArchiveRecord, verbose_name=_("档案"), on_delete=models.PROTECT, related_name="attachments")
    position = models.PositiveSmallIntegerField(_("附件序号"))
    name = models.CharField(_("附件名称"), max_length=100)
    file_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    file_bytes = models.BinaryField(_("附件文件"), editable=False)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256 摘要"), max_length=64, validators=[RegexValidator(r"^[0-9a-f]{64}$")])

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = _("档案附件")
        verbose_name_plural = _("档案附件")
        ordering = ["record", "position"]
        constraints = [
            models.UniqueConstraint(fields=["record", "position"], name="archive_attachment_position_unique"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="archive_attachment_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} 附件{self.position} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            from search.errors import ArchiveImmutable

            raise ArchiveImmutable()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        from search.errors import ArchiveImmutable

        raise ArchiveImmutable()


class ArchiveSequence(models.Model):
    """The last item number of one class (全宗, 门类, 年度, 保管期限, 机构). Locked while a number
    is taken, so numbers are gapless: a rolled-back archive returns its number."""

    fonds_code = models.CharField(max_length=20)
    category = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    retention = models.CharField(max_length=3)
    unit_code = models.CharField(max_length=10, blank=True)
    last_item = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fonds_code", "category", "year", "retention", "unit_code"], name="archive_sequence_unique_class"
            )
        ]

    def __str__(self) -> str:
        return f"{self.fonds_code}-{self.category}·{self.year}-{self.retention}-{self.unit_code}: {self.last_item}"


class IndexOutbox(models.Model):
    """A pending index write, inserted in the transaction that changed the record.

    The row's id is the Elasticsearch external version of that write: ids grow, and the
    writes for one record are serialised by the record's transaction, so a late retry of
    an older row can never overwrite a newer document.
    """

    record = models.ForeignKey(ArchiveRecord, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # No index of its own: the partial index below serves every query, and marking a row
    # done (an UPDATE per drained row) then writes one index entry fewer (~30 % cheaper).
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Drained rows are kept (marked done): the largest id is then the newest version ever
    # handed out, which a reindex uses as the version of every document it writes.
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["available_at", "id"], condition=Q(done_at__isnull=True), name="index_outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} → record {self.record_id}"


class ArchiveText(models.Model):
    """The record's title and body cut into words by one dictionary version, and the
    record's part of its index document built from them.

    Segmenting Chinese is the costly part of indexing (jieba: ~100k characters/s), so it
    is done once, when the record is archived, and kept here; the indexer reuses it while
    the dictionary version matches and re-cuts (and replaces this row) when it does not.
    The document (``search.indexer.record_document``: every field of the index document
    but the permission ids, which live in their own tables and are read at each write)
    depends only on the immutable record and that segmentation, so it is also built once
    and kept, as the JSON sent; the drain adds the permission ids and sends it. It is
    rebuilt when ``document_version`` is not the indexer's current one. Unlike the record
    this row is derived data and may be rewritten.
    """

    record = models.OneToOneField(ArchiveRecord, on_delete=models.CASCADE, primary_key=True, related_name="segmented")
    dictionary_version = models.CharField(max_length=10)
    title_seg = models.TextField()
    body_seg = models.TextField()
    document_version = models.CharField(max_length=20, blank=True)
    document = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.record_id} ({self.dictionary_version})"
