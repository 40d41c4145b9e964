"""A dashboard table as CSV for Excel: UTF-8 with a BOM, CRLF rows, formula-safe cells."""

from __future__ import annotations

import csv
import io

from oversight.tables import Cell, Table


def _cell(value: Cell) -> str | int:
    if isinstance(value, int):
        return value
    # Spreadsheet formula injection: a text cell must not start with = + - @ (OWASP);
    # "—" (no figure) and names are unaffected.
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def table_csv(table: Table) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table["columns"])
    for row in table["rows"]:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
