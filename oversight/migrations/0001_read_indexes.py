"""The indexes the 督办 dashboard's aggregations read through (oversight/selectors.py).

They live on other apps' tables (documents, messaging) but serve only this app's reads,
so this app owns them: the owning apps' models and migrations stay as they are, and
removing the dashboard removes its indexes. Each is partial and/or covering so the
range scans are index-only (PostgreSQL ``INCLUDE``; SQLite, the first-run fallback,
gets the plain key).

- 在办 and 逾期: the open steps (a few percent of the table, scattered through it), with
  kind, department and due time: read without touching the step table;
- the scope join: every aggregation joins documents for their holding organisation,
  direction, status and drafting department — read from this index alone;
- handling times: steps finished in a date range (done or returned), with what the
  aggregation reads (kind, started_at, document, department);
- 催办: reminders sent in a date range;
- message activity: messages sent in a date range, with sender and conversation.

Measured in bench/dashboard.py: without the first two, the 在办 view read the whole step
table (the open steps sit on most of its pages).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = [
    # (name, table, key, include, where)
    ("oversight_step_open", "documents_step", "document_id", "kind, department_id, due_at", "state = 'open'"),
    ("oversight_document_scope", "documents_document", "id",
     "direction, status, issuer_id, recipient_organisation_id, drafting_department_id", ""),
    ("oversight_step_finished", "documents_step", "finished_at", "kind, started_at, document_id, department_id",
     "state IN ('done', 'returned')"),
    ("oversight_reminder_created", "documents_reminder", "created_at", "step_id, automatic", ""),
    ("oversight_message_created", "messaging_message", "created_at", "sender_id, conversation_id", ""),
]


def create(apps: Any, schema_editor: Any) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, key, include, where in INDEXES:
        sql = f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({key})"
        if postgres and include:
            sql += f" INCLUDE ({include})"
        if where:
            sql += f" WHERE {where}"
        schema_editor.execute(sql)


def drop(apps: Any, schema_editor: Any) -> None:
    for name, *_rest in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0002_seal_record"),
        ("messaging", "0002_meetings"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
