"""The 归档文件目录 (DA/T 22-2015 8.2 catalogue) as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from search.selectors import SearchHit

CATALOGUE_HEADER = ["序号", "档号", "文号", "责任者", "题名", "日期", "页数", "密级", "备注"]


def _cell(value: object) -> str:
    text = str(value)
    # Spreadsheet formula injection: a cell must not start with = + - @ (OWASP CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def catalogue_csv(hits: Iterable[SearchHit]) -> str:
    """UTF-8 with BOM so that spreadsheet programs read the Chinese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CATALOGUE_HEADER)
    for number, hit in enumerate(hits, start=1):
        writer.writerow(
            [
                number,
                _cell(hit["archive_code"]),
                _cell(hit["doc_number"]),
                _cell(hit["responsible_party"]),
                _cell(hit["title"]),
                hit["catalogue_date"],
                hit["page_count"],
                hit["classification_label"],
                _cell(hit["note"]),
            ]
        )
    return out.getvalue()
