"""Seal API and pages: who may see and do what, coded errors, no key material anywhere."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from officehub.demo import DEMO_PASSWORD
from officehub.errors import ApplicationError
from seals import services
from seals.models import Seal, SealRecord
from tests.seals.conftest import TEST_KEK, make_docx

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(office_seal: Any, personas: Any) -> SealRecord:
    return services.seal_apply(
        seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx,
        document_ref="document:9", title="关于春节值班安排的通知",
    )


def as_user(api_client: Any, user: Any) -> Any:
    api_client.force_authenticate(user)
    return api_client


def login(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def files(record: SealRecord, *, flip: bool = False) -> dict[str, Any]:
    record = SealRecord.objects.get(pk=record.pk)
    docx = bytearray(record.sealed_docx)
    if flip:
        docx[200] ^= 0xFF
    return {
        "docx": SimpleUploadedFile("x.docx", bytes(docx)),
        "p7s": SimpleUploadedFile("x.p7s", bytes(record.signature)),
    }


def assert_no_key_material(text: str) -> None:
    assert "PRIVATE KEY" not in text
    assert TEST_KEK not in text
    for seal in Seal.objects.all():
        assert base64.b64encode(bytes(seal.wrapped_key)).decode()[:40] not in text
        assert bytes(seal.wrapped_key).hex()[:40] not in text


# --------------------------------------------------------------------------- API


def test_verify_api_answers_valid_and_content_changed(api_client: Any, record: SealRecord, personas: Any) -> None:
    # Public: no login needed (anyone a document reaches verifies its seal).
    good = api_client.post("/api/seals/verify/", files(record), format="multipart")
    assert good.status_code == 200
    body = good.json()
    assert body["valid"] is True and body["status"] == "valid" and body["message"] == "签章有效" and body["kind"] == "docx"
    [seal] = body["seals"]
    assert seal["seal"] == "浙江省人民政府办公厅公章" and seal["organisation"] == "浙江省人民政府办公厅" and seal["signed_at"]
    bad = api_client.post("/api/seals/verify/", files(record, flip=True), format="multipart")
    assert bad.status_code == 200
    assert (bad.json()["valid"], bad.json()["status"], bad.json()["message"]) == (False, "content_changed", "内容已被篡改")


def test_verify_api_needs_both_files(api_client: Any, record: SealRecord, personas: Any) -> None:
    upload = files(record)
    response = api_client.post("/api/seals/verify/", {"docx": upload["docx"]}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "verify.missing_file"


def test_verify_api_refuses_what_is_not_a_pdf_or_a_docx_with_its_signature(api_client: Any, record: SealRecord) -> None:
    for upload in (
        {"pdf": SimpleUploadedFile("x.pdf", b"PK\x03\x04 a zip, not a pdf")},
        {"docx": SimpleUploadedFile("x.docx", b"%PDF-1.7"), "p7s": SimpleUploadedFile("x.p7s", bytes(record.signature))},
        {"docx": files(record)["docx"], "p7s": SimpleUploadedFile("x.p7s", b"-----BEGIN PKCS7-----")},
    ):
        response = api_client.post("/api/seals/verify/", upload, format="multipart")
        assert response.status_code == 415 and response.json()["code"] == "verify.unsupported_type"


def test_verify_api_refuses_an_oversized_pdf_and_is_rate_limited_per_address(
    api_client: Any, record: SealRecord, settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("seals.edges.PDF_MAX_BYTES", 1024)
    big = api_client.post("/api/seals/verify/", {"pdf": SimpleUploadedFile("x.pdf", b"%PDF-" + b"0" * 2048)}, format="multipart")
    assert big.status_code == 413 and big.json()["code"] == "seal.upload_too_large"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "verify": "3/min burst 3"}}
    codes = [api_client.post("/api/seals/verify/", files(record), format="multipart").status_code for _ in range(5)]
    assert codes[:2] == [200, 200] and codes[-1] == 429  # one token went to the oversized upload


def test_verify_api_refuses_an_oversized_upload(api_client: Any, record: SealRecord, personas: Any, settings: Any) -> None:
    settings.DOCX_IMPORT_MAX_BYTES = 1024
    response = api_client.post("/api/seals/verify/", files(record), format="multipart")
    assert response.status_code == 413 and response.json()["code"] == "seal.upload_too_large"


def test_verify_api_and_pages_work_without_the_kek(
    api_client: Any, client: Any, record: SealRecord, personas: Any, settings: Any
) -> None:
    settings.SEAL_KEK = None
    response = as_user(api_client, personas.staff).post("/api/seals/verify/", files(record), format="multipart")
    assert response.status_code == 200 and response.json()["status"] == "valid"
    login(client, personas.custodian)
    paths = ("/seals/", f"/seals/{record.seal_id}/usage/", f"/seals/records/{record.pk}/", "/seals/ca.pem", "/seals/crl.pem", "/")
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/seals/records/{record.pk}/package.zip").status_code == 200
    # Sealing itself is refused with the coded error.
    issue = as_user(api_client, personas.admin).post(
        "/api/seals/", {"kind": "organisation", "owner_organisation_id": record.seal.owner_organisation_id,
                        "custodian_ids": [personas.custodian.pk]}, format="json",
    )
    assert issue.status_code == 503 and issue.json()["code"] == "seal.kek_missing"


def test_seal_list_shows_custodians_their_seals_and_admins_all(
    api_client: Any, office_seal: Any, personas: Any, django_assert_max_num_queries: Any
) -> None:
    mine = as_user(api_client, personas.custodian).get("/api/seals/")
    assert [seal["id"] for seal in mine.json()] == [office_seal.pk]
    assert mine.json()[0]["custodians"][0]["username"] == "huangyan"
    assert as_user(api_client, personas.other_org_custodian).get("/api/seals/").json() == []
    assert as_user(api_client, personas.drafter).get("/api/seals/").json() == []
    with django_assert_max_num_queries(6):
        everything = as_user(api_client, personas.admin).get("/api/seals/")
    assert [seal["id"] for seal in everything.json()] == [office_seal.pk]
    assert_no_key_material(mine.content.decode() + everything.content.decode())


def test_outsiders_get_the_same_404_for_seals_and_records_they_cannot_see(
    api_client: Any, client: Any, record: SealRecord, personas: Any
) -> None:
    seal_id = record.seal_id
    client_api = as_user(api_client, personas.other_org_custodian)
    missing = client_api.get("/api/seals/999999/")
    hidden = client_api.get(f"/api/seals/{seal_id}/")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()
    assert client_api.get(f"/api/seals/{seal_id}/records/").status_code == 404
    assert client_api.get(f"/api/seals/records/{record.pk}/").status_code == 404
    assert client_api.get(f"/api/seals/records/{record.pk}/package/").status_code == 404
    assert client_api.post(f"/api/seals/{seal_id}/suspend/").status_code == 404
    login(client, personas.outsider)
    for path in (f"/seals/{seal_id}/usage/", f"/seals/records/{record.pk}/", f"/seals/records/{record.pk}/package.zip",
                 "/seals/999999/usage/", "/seals/records/999999/"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/seals/{seal_id}/suspend/").status_code == 404
    assert Seal.objects.get(pk=seal_id).status == "active"


def test_staff_who_neither_sealed_nor_keeps_the_seal_cannot_open_its_record(
    client: Any, record: SealRecord, personas: Any
) -> None:
    login(client, personas.staff)
    assert client.get(f"/seals/records/{record.pk}/").status_code == 404


def test_admin_issues_activates_and_revokes_through_the_api(api_client: Any, ca: Any, personas: Any, office: Any) -> None:
    client = as_user(api_client, personas.admin)
    created = client.post(
        "/api/seals/",
        {"kind": "special", "owner_organisation_id": office.pk, "custodian_ids": [personas.custodian.pk],
         "lower_text": "合同专用章", "activate": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "active" and body["name"] == "浙江省人民政府办公厅合同专用章"
    assert "BEGIN CERTIFICATE" in body["certificate_pem"]
    assert base64.b64decode(body["image_png_base64"])[:4] == b"\x89PNG"
    assert_no_key_material(created.content.decode())
    revoked = client.post(f"/api/seals/{body['id']}/revoke/", {"reason": "superseded", "note": "换发"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = client.post(f"/api/seals/{body['id']}/revoke/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "seal.invalid_transition"
    ca_body = client.get("/api/seals/ca/").json()
    assert ca_body["crl_number"] == 2 and "BEGIN X509 CRL" in ca_body["crl_pem"]


def test_custodian_cannot_issue_or_revoke(api_client: Any, office_seal: Any, personas: Any, office: Any) -> None:
    client = as_user(api_client, personas.custodian)
    response = client.post(
        "/api/seals/", {"kind": "organisation", "owner_organisation_id": office.pk, "custodian_ids": [personas.custodian.pk]},
        format="json",
    )
    assert response.status_code == 403 and response.json()["code"] == "seal.permission_denied"
    response = client.post(f"/api/seals/{office_seal.pk}/revoke/", {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "seal.permission_denied"
    assert Seal.objects.get(pk=office_seal.pk).status == "active"
    # ... but may suspend the seal they keep.
    suspended = client.post(f"/api/seals/{office_seal.pk}/suspend/", {"note": "U盾遗失"}, format="json")
    assert suspended.json()["status"] == "suspended"


def test_record_detail_api_reverifies(api_client: Any, record: SealRecord, personas: Any) -> None:
    body = as_user(api_client, personas.custodian).get(f"/api/seals/records/{record.pk}/").json()
    assert body["record"]["title"] == "关于春节值班安排的通知" and body["verification"]["status"] == "valid"


# --------------------------------------------------------------------------- pages


def test_verify_page_reports_valid_and_the_precise_reason(client: Any, record: SealRecord, personas: Any) -> None:
    # Public, like the API: no login.
    assert "验章" in client.get("/seals/verify/").content.decode()
    good = client.post("/seals/verify/", files(record)).content.decode()
    assert "✔ 签章有效" in good and "浙江省人民政府办公厅公章" in good
    bad = client.post("/seals/verify/", files(record, flip=True)).content.decode()
    assert "内容已被篡改" in bad and "✘" in bad
    missing = client.post("/seals/verify/", {})
    assert missing.status_code == 400 and "同时上传" in missing.content.decode()
    wrong = client.post("/seals/verify/", {"pdf": SimpleUploadedFile("x.pdf", b"not a pdf")})
    assert wrong.status_code == 415 and "PDF" in wrong.content.decode()


def test_seal_list_and_usage_pages(client: Any, record: SealRecord, personas: Any) -> None:
    page = login(client, personas.custodian).get("/seals/").content.decode()
    assert "浙江省人民政府办公厅公章" in page and "data:image/png;base64," in page and "启用" in page
    usage = client.get(f"/seals/{record.seal_id}/usage/").content.decode()
    assert "关于春节值班安排的通知" in usage and "seal.used" in usage and "seal.issued" in usage
    assert "您不是任何印章的印章管理员" in login(client, personas.drafter).get("/seals/").content.decode()


def test_page_actions_go_through_the_services(client: Any, office_seal: Any, personas: Any) -> None:
    login(client, personas.custodian)
    client.post(f"/seals/{office_seal.pk}/suspend/")
    assert Seal.objects.get(pk=office_seal.pk).status == "suspended"
    response = client.post(f"/seals/{office_seal.pk}/resume/", follow=True)
    assert "只有系统管理员" in response.content.decode()
    assert Seal.objects.get(pk=office_seal.pk).status == "suspended"
    login(client, personas.admin).post(f"/seals/{office_seal.pk}/resume/")
    assert Seal.objects.get(pk=office_seal.pk).status == "active"


def test_ca_and_crl_downloads(client: Any, office_seal: Any, personas: Any) -> None:
    login(client, personas.staff)
    ca = client.get("/seals/ca.pem")
    assert ca.status_code == 200 and b"BEGIN CERTIFICATE" in ca.content
    crl = client.get("/seals/crl.pem")
    assert crl.status_code == 200 and b"BEGIN X509 CRL" in crl.content


def test_package_holds_docx_signature_ca_crl_and_readme(client: Any, record: SealRecord, personas: Any) -> None:
    response = login(client, personas.custodian).get(f"/seals/records/{record.pk}/package.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        stored = SealRecord.objects.get(pk=record.pk)
        assert archive.read(f"sealed-{record.pk}.docx") == bytes(stored.sealed_docx)
        assert archive.read(f"sealed-{record.pk}.p7s") == bytes(stored.signature)
        readme = archive.read("README.txt").decode()
    assert names == {f"sealed-{record.pk}.docx", f"sealed-{record.pk}.p7s", "ca.pem", "crl.pem", "README.txt"}
    assert "openssl cms -verify -binary -inform DER" in readme
    assert_no_key_material(response.content.decode("latin-1"))


def test_no_key_material_on_admin_pages(client: Any, record: SealRecord, personas: Any) -> None:
    client.post("/login/", {"username": "admin", "password": DEMO_PASSWORD})
    seal_id = record.seal_id
    pages = [
        "/admin/seals/seal/", f"/admin/seals/seal/{seal_id}/change/",
        "/admin/seals/certificateauthority/", f"/admin/seals/certificateauthority/{record.seal.authority_id}/change/",
        "/admin/seals/sealrecord/", f"/admin/seals/sealrecord/{record.pk}/change/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.content.decode()
        assert_no_key_material(text)
        assert "wrapped_key" not in text and "key_id" not in text
    assert "浙江省人民政府办公厅公章" in client.get("/admin/seals/seal/").content.decode()


def test_an_ageing_crl_is_re_signed_when_downloaded_and_served_cached_without_the_kek(
    client: Any, office_seal: Any, personas: Any, settings: Any
) -> None:
    import datetime as dt

    import time_machine
    from cryptography import x509

    from seals.models import CertificateAuthority

    login(client, personas.staff)
    first = x509.load_pem_x509_crl(client.get("/seals/crl.pem").content)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)  # past half of the 30-day validity
    with time_machine.travel(later, tick=True):
        login(client, personas.staff)  # the earlier session has long expired
        settings.SEAL_KEK = None
        cached = x509.load_pem_x509_crl(client.get("/seals/crl.pem").content)
        settings.SEAL_KEK = TEST_KEK
        fresh = x509.load_pem_x509_crl(client.get("/seals/crl.pem").content)
        again = x509.load_pem_x509_crl(client.get("/seals/crl.pem").content)
    number = lambda crl: crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number  # noqa: E731
    assert number(cached) == number(first) == 1
    assert number(fresh) == number(again) == 2  # re-signed once, then served as is
    assert fresh.next_update_utc > later
    assert CertificateAuthority.objects.get(is_active=True).crl_number == 2


def test_admin_replaces_custodians_and_the_old_one_can_no_longer_seal(
    api_client: Any, office_seal: Any, personas: Any
) -> None:
    from officehub.directory.models import Role, RoleAssignment
    from officehub.errors import ApplicationError

    RoleAssignment.objects.create(user=personas.reviewer, role=Role.SEAL_CUSTODIAN)
    path = f"/api/seals/{office_seal.pk}/custodians/"
    refused = as_user(api_client, personas.custodian).put(path, {"custodian_ids": [personas.reviewer.pk]}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "seal.permission_denied"
    foreign = as_user(api_client, personas.admin).put(path, {"custodian_ids": [personas.other_org_custodian.pk]}, format="json")
    assert foreign.status_code == 400 and foreign.json()["code"] == "seal.invalid"
    changed = as_user(api_client, personas.admin).put(path, {"custodian_ids": [personas.reviewer.pk]}, format="json")
    assert changed.status_code == 200
    assert [user["username"] for user in changed.json()["custodians"]] == ["zhaomin"]
    with pytest.raises(ApplicationError) as caught:
        services.seal_apply(
            seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx, document_ref="document:1", title="通知"
        )
    assert caught.value.code == "seal.not_custodian"
    assert services.seal_apply(
        seal_id=office_seal.pk, actor=personas.reviewer, build_docx=make_docx, document_ref="document:1", title="通知"
    ).actor_id == personas.reviewer.pk


@pytest.mark.parametrize("length", [21, 22, 23, 64, 100])
def test_a_seal_with_any_name_the_api_accepts_is_issued_and_seals(
    api_client: Any, ca: Any, personas: Any, office: Any, length: int
) -> None:
    # An X.509 common name holds at most 64 UTF-8 bytes (21 Chinese characters); the API
    # accepts names of up to 100 characters. The certificate carries a shortened name,
    # the registry the full one.
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = ("浙江省人民政府办公厅" + "关于机关事务管理的专用电子印章" * 7)[:length]
    assert len(name) == length
    client = as_user(api_client, personas.admin)
    created = client.post(
        "/api/seals/",
        {"kind": "organisation", "name": name, "owner_organisation_id": office.pk,
         "custodian_ids": [personas.custodian.pk], "activate": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == name and Seal.objects.get(pk=body["id"]).name == name
    certificate = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(str(common_name).encode()) <= 64
    if length <= 21:
        assert common_name == name
    else:
        assert str(common_name).endswith("…") and name.startswith(str(common_name)[:-1])
    assert base64.b64decode(body["image_png_base64"])[:4] == b"\x89PNG"

    record = services.seal_apply(
        seal_id=body["id"], actor=personas.custodian, build_docx=make_docx, document_ref="document:1", title="通知",
    )
    verified = as_user(api_client, personas.custodian).get(f"/api/seals/records/{record.pk}/").json()["verification"]
    assert verified["valid"] is True
    assert verified["seal"]["name"] == name


def test_a_nul_in_a_note_or_name_is_refused_not_stored(client: Any, office_seal: Any, personas: Any, office: Any) -> None:
    # PostgreSQL text and the audit log's JSON cannot hold NUL: the page's hand-read note
    # reached both and answered 500.
    client.raise_request_exception = False
    login(client, personas.admin)
    for verb in ("suspend", "revoke"):
        response = client.post(f"/seals/{office_seal.pk}/{verb}/", {"note": "送检\x00", "reason": "superseded"})
        assert response.status_code == 400  # refused at the edge (officehub/middleware.py)
        assert Seal.objects.get(pk=office_seal.pk).status == "active"
    for call in (
        lambda: services.seal_suspend(actor=personas.admin, seal_id=office_seal.pk, note="\x00"),
        lambda: services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk, note="a\x00"),
        lambda: services.seal_issue(actor=personas.admin, kind="organisation", owner_organisation_id=office.pk,
                                    custodian_ids=[personas.custodian.pk], name="公章\x00"),
        lambda: services.seal_apply(seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx,
                                    document_ref="document:1", title="通知\x00"),
    ):
        with pytest.raises(ApplicationError) as caught:
            call()
        assert (caught.value.code, caught.value.status) == ("seal.invalid", 400)
    assert Seal.objects.get(pk=office_seal.pk).status == "active"
    assert Seal.objects.count() == 1 and SealRecord.objects.count() == 0
