"""A 公文's 附件 files are archived with it (DA/T 22: the 件 is the document with its
attachments): in order, byte for byte, immutable, each with its own SHA-256 fixity digest
that the fixity API, the record page and the integrity check verify."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from search import services as search_services
from search.errors import ArchiveImmutable
from search.integrity import archive_problems
from search.models import ArchiveAttachment
from tests.documents import attachment_files as files
from tests.documents.flow import draft
from tests.documents.test_attachments import _distribute, attach

pytestmark = pytest.mark.django_db


def test_the_archive_record_holds_each_attachment_with_its_fixity(personas: Any, api_client: Any, client: Any) -> None:
    document = draft(personas)
    sent = [files.pdf("附件一"), files.xlsx()]
    attach(personas, document, "清单.pdf", sent[0])
    attach(personas, document, "项目表.xlsx", sent[1])
    document = _distribute(personas, document)
    with transaction.atomic():
        record = search_services.archive_document(document_id=document.pk, actor=personas.archivist, retention="Y")
    rows = list(ArchiveAttachment.objects.filter(record=record).order_by("position"))
    assert [(row.position, row.name, row.file_name) for row in rows] == [(1, "清单", "清单.pdf"), (2, "项目表", "项目表.xlsx")]
    assert [bytes(row.file_bytes) for row in rows] == sent
    assert [row.sha256 for row in rows] == [hashlib.sha256(data).hexdigest() for data in sent]

    api_client.force_authenticate(personas.archivist)
    fixity = api_client.get(f"/api/archives/records/{record.pk}/fixity/").json()
    assert fixity["ok"] is True and [(a["number"], a["ok"]) for a in fixity["attachments"]] == [(1, True), (2, True)]
    download = api_client.get(f"/api/archives/records/{record.pk}/attachments/2/file/")
    assert download.status_code == 200 and download.content == sent[1] and download["X-Content-SHA256"] == rows[1].sha256
    client.force_login(personas.archivist)
    page = client.get(f"/archives/records/{record.pk}/?check=1").content.decode()
    assert 'id="record-attachments"' in page and page.count('data-fixity="ok"') == 2
    assert list(archive_problems()) == []

    # Whoever may not see the record may not have its attachments either.
    api_client.force_authenticate(personas.outsider)
    assert api_client.get(f"/api/archives/records/{record.pk}/attachments/1/file/").status_code == 404
    client.force_login(personas.outsider)
    assert client.get(f"/archives/records/{record.pk}/attachments/1/").status_code == 404

    # Archived attachments never change: not through the ORM, not behind its back.
    with pytest.raises(ArchiveImmutable):
        rows[0].save()
    with pytest.raises(ArchiveImmutable):
        ArchiveAttachment.objects.filter(pk=rows[0].pk).update(name="改")
    with pytest.raises(DatabaseError), transaction.atomic():
        ArchiveAttachment.objects.filter(pk=rows[0].pk)._raw_delete(using="default")
