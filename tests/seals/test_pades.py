"""Seals inside the PDF (seals/pades.py): pyHanko and poppler's pdfsig agree on what a
recipient must be told — valid, tampered, modified after sealing, untrusted, revoked.
Signed over a real LibreOffice PDF."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from officehub.office.client import convert_docx
from seals import crypto, images, pades

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
BOX = (350.0, 300.0, 469.0, 419.0)  # 42 mm square, in points from the bottom left


def docx_with_text(text: str) -> bytes:
    from docx import Document

    document = Document()
    for _ in range(3):
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def base_pdf() -> bytes:
    return convert_docx(docx_with_text("浙江省人民政府办公厅关于推进政务数据共享的通知")).pdf


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    start = NOW - dt.timedelta(days=2)
    ca_key, ca_cert = crypto.create_root_ca(
        common_name="OfficeHub 电子印章CA", organisation="浙江省人民政府办公厅", not_before=start
    )
    foreign_key, foreign_cert = crypto.create_root_ca(common_name="别处CA", organisation="别处", not_before=start)

    def seal(key_ca: Any, cert_ca: x509.Certificate, org: str) -> tuple[Any, x509.Certificate]:
        key = crypto.generate_seal_key()
        cert = crypto.issue_seal_certificate(
            ca_key=key_ca,
            ca_cert=cert_ca,
            seal_public_key=key.public_key(),
            organisation=org,
            seal_name=f"{org}公章",
            serial_number=None,
            not_before=NOW - dt.timedelta(days=1),
            not_after=NOW + dt.timedelta(days=365),
            crl_url="http://127.0.0.1:8000/seals/crl.pem",
        )
        return key, cert

    key, cert = seal(ca_key, ca_cert, "浙江省人民政府办公厅")
    second_key, second_cert = seal(ca_key, ca_cert, "浙江省财政厅")
    rogue_key, rogue_cert = seal(foreign_key, foreign_cert, "别处")
    return {
        "ca_key": ca_key,
        "ca": ca_cert,
        "key": key,
        "cert": cert,
        "second_key": second_key,
        "second_cert": second_cert,
        "rogue_key": rogue_key,
        "rogue_cert": rogue_cert,
        "foreign": foreign_cert,
        "png": images.render_round_seal(organisation="浙江省人民政府办公厅", diameter_mm=42),
    }


def sign(
    pdf: bytes, pki: dict[str, Any], *, who: str = "", field: str = "Seal1", box: tuple[float, float, float, float] = BOX
) -> bytes:
    chain = [pki["foreign"]] if who == "rogue_" else [pki["ca"]]
    return pades.sign_pdf(
        pdf,
        key=pki[f"{who}key"],
        certificate=pki[f"{who}cert"],
        chain=chain,
        field_name=field,
        page=0,
        box=box,
        seal_png=pki["png"],
        reason="发文用印",
        location="杭州",
        name="浙江省人民政府办公厅",
    )


def crl(pki: dict[str, Any], revoked_at: dt.datetime, reason: x509.ReasonFlags) -> x509.CertificateRevocationList:
    serial = pki["cert"].serial_number
    return crypto.build_crl(
        ca_key=pki["ca_key"],
        ca_cert=pki["ca"],
        revoked=[(serial, revoked_at)],
        this_update=NOW,
        next_update=NOW + dt.timedelta(days=7),
        crl_number=2,
        reasons={serial: reason},
    )


def flip_a_signed_byte(pdf: bytes) -> bytes:
    # A byte inside the first revision's page content (LibreOffice compresses streams):
    # well inside the signed byte range, far from the signature's own /Contents.
    start = pdf.index(b"stream", pdf.index(b"/Length")) + 20
    return pdf[:start] + bytes([pdf[start] ^ 0x01]) + pdf[start + 1 :]


def append_text_change(pdf: bytes) -> bytes:
    """An incremental update that draws new text on page 1 (what a forger would append)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    stream = generic.StreamObject(stream_data=b"BT /FX 24 Tf 100 400 Td (CHANGED 2027) Tj ET")
    resources = generic.DictionaryObject(
        {generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/FX"): writer.add_object(font)})}
    )
    writer.add_stream_to_page(0, writer.add_object(stream), resources=resources)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_sealed_pdf_verifies_and_shows_the_seal_where_it_was_pressed(base_pdf: bytes, pki: dict[str, Any]) -> None:
    signed = sign(base_pdf, pki)
    result = pades.verify_pdf(signed, trusted_ca=pki["ca"])
    assert result.status == "valid" and [c.field_name for c in result.signatures] == ["Seal1"]
    assert "浙江省人民政府办公厅" in (result.signatures[0].signer_subject or "")
    assert abs(result.signatures[0].signing_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    # The seal is the signature's visible appearance, on page 1 at the pressed rectangle.
    from pyhanko.pdf_utils.reader import PdfFileReader

    field = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures[0].sig_field
    assert [round(float(v)) for v in field["/Rect"]] == [round(v) for v in BOX]


def test_sealing_and_verifying_work_where_an_event_loop_runs(base_pdf: bytes, pki: dict[str, Any]) -> None:
    # pyHanko's sync calls use asyncio.run: a caller whose thread runs an event loop (an
    # async view or consumer, a sync Playwright session) must still seal and verify.
    import asyncio

    async def inside_a_loop() -> str:
        signed = sign(base_pdf, pki)
        return pades.verify_pdf(signed, trusted_ca=pki["ca"]).status

    assert asyncio.run(inside_a_loop()) == "valid"


def test_the_seal_picture_libreoffice_placed_is_found_on_its_page(pki: dict[str, Any]) -> None:
    from docx import Document
    from docx.shared import Mm

    document = Document()
    document.add_paragraph("浙江省人民政府办公厅")
    document.add_picture(io.BytesIO(pki["png"]), width=Mm(42))
    buffer = io.BytesIO()
    document.save(buffer)
    page, (x1, y1, x2, y2) = pades.seal_box(convert_docx(buffer.getvalue()).pdf)
    assert page == 0 and abs((x2 - x1) - 42 * pades.MM_TO_PT) < 1 and abs((y2 - y1) - (x2 - x1)) < 1


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [(flip_a_signed_byte, "content_changed"), (append_text_change, "modified_after_sealing")],
)
def test_any_edit_after_sealing_is_detected_with_its_reason(
    base_pdf: bytes, pki: dict[str, Any], tamper: Any, expected: str
) -> None:
    result = pades.verify_pdf(tamper(sign(base_pdf, pki)), trusted_ca=pki["ca"])
    assert result.status == expected and not result.is_valid


def test_a_second_organisations_seal_keeps_both_verifiable(base_pdf: bytes, pki: dict[str, Any]) -> None:
    twice = sign(sign(base_pdf, pki), pki, who="second_", field="Seal2", box=(150.0, 300.0, 269.0, 419.0))
    result = pades.verify_pdf(twice, trusted_ca=pki["ca"])
    assert [(c.field_name, c.status) for c in result.signatures] == [("Seal1", "valid"), ("Seal2", "valid")]


def test_a_foreign_ca_and_a_non_pdf_are_refused_precisely(base_pdf: bytes, pki: dict[str, Any]) -> None:
    assert pades.verify_pdf(sign(base_pdf, pki, who="rogue_"), trusted_ca=pki["ca"]).status == "untrusted_certificate"
    assert pades.verify_pdf(base_pdf, trusted_ca=pki["ca"]).status == "not_a_signature"
    assert pades.verify_pdf(b"PK\x03\x04 not a pdf", trusted_ca=pki["ca"]).status == "not_a_signature"


def test_revocation_after_sealing_keeps_the_seal_valid_unless_the_key_was_compromised(
    base_pdf: bytes, pki: dict[str, Any]
) -> None:
    signed = sign(base_pdf, pki)
    signed_at = pades.verify_pdf(signed, trusted_ca=pki["ca"]).signatures[0].signing_time
    assert signed_at is not None
    revoked_at = signed_at + dt.timedelta(seconds=1)
    time.sleep(max(0.0, (revoked_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)  # now past the revocation
    serial = pki["cert"].serial_number
    superseded = pades.verify_pdf(
        signed,
        trusted_ca=pki["ca"],
        crl=crl(pki, revoked_at, x509.ReasonFlags.superseded),
        revocation_reasons={serial: "superseded"},
    )
    assert superseded.status == "valid_when_sealed_since_revoked" and superseded.is_valid
    assert superseded.signatures[0].revoked_at == revoked_at
    compromised = pades.verify_pdf(
        signed,
        trusted_ca=pki["ca"],
        crl=crl(pki, revoked_at, x509.ReasonFlags.key_compromise),
        revocation_reasons={serial: "key_compromise"},
    )
    assert compromised.status == "revoked"
    before = pades.verify_pdf(signed, trusted_ca=pki["ca"], crl=crl(pki, NOW - dt.timedelta(days=1), x509.ReasonFlags.superseded))
    assert before.status == "revoked"


# --------------------------------------------------------------------------- pdfsig


def pdfsig(pdf: bytes, pki: dict[str, Any], tmp_path: Path, *, revoked: x509.CertificateRevocationList | None = None) -> str:
    """What poppler says, trusting our CA through an NSS database (as the package README
    tells recipients to do)."""
    for tool in ("pdfsig", "certutil", "crlutil"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: scripts/test.sh installs poppler-utils and libnss3-tools")
    tmp_path.mkdir(parents=True, exist_ok=True)
    nss = tmp_path / "nss"
    nss.mkdir(exist_ok=True)
    (tmp_path / "ca.pem").write_bytes(crypto.certificate_to_pem(pki["ca"]))
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "OfficeHub Seal CA", "-t", "C,C,C", "-a", "-i", str(tmp_path / "ca.pem")],
        check=True,
        capture_output=True,
    )
    if revoked is not None:
        (tmp_path / "crl.der").write_bytes(crypto.crl_to_der(revoked))
        subprocess.run(
            ["crlutil", "-I", "-d", f"sql:{nss}", "-i", str(tmp_path / "crl.der"), "-t", "1"], check=True, capture_output=True
        )
    (tmp_path / "doc.pdf").write_bytes(pdf)
    # (Not -no-ocsp: poppler 22.12 then reports "Unknown issue with Certificate" for a
    # trusted chain. Our certificates name no OCSP responder, so nothing is fetched.)
    return subprocess.run(
        ["pdfsig", "-nssdir", str(nss), str(tmp_path / "doc.pdf")], capture_output=True, text=True, check=False
    ).stdout


def test_pdfsig_says_valid_and_trusted_for_a_sealed_pdf(base_pdf: bytes, pki: dict[str, Any], tmp_path: Path) -> None:
    output = pdfsig(sign(base_pdf, pki), pki, tmp_path)
    assert "Signature is Valid." in output and "Certificate is Trusted." in output
    assert "Total document signed" in output and "Not total document signed" not in output


def test_pdfsig_sees_each_kind_of_tampering(base_pdf: bytes, pki: dict[str, Any], tmp_path: Path) -> None:
    signed = sign(base_pdf, pki)
    assert "Digest Mismatch." in pdfsig(flip_a_signed_byte(signed), pki, tmp_path / "a")
    assert "Not total document signed" in pdfsig(append_text_change(signed), pki, tmp_path / "b")
    foreign = pdfsig(sign(base_pdf, pki, who="rogue_"), pki, tmp_path / "c")
    assert "Certificate issuer isn't Trusted." in foreign and "Certificate is Trusted." not in foreign
    revoked = crl(pki, NOW - dt.timedelta(days=1), x509.ReasonFlags.key_compromise)
    assert "Certificate has been Revoked." in pdfsig(signed, pki, tmp_path / "d", revoked=revoked)
