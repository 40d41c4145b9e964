"""Kept index documents are compressed with lz4 instead of pglz on PostgreSQL.

Every drained record reads its ~2 KB document, which PostgreSQL stores compressed (TOAST);
decompressing pglz cost about as much as the rest of the read (measured on 2,000
documents: 12 → 9 µs per record with lz4). Values written before keep pglz until they are
rewritten. Servers built without lz4 keep pglz: the drain is slower, never wrong.
"""

from django.db import migrations

FORWARD = """
DO $$
BEGIN
    ALTER TABLE search_archivetext ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available; archive documents stay pglz-compressed';
END
$$;
"""

BACKWARD = "ALTER TABLE search_archivetext ALTER COLUMN document SET COMPRESSION pglz;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("search", "0006_outbox_available_at_unindexed")]

    operations = [migrations.RunPython(forward, backward)]
