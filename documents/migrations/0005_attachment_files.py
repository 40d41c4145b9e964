"""附件 become rows: files (bytes stored once by digest) or 随文附件 (name and text), in the
order of the 附件说明, and each version lists the attachments it had.

The old ``Document.attachments`` JSON list ({"title", "body"} items, the names printed in
the 附件说明 and the text printed after the body) becomes 随文附件 rows in the same order,
linked to the document's latest version (what earlier versions had was never recorded).
Going back writes every current row's name (and text) into the list again; files are
kept only by name there.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def forward(apps, schema_editor):
    Document = apps.get_model("documents", "Document")
    Attachment = apps.get_model("documents", "Attachment")
    DocumentVersion = apps.get_model("documents", "DocumentVersion")
    VersionAttachment = apps.get_model("documents", "VersionAttachment")
    rows = Document.objects.exclude(legacy_attachments=[]).values_list("pk", "legacy_attachments", "drafter_id", "created_at")
    for document_id, items, drafter_id, created_at in rows.iterator(chunk_size=500):
        created = []
        for position, item in enumerate(items or [], start=1):
            if isinstance(item, dict):
                title, body = str(item.get("title", "")), str(item.get("body", ""))
            else:
                title, body = str(item), ""
            title = title.strip()[:100]
            if not title:
                continue
            created.append(Attachment.objects.create(
                document_id=document_id, position=len(created) + 1, name=title, kind="text", text=body,
                uploaded_by_id=drafter_id, created_at=created_at,
            ))
        latest = DocumentVersion.objects.filter(document_id=document_id).order_by("-number").first()
        if latest is not None:
            VersionAttachment.objects.bulk_create([
                VersionAttachment(version=latest, attachment=row, position=row.position) for row in created
            ])


def backward(apps, schema_editor):
    Document = apps.get_model("documents", "Document")
    Attachment = apps.get_model("documents", "Attachment")
    current = Attachment.objects.filter(removed_at__isnull=True).order_by("document_id", "position", "pk")
    lists = {}
    for row in current.iterator(chunk_size=500):
        lists.setdefault(row.document_id, []).append({"title": row.name, "body": row.text})
    for document_id, items in lists.items():
        Document.objects.filter(pk=document_id).update(legacy_attachments=items)


class Migration(migrations.Migration):

    dependencies = [
        ('documents', '0004_document_disclosure'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Out of the way of the new reverse accessor ``document.attachments`` until the
        # data is moved.
        migrations.RenameField(model_name='document', old_name='attachments', new_name='legacy_attachments'),
        migrations.CreateModel(
            name='AttachmentContent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sha256', models.CharField(max_length=64, unique=True, verbose_name='SHA-256 摘要')),
                ('size', models.PositiveBigIntegerField(verbose_name='大小（字节）')),
                ('data', models.BinaryField(verbose_name='文件')),
                ('created_at', models.DateTimeField(verbose_name='存储时间')),
            ],
            options={
                'verbose_name': '附件文件',
                'verbose_name_plural': '附件文件',
                'constraints': [models.CheckConstraint(condition=models.Q(('sha256__regex', '^[0-9a-f]{64}$')), name='attachment_content_sha256_hex'), models.CheckConstraint(condition=models.Q(('size__gte', 1)), name='attachment_content_not_empty')],
            },
        ),
        migrations.CreateModel(
            name='Attachment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField(verbose_name='顺序')),
                ('name', models.CharField(max_length=100, verbose_name='附件名称')),
                ('kind', models.CharField(choices=[('pdf', 'PDF'), ('docx', 'Word（DOCX）'), ('xlsx', 'Excel（XLSX）'), ('ofd', 'OFD'), ('png', 'PNG 图片'), ('jpeg', 'JPEG 图片'), ('text', '随文附件')], max_length=10, verbose_name='类型')),
                ('file_name', models.CharField(blank=True, max_length=255, verbose_name='文件名')),
                ('content_type', models.CharField(blank=True, max_length=100, verbose_name='文件类型')),
                ('size', models.PositiveBigIntegerField(default=0, verbose_name='大小（字节）')),
                ('sha256', models.CharField(blank=True, max_length=64, verbose_name='SHA-256 摘要')),
                ('text', models.TextField(blank=True, verbose_name='附件正文')),
                ('created_at', models.DateTimeField(verbose_name='上传时间')),
                ('removed_at', models.DateTimeField(blank=True, null=True, verbose_name='移除时间')),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='documents.document')),
                ('source', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='documents.attachment', verbose_name='来文附件')),
                ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='上传人')),
                ('content', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='documents.attachmentcontent', verbose_name='文件')),
            ],
            options={
                'verbose_name': '附件',
                'verbose_name_plural': '附件',
                'ordering': ['document', 'position', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='VersionAttachment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField(verbose_name='顺序')),
                ('attachment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='documents.attachment')),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attachment_links', to='documents.documentversion')),
            ],
            options={
                'ordering': ['version', 'position'],
            },
        ),
        migrations.AddIndex(
            model_name='attachment',
            index=models.Index(condition=models.Q(('removed_at__isnull', True)), fields=['document', 'position'], name='attachment_current'),
        ),
        migrations.AddConstraint(
            model_name='attachment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'text'), ('content__isnull', True), ('sha256', ''), ('size', 0)), models.Q(models.Q(('kind', 'text'), _negated=True), ('content__isnull', False), ('sha256__regex', '^[0-9a-f]{64}$'), ('size__gte', 1)), _connector='OR'), name='attachment_file_has_content'),
        ),
        migrations.AddConstraint(
            model_name='versionattachment',
            constraint=models.UniqueConstraint(fields=('version', 'attachment'), name='version_attachment_unique'),
        ),
        migrations.AddConstraint(
            model_name='versionattachment',
            constraint=models.UniqueConstraint(fields=('version', 'position'), name='version_attachment_position_unique'),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(model_name='document', name='legacy_attachments'),
    ]
