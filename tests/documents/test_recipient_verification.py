"""The organisations a document is sent to can verify its seal from their own copy: the
signed PDF and the package download with their incoming document, the 收文 page shows the
result, and standard tools (pdfsig, openssl) agree."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from documents.models import Document
from tests.documents import flow

pytestmark = pytest.mark.django_db


def incoming_copy(document: Document, organisation: str) -> Document:
    return document.incoming_copies.get(recipient_organisation__name=organisation)


def receiver_of(copy: Document) -> Any:
    from documents.services.flow import receivers

    return receivers(copy.recipient_organisation)[0]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/test.sh installs poppler-utils, libnss3-tools and openssl")
    return path


def test_a_recipient_downloads_the_signed_pdf_and_package_and_verifies_them_with_standard_tools(
    personas: Any, api_client: Any, tmp_path: Path
) -> None:
    document = flow.distributed(personas)
    copy = incoming_copy(document, "浙江省大数据发展管理局")
    api_client.force_authenticate(receiver_of(copy))
    pdf = api_client.get(f"/api/documents/{copy.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    package = api_client.get(f"/api/documents/{copy.pk}/package/")
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        names = set(archive.namelist())
        assert {"ca.pem", "crl.pem", "README.txt"} <= names
        archive.extractall(tmp_path)
    stem = next(name for name in names if name.endswith(".pdf")).removesuffix(".pdf")
    assert (tmp_path / f"{stem}.pdf").read_bytes() == pdf.content
    readme = (tmp_path / "README.txt").read_text(encoding="utf-8")
    assert "pdfsig" in readme and "-crl_check" in readme and "-attime" in readme

    # pdfsig, trusting ca.pem and importing crl.pem, as the README says.
    nss = tmp_path / "nssdb"
    nss.mkdir()
    subprocess.run([tool("certutil"), "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run([tool("certutil"), "-A", "-d", f"sql:{nss}", "-n", "OfficeHub Seal CA", "-t", "C,C,C", "-a", "-i",
                    str(tmp_path / "ca.pem")], check=True, capture_output=True)
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    (tmp_path / "crl.der").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    subprocess.run([tool("crlutil"), "-I", "-d", f"sql:{nss}", "-i", str(tmp_path / "crl.der"), "-t", "1"],
                   check=True, capture_output=True)
    output = subprocess.run([tool("pdfsig"), "-nssdir", str(nss), str(tmp_path / f"{stem}.pdf")],
                            capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid." in output and "Certificate is Trusted." in output and "Total document signed" in output

    # OpenSSL over the DOCX and its .p7s, with the CRL.
    (tmp_path / "ca-crl.pem").write_bytes((tmp_path / "ca.pem").read_bytes() + (tmp_path / "crl.pem").read_bytes())
    verified = subprocess.run(
        [tool("openssl"), "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / f"{stem}.p7s"),
         "-content", str(tmp_path / f"{stem}.docx"), "-CAfile", str(tmp_path / "ca-crl.pem"), "-crl_check",
         "-out", "/dev/null"],
        capture_output=True, text=True, check=False,
    )
    assert verified.returncode == 0 and "Verification successful" in verified.stderr


def test_the_receiving_page_and_api_show_the_seal_checked_from_the_recipients_side(personas: Any, client: Any,
                                                                                  api_client: Any) -> None:
    document = flow.distributed(personas)
    copy = incoming_copy(document, "浙江省财政厅")
    reader = receiver_of(copy)
    api_client.force_authenticate(reader)
    body = api_client.get(f"/api/documents/{copy.pk}/seal-verification/").json()
    assert (body["status"], body["valid"], body["package_status"]) == ("valid", True, "valid")
    assert [s["organisation"] for s in body["seals"]] == ["浙江省人民政府办公厅"]
    client.force_login(reader)
    page = client.get(f"/documents/{copy.pk}/").content.decode()
    assert 'id="seal-verification" data-status="valid"' in page and "下载签章版式文件（PDF）" in page


@pytest.mark.parametrize(("reason", "expected", "valid"), [
    ("superseded", "valid_when_sealed_since_revoked", True),
    ("key_compromise", "revoked", False),  # a stolen key could back-date: nothing it signed stands
])
def test_a_seal_revoked_after_sealing_is_judged_by_the_reason(personas: Any, api_client: Any, reason: str,
                                                              expected: str, valid: bool) -> None:
    from django.db import transaction

    from seals.models import SealRecord
    from seals.services import seal_revoke

    document = flow.distributed(personas)
    copy = incoming_copy(document, "浙江省财政厅")
    api_client.force_authenticate(receiver_of(copy))
    seal_id = SealRecord.objects.get().seal_id
    later = timezone.now() + dt.timedelta(hours=1)
    with time_machine.travel(later, tick=False), transaction.atomic():
        seal_revoke(actor=personas.admin, seal_id=seal_id, reason=reason, note="换发新章")
    with time_machine.travel(later + dt.timedelta(minutes=1), tick=False):
        body = api_client.get(f"/api/documents/{copy.pk}/seal-verification/").json()
    assert (body["status"], body["valid"]) == (expected, valid)
    assert body["seals"][0]["revoked_at"]


def test_who_may_not_see_the_copy_cannot_download_or_verify_it(personas: Any, api_client: Any) -> None:
    document = flow.distributed(personas)
    copy = incoming_copy(document, "浙江省财政厅")
    api_client.force_authenticate(personas.city_drafter)  # 杭州市: neither sender nor recipient
    for path in ("pdf", "package", "seal-verification"):
        response = api_client.get(f"/api/documents/{copy.pk}/{path}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_an_unsealed_document_has_no_signed_copy(personas: Any, api_client: Any) -> None:
    document = flow.draft(personas)
    api_client.force_authenticate(personas.drafter)
    response = api_client.get(f"/api/documents/{document.pk}/pdf/")
    assert response.status_code == 404 and response.json()["code"] == "document.not_sealed"
