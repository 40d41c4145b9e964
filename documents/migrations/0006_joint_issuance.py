"""联合发文: JointIssuer rows, and SealRequest.organisation (one pending request per organisation)."""

import django.db.models.deletion
from django.db import migrations, models


def backfill_organisation(apps, schema_editor):
    SealRequest = apps.get_model("documents", "SealRequest")
    for request in SealRequest.objects.filter(organisation__isnull=True).select_related("document"):
        request.organisation_id = request.document.issuer_id
        request.save(update_fields=["organisation"])


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0001_initial"),
        ("documents", "0005_attachment_files"),
    ]

    operations = [
        migrations.CreateModel(
            name="JointIssuer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField(verbose_name="排列顺序")),
                ("signature_name", models.CharField(max_length=100, verbose_name="发文机关署名")),
                ("layout_seal_id", models.BigIntegerField(blank=True, null=True, verbose_name="版面印章")),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="joint_issuers", to="documents.document"
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="joint_issued_documents",
                        to="directory.department",
                        verbose_name="发文机关",
                    ),
                ),
            ],
            options={
                "verbose_name": "联合发文机关",
                "verbose_name_plural": "联合发文机关",
                "ordering": ["document", "position"],
                "constraints": [
                    models.UniqueConstraint(fields=("document", "organisation"), name="joint_issuer_unique_organisation"),
                    models.UniqueConstraint(fields=("document", "position"), name="joint_issuer_unique_position"),
                    models.CheckConstraint(condition=models.Q(("position__lt", 4)), name="joint_issuer_position_range"),
                ],
            },
        ),
        migrations.AddField(
            model_name="sealrequest",
            name="organisation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="directory.department",
                verbose_name="用印机关",
            ),
        ),
        migrations.RunPython(backfill_organisation, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="sealrequest", name="seal_request_one_pending"),
        migrations.AddConstraint(
            model_name="sealrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")),
                fields=("document", "organisation"),
                name="seal_request_one_pending_per_organisation",
                nulls_distinct=False,
            ),
        ),
    ]
