"""Re-check every archived record (DA/T 70 四性: authenticity, integrity, usability).

Metadata valid, item numbers gapless in each class, the file opens, the SHA-256 digest
matches — the record's and each archived 附件's. Each problem is one line naming the record's archive code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.core.exceptions import ValidationError

from search import files
from search.errors import ArchiveFileInvalid
from search.models import ArchiveAttachment, ArchiveRecord, ArchiveSequence


def archive_problems() -> Iterator[str]:
    classes: dict[tuple[str, str, int, str, str], list[int]] = defaultdict(list)
    for record in ArchiveRecord.objects.order_by("pk").iterator(chunk_size=200):
        code = record.archive_code
        key = (record.fonds_code, record.category, record.year, record.retention, record.unit_code)
        classes[key].append(record.item_number)
        try:
            record.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            yield f"{code}: 元数据无效：{'；'.join(exc.messages)}"
        if record.archive_code != record.expected_archive_code():
            yield f"{code}: 档号与元数据不符（应为 {record.expected_archive_code()}）"
        if record.year != record.record_date.year:
            yield f"{code}: 年度 {record.year} 与日期 {record.catalogue_date} 不符"
        if record.organisation.fonds_code != record.fonds_code:
            yield f"{code}: 全宗号与立档单位（{record.organisation.fonds_code}）不符"
        data = bytes(record.file_bytes)
        if files.sha256_hex(data) != record.sha256:
            yield f"{code}: 文件摘要不符（SHA-256 校验失败，文件可能被篡改）"
        try:
            files.check_opens(data, record.content_type)
        except ArchiveFileInvalid as exc:
            yield f"{code}: 文件无法打开：{exc.message}"
        else:
            if record.content_type == files.DOCX_TYPE:
                stamp = files.StampFields(
                    fonds_code=record.fonds_code, year=record.year, item_number=record.item_number,
                    unit_code=record.unit_code, retention_label=record.get_retention_display(),
                    page_count=record.page_count,
                ).rows()
                if files.read_stamp(data) != stamp:
                    yield f"{code}: 归档章缺失或与元数据不符"
    for attachment in ArchiveAttachment.objects.select_related("record").order_by("pk").iterator(chunk_size=200):
        if files.sha256_hex(bytes(attachment.file_bytes)) != attachment.sha256:
            yield (f"{attachment.record.archive_code}: 附件{attachment.position}（{attachment.name}）文件摘要不符"
                   "（SHA-256 校验失败，文件可能被篡改）")
    sequences = {
        (s.fonds_code, s.category, s.year, s.retention, s.unit_code): s.last_item for s in ArchiveSequence.objects.all()
    }
    for key in sorted(set(classes) | set(sequences)):
        numbers = sorted(classes.get(key, []))
        label = f"{key[0]}-{key[1]}·{key[2]}-{key[3]}" + (f"-{key[4]}" if key[4] else "")
        expected = list(range(1, len(numbers) + 1))
        if numbers != expected:
            missing = sorted(set(range(1, (numbers[-1] if numbers else 0) + 1)) - set(numbers))
            dupes = sorted({n for n in numbers if numbers.count(n) > 1})
            yield f"{label}: 件号不连续（缺 {missing[:20]}，重复 {dupes[:20]}）"
        if sequences.get(key, 0) != len(numbers):
            yield f"{label}: 计数器为 {sequences.get(key, 0)}，实有 {len(numbers)} 件"
