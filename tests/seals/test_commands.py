"""Management commands: CA init, issuance, verification, KEK rotation, demo seals."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from officehub.audit.models import AuditEntry
from officehub.errors import ApplicationError
from seals import crypto, services
from seals.models import CertificateAuthority, Seal, SealRecord
from tests.seals.conftest import OTHER_KEK, TEST_KEK, make_docx

pytestmark = pytest.mark.django_db


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def seal_once(seal: Any, actor: Any) -> SealRecord:
    return services.seal_apply(
        seal_id=seal.pk, actor=actor, build_docx=make_docx, document_ref="document:3", title="关于春节值班安排的通知"
    )


def test_seal_init_ca_is_idempotent_unless_forced(db: None) -> None:
    assert "已创建" in run("seal_init_ca")
    assert "已存在" in run("seal_init_ca")
    assert CertificateAuthority.objects.count() == 1
    assert "已创建" in run("seal_init_ca", "--force", "--rsa")
    assert CertificateAuthority.objects.count() == 2
    assert CertificateAuthority.objects.get(is_active=True).key_type == "rsa"


def test_seal_init_ca_without_a_kek_fails_clearly(db: None, settings: Any) -> None:
    settings.SEAL_KEK = None
    with pytest.raises(CommandError, match=r"seal\.kek_missing"):
        run("seal_init_ca")
    assert CertificateAuthority.objects.count() == 0


def test_seal_issue_command(ca: Any, personas: Any) -> None:
    output = run("seal_issue", "--org", "浙政办发", "--kind", "organisation", "--custodian", "huangyan", "--activate")
    seal = Seal.objects.get()
    assert seal.status == "active" and seal.name in output
    assert set(seal.custodians.values_list("username", flat=True)) == {"huangyan"}
    with pytest.raises(CommandError, match=r"seal\.invalid"):
        run("seal_issue", "--org", "浙政办发", "--kind", "organisation", "--custodian", "fengxue")
    with pytest.raises(CommandError, match="找不到"):
        run("seal_issue", "--org", "不存在的机关", "--kind", "organisation", "--custodian", "huangyan")


def test_seal_verify_command_prints_valid_or_the_reason(office_seal: Any, personas: Any, tmp_path: Path) -> None:
    record = SealRecord.objects.get(pk=seal_once(office_seal, personas.custodian).pk)
    (tmp_path / "a.docx").write_bytes(bytes(record.sealed_docx))
    (tmp_path / "a.p7s").write_bytes(bytes(record.signature))
    output = run("seal_verify", str(tmp_path / "a.docx"), str(tmp_path / "a.p7s"))
    assert output.splitlines()[0] == "有效"

    tampered = bytearray(record.sealed_docx)
    tampered[100] ^= 0x01
    (tmp_path / "b.docx").write_bytes(bytes(tampered))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("seal_verify", str(tmp_path / "b.docx"), str(tmp_path / "a.p7s"), stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().splitlines()[0] == "内容已被篡改（content_changed）"
    with pytest.raises(CommandError, match="无法读取"):
        run("seal_verify", str(tmp_path / "missing.docx"), str(tmp_path / "a.p7s"))


def test_rewrap_moves_every_key_to_the_new_kek(
    office_seal: Any, personas: Any, settings: Any, tmp_path: Path, ca: Any
) -> None:
    kek_file = tmp_path / "new_kek"
    kek_file.write_text(OTHER_KEK + "\n")
    output = run("seal_rewrap_keys", "--new-kek-file", str(kek_file))
    assert "1 个CA私钥和 1 个印章私钥" in output and str(kek_file) in output
    assert OTHER_KEK not in output and TEST_KEK not in output

    seal = Seal.objects.get(pk=office_seal.pk)
    authority = CertificateAuthority.objects.get(pk=ca.pk)
    for row in (seal, authority):
        with pytest.raises(crypto.KeyUnwrapError):
            crypto.unwrap_private_key(bytes(row.wrapped_key), crypto.parse_kek(TEST_KEK), key_id=row.key_id)
        crypto.unwrap_private_key(bytes(row.wrapped_key), crypto.parse_kek(OTHER_KEK), key_id=row.key_id)
    # The old KEK no longer seals; the new one does.
    with pytest.raises(ApplicationError) as caught:
        seal_once(office_seal, personas.custodian)
    assert caught.value.code == "seal.kek_invalid"
    settings.SEAL_KEK = OTHER_KEK
    assert seal_once(office_seal, personas.custodian).pk
    services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk)  # the CA key opens too
    assert AuditEntry.objects.filter(action="seal.keys_rewrapped").count() == 1


def test_rewrap_with_a_bad_file_or_wrong_current_kek_changes_nothing(
    office_seal: Any, settings: Any, tmp_path: Path
) -> None:
    before = bytes(Seal.objects.get(pk=office_seal.pk).wrapped_key)
    bad = tmp_path / "bad"
    bad.write_text("c2hvcnQ=")  # base64 of 5 bytes
    with pytest.raises(CommandError, match="内容无效"):
        run("seal_rewrap_keys", "--new-kek-file", str(bad))
    good = tmp_path / "good"
    good.write_text(base64.b64encode(bytes(range(200, 232))).decode())
    settings.SEAL_KEK = OTHER_KEK  # not the KEK the keys are wrapped under
    with pytest.raises(CommandError, match=r"seal\.kek_invalid"):
        run("seal_rewrap_keys", "--new-kek-file", str(good))
    assert bytes(Seal.objects.get(pk=office_seal.pk).wrapped_key) == before
    assert not AuditEntry.objects.filter(action="seal.keys_rewrapped").exists()


def test_seed_demo_seals_command(personas: Any) -> None:
    output = run("seed_demo_seals")
    assert "新建并启用：浙江省人民政府办公厅公章" in output and "跳过（没有印章管理员）：浙江省人民政府" in output
    assert "没有需要新建的公章" in run("seed_demo_seals")


def test_seal_verify_command_on_a_document_sealed_before_revocation(
    office_seal: Any, personas: Any, tmp_path: Path
) -> None:
    import datetime as dt

    import time_machine

    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True):
        record = SealRecord.objects.get(pk=seal_once(office_seal, personas.custodian).pk)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=True):
        services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk, reason="superseded")
    (tmp_path / "a.docx").write_bytes(bytes(record.sealed_docx))
    (tmp_path / "a.p7s").write_bytes(bytes(record.signature))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("seal_verify", str(tmp_path / "a.docx"), str(tmp_path / "a.p7s"), stdout=out)
    assert exit_info.value.code == 2  # valid as sealed, but not an unqualified "有效"
    assert out.getvalue().splitlines()[0] == "签章有效；印章其后已吊销（valid_when_sealed_since_revoked）"
    assert "吊销时间" in out.getvalue()
