"""The downloadable package verifies with stock OpenSSL; tampered copies fail there and here."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from seals import services
from tests.seals.conftest import make_docx

pytestmark = pytest.mark.django_db

OPENSSL = shutil.which("openssl")


@pytest.fixture
def package_dir(client: Any, office_seal: Any, personas: Any, tmp_path: Path) -> Path:
    if OPENSSL is None:
        pytest.fail("openssl not found; scripts/test.sh installs it")
    record = services.seal_apply(
        seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx,
        document_ref="document:5", title="关于春节值班安排的通知",
    )
    client.force_login(personas.custodian)
    response = client.get(f"/seals/records/{record.pk}/package.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    # Give the files fixed names so the tests read plainly.
    (tmp_path / f"sealed-{record.pk}.docx").rename(tmp_path / "doc.docx")
    (tmp_path / f"sealed-{record.pk}.p7s").rename(tmp_path / "doc.p7s")
    return tmp_path


def openssl_verify(
    folder: Path, docx: str = "doc.docx", p7s: str = "doc.p7s", *, crl: bool = False
) -> subprocess.CompletedProcess[str]:
    cafile = folder / "ca.pem"
    extra: list[str] = []
    if crl:
        bundle = folder / "ca-crl.pem"
        bundle.write_text((folder / "ca.pem").read_text() + (folder / "crl.pem").read_text())
        cafile, extra = bundle, ["-crl_check"]
    return subprocess.run(
        [OPENSSL or "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(folder / p7s),
         "-content", str(folder / docx), "-CAfile", str(cafile), "-out", "/dev/null", *extra],
        capture_output=True, text=True, timeout=30,
    )


def officehub_verify(folder: Path, docx: str = "doc.docx", p7s: str = "doc.p7s") -> Any:
    return services.seal_verify(docx=(folder / docx).read_bytes(), signature=(folder / p7s).read_bytes())


def test_openssl_verifies_the_package_with_only_the_ca_certificate(package_dir: Path) -> None:
    result = openssl_verify(package_dir)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert officehub_verify(package_dir).status == "valid"


def test_openssl_verifies_the_package_against_its_crl(package_dir: Path) -> None:
    result = openssl_verify(package_dir, crl=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("offset", [0, 300, -10])
def test_one_changed_byte_fails_in_openssl_and_officehub(package_dir: Path, offset: int) -> None:
    data = bytearray((package_dir / "doc.docx").read_bytes())
    data[offset] ^= 0x01
    (package_dir / "tampered.docx").write_bytes(bytes(data))
    result = openssl_verify(package_dir, docx="tampered.docx")
    assert result.returncode != 0
    assert "Verification failure" in result.stderr or "digest failure" in result.stderr
    ours = officehub_verify(package_dir, docx="tampered.docx")
    assert (ours.status, ours.message_zh) == ("content_changed", "内容已被篡改")


def test_a_damaged_signature_fails_in_openssl_and_officehub(package_dir: Path) -> None:
    signature = bytearray((package_dir / "doc.p7s").read_bytes())
    signature[-5] ^= 0x55  # inside the signature value at the end of SignerInfo
    (package_dir / "bad.p7s").write_bytes(bytes(signature))
    assert openssl_verify(package_dir, p7s="bad.p7s").returncode != 0
    assert not officehub_verify(package_dir, p7s="bad.p7s").is_valid


def test_a_foreign_ca_does_not_vouch_for_the_package(package_dir: Path) -> None:
    from seals import crypto

    _key, foreign = crypto.create_root_ca(common_name="别的CA", organisation="别的机构")
    (package_dir / "ca.pem").write_bytes(crypto.certificate_to_pem(foreign))
    result = openssl_verify(package_dir)
    assert result.returncode != 0 and "Verification failure" in result.stderr
