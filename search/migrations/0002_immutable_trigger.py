"""Archived records are immutable in the database too: a trigger rejects UPDATE and DELETE
on search_archiverecord (TRUNCATE, used only by test flushes, is statement-level)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION search_archiverecord_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'archive.immutable: archived record ' || OLD.id::text || ' cannot be changed (' || TG_OP || ')',
        ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER search_archiverecord_immutable
    BEFORE UPDATE OR DELETE ON search_archiverecord
    FOR EACH ROW EXECUTE FUNCTION search_archiverecord_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS search_archiverecord_immutable ON search_archiverecord;
DROP FUNCTION IF EXISTS search_archiverecord_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
