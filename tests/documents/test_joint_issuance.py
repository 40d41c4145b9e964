"""联合发文 (issue 15 item 2): a lead organisation and co-issuers. Each co-issuer's 签发领导
signs off in parallel after the lead's 核稿/会签; the 发文字号 is the lead's; each
organisation's custodian seals with its own seal, and the signed PDF carries one PAdES
signature per organisation, each verifiable by pyHanko, poppler's pdfsig and OpenSSL."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from documents import selectors, services
from documents.models import Document, JointIssuer, SealRequest, Step
from documents.services import DraftFields
from officehub.errors import ApplicationError, NotFound
from seals import crypto
from seals.models import SealRecord
from seals.selectors import active_ca
from seals.services import seal_verify, seal_verify_pdf
from tests import concurrency
from tests.documents import flow, joint
from tests.documents.flow import act, dept, org
from tests.documents.joint import BIG_DATA, CITY, FINANCE, LEAD, user

pytestmark = pytest.mark.django_db


def code_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ApplicationError) as caught:
        act(call, **kwargs)
    return caught.value.code


# --- choosing co-issuers ----------------------------------------------------------------------


def test_a_draft_names_its_co_issuers_in_order_after_the_lead(personas: Any) -> None:
    document = joint.draft(personas, (FINANCE, BIG_DATA))
    rows = list(JointIssuer.objects.filter(document=document).order_by("position").values_list("organisation__name", "position"))
    assert rows == [(LEAD, 0), (FINANCE, 1), (BIG_DATA, 2)]
    assert document.issuer.name == LEAD and document.is_joint
    # the drafter changes them (and can make the document single again)
    act(services.document_update, document_id=document.pk, actor=personas.drafter,
        fields=DraftFields(co_issuer_ids=[org(BIG_DATA).pk]))
    assert list(document.joint_issuers.values_list("organisation__name", flat=True)) == [LEAD, BIG_DATA]
    act(services.document_update, document_id=document.pk, actor=personas.drafter, fields=DraftFields(co_issuer_ids=[]))
    assert not flow.refresh(document).is_joint


@pytest.mark.parametrize(
    ("co_issuers", "expected"),
    [
        (lambda: [org(LEAD).pk], "document.co_issuer_is_lead"),
        (lambda: [org(BIG_DATA).pk, org(BIG_DATA).pk], "document.duplicate_co_issuer"),
        (lambda: [dept(LEAD, "秘书处").pk], "document.unknown_co_issuer"),  # a division, not an organisation
        (lambda: [dept(BIG_DATA, "办公室").pk], "document.unknown_co_issuer"),
        (lambda: [987654321], "document.unknown_co_issuer"),
        (lambda: [org(BIG_DATA).pk, org(FINANCE).pk, org("杭州市人民政府").pk, org("西湖区人民政府").pk],
         "document.too_many_co_issuers"),
    ],
)
def test_bad_co_issuers_are_refused_with_a_code(personas: Any, co_issuers: Any, expected: str) -> None:
    before = Document.objects.count()
    with pytest.raises(ApplicationError) as caught:
        joint.draft(personas, (), co_issuer_ids=co_issuers())
    assert (caught.value.code, caught.value.status) == (expected, 400)
    assert Document.objects.count() == before


def test_co_issuers_that_make_no_sense_for_the_document_are_refused(personas: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        joint.draft(personas, (BIG_DATA,), doc_type="minutes", title="专题会议纪要")
    assert caught.value.code == "document.joint_not_supported"
    with pytest.raises(ApplicationError) as caught:
        joint.draft(personas, (BIG_DATA,), primary_recipient_ids=[org(BIG_DATA).pk])
    assert caught.value.code == "document.co_issuer_is_recipient"
    document = joint.draft(personas, (BIG_DATA,))
    assert code_of(services.document_update, document_id=document.pk, actor=personas.drafter,
                   fields=DraftFields(cc_recipient_ids=[org(BIG_DATA).pk])) == "document.co_issuer_is_recipient"
    assert code_of(services.document_update, document_id=document.pk, actor=personas.drafter,
                   fields=DraftFields(co_issuer_ids=[org(LEAD).pk])) == "document.co_issuer_is_lead"


def test_co_issuers_cannot_change_after_sign_off(personas: Any) -> None:
    document = joint.sign_all(personas, joint.to_sign_off(personas))
    assert document.status == "recheck"
    with pytest.raises(ApplicationError) as caught:
        act(services.document_update, document_id=document.pk, actor=personas.reviewer2,
            fields=DraftFields(co_issuer_ids=[org(FINANCE).pk]))
    assert caught.value.code == "document.invalid_transition"


def test_the_api_takes_and_shows_co_issuers_and_refuses_bad_ones(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    body = {"doc_type": "notice", "title": "关于联合开展专项检查的通知", "body": "正文。",
            "primary_recipient_ids": [org(CITY).pk], "co_issuer_ids": [org(BIG_DATA).pk]}
    response = client.post("/api/documents/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert [i["name"] for i in data["joint_issuers"]] == [LEAD, BIG_DATA]
    assert data["joint_issuers"][1]["sign_off"] == "pending" and data["joint_issuers"][1]["seal"] == "pending"
    bad = client.post("/api/documents/", {**body, "co_issuer_ids": [org(BIG_DATA).pk, org(BIG_DATA).pk]},
                      content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "document.duplicate_co_issuer"
    bad = client.post("/api/documents/", {**body, "co_issuer_ids": ["x"]}, content_type="application/json")
    assert bad.status_code == 400
    patched = client.patch(f"/api/documents/{data['id']}/", {"co_issuer_ids": [org(LEAD).pk]},
                           content_type="application/json")
    assert patched.status_code == 400 and patched.json()["code"] == "document.co_issuer_is_lead"


# --- 签发: in parallel, the document waits for every organisation ----------------------------


def test_every_organisation_signs_off_in_parallel_and_the_document_waits_for_all(personas: Any) -> None:
    document = joint.to_sign_off(personas, (BIG_DATA, FINANCE))
    steps = Step.objects.filter(document=document, kind="sign_off", state="open")
    assert sorted(steps.values_list("department__name", flat=True)) == sorted([LEAD, BIG_DATA, FINANCE])
    act(services.document_sign_off, document_id=document.pk, actor=user("weidong"), approve=True, opinion="同意")
    assert flow.refresh(document).status == "sign_off"
    act(services.document_sign_off, document_id=document.pk, actor=personas.leader, approve=True, opinion="同意")
    document = flow.refresh(document)
    assert document.status == "sign_off" and document.signer == personas.leader  # the lead's 签发人
    assert document.issued_on is None  # the 成文日期 is the last sign-off's
    act(services.document_sign_off, document_id=document.pk, actor=user("zhuwen"), approve=True, opinion="同意")
    document = flow.refresh(document)
    assert document.status == "recheck" and document.issued_on is not None
    assert document.signer == personas.leader
    assert Step.objects.filter(document=document, kind="recheck", state="open").count() == 1


def test_an_upward_joint_document_prints_every_organisations_signer_and_the_leads_number(personas: Any) -> None:
    from documents.docx.render import docx_to_text

    document = joint.to_seal(personas, (BIG_DATA,), doc_type="request", title="关于联合申请政务数据共享试点的请示")
    text = docx_to_text(selectors.document_docx(document))
    # 7.2.6: 签发人 of each organisation, in issuer order, beside the lead's 发文字号
    assert "签发人：" in text and "刘洋" in text and "卫东" in text
    assert text.index("刘洋") < text.index("卫东")
    assert document.doc_number in text and "浙数局发" not in text


def test_a_co_issuers_leader_signs_only_for_their_own_organisation(personas: Any) -> None:
    document = joint.to_sign_off(personas, (BIG_DATA, FINANCE))
    act(services.document_sign_off, document_id=document.pk, actor=user("weidong"), approve=True)
    # 卫东 has signed for 大数据局: the lead's and 财政厅's steps are not his
    assert code_of(services.document_sign_off, document_id=document.pk, actor=user("weidong"), approve=True) == (
        "document.not_assigned"
    )
    # the lead's leader cannot sign for 财政厅 either once the lead has signed
    act(services.document_sign_off, document_id=document.pk, actor=personas.leader, approve=True)
    assert code_of(services.document_sign_off, document_id=document.pk, actor=personas.leader, approve=True) == (
        "document.not_assigned"
    )
    open_steps = Step.objects.filter(document=document, kind="sign_off", state="open")
    assert list(open_steps.values_list("department__name", flat=True)) == [FINANCE]
    assert flow.refresh(document).status == "sign_off"


def test_outsiders_get_404_for_a_joint_document(personas: Any, client: Any) -> None:
    document = joint.to_sign_off(personas)
    for outsider in (personas.city_drafter, user("zhuwen"), user("qinyu")):  # 财政厅 is no party here
        with pytest.raises(NotFound):
            act(services.document_sign_off, document_id=document.pk, actor=outsider, approve=True)
        client.force_login(outsider)
        assert client.get(f"/api/documents/{document.pk}/").status_code == 404
    # the co-issuer's leader sees it (he holds its step), its other staff do not
    client.force_login(user("weidong"))
    assert client.get(f"/api/documents/{document.pk}/").status_code == 200
    client.force_login(personas.outsider)
    assert client.get(f"/api/documents/{document.pk}/").status_code == 404


def test_a_co_issuer_returning_it_closes_the_other_sign_offs(personas: Any) -> None:
    document = joint.to_sign_off(personas)
    act(services.document_sign_off, document_id=document.pk, actor=user("weidong"), approve=False, opinion="数据口径需核实")
    document = flow.refresh(document)
    assert document.status == "draft" and document.return_reason == "数据口径需核实"
    assert not Step.objects.filter(document=document, kind="sign_off", state="open").exists()


def test_a_co_issuer_without_a_signing_leader_is_refused_at_submit(personas: Any) -> None:
    document = joint.draft(personas, ("西湖区人民政府",))
    assert code_of(services.document_submit, document_id=document.pk, actor=personas.drafter) == "document.no_handler"


# --- 编号 and 用印 -------------------------------------------------------------------------------


def test_the_number_is_the_leads_and_each_organisation_requests_its_own_seal(personas: Any) -> None:
    document = joint.to_seal(personas)
    assert document.doc_number.startswith("浙政办发〔")
    requesters = {
        step.department.name: {u.username for u in step.holders.all()}
        for step in Step.objects.filter(document=document, kind="seal", role="request", state="open")
    }
    assert set(requesters) == {LEAD, BIG_DATA}
    assert "fengxue" in requesters[BIG_DATA] and personas.drafter.username in requesters[LEAD]
    # 大数据局's office cannot name the lead's seal (nor the lead's a foreign one)
    assert code_of(services.seal_request_create, document_id=document.pk, actor=user("fengxue"),
                   seal_id=flow.office_seal_id(LEAD)) == "document.unknown_seal"
    assert code_of(services.seal_request_create, document_id=document.pk, actor=personas.drafter,
                   seal_id=flow.office_seal_id(BIG_DATA)) == "document.unknown_seal"


def test_each_requester_is_offered_their_own_organisations_seals(personas: Any, client: Any) -> None:
    document = joint.to_seal(personas)
    seals = {name: flow.office_seal_id(name) for name in (LEAD, BIG_DATA)}
    for reader, name in ((personas.drafter, LEAD), (user("fengxue"), BIG_DATA)):
        client.force_login(reader)
        response = client.get(f"/api/documents/{document.pk}/seal-options/")
        assert response.status_code == 200
        assert [option["id"] for option in response.json()] == [seals[name]]
    request = act(services.seal_request_create, document_id=document.pk, actor=user("fengxue"),
                  seal_id=flow.office_seal_id(BIG_DATA))
    client.force_login(user("fengxue"))
    shown = client.get(f"/api/documents/{document.pk}/").json()["seal_requests"]
    assert [(r["id"], r["organisation"]["name"]) for r in shown] == [(request.pk, BIG_DATA)]


def test_three_organisations_seal_one_pdf_with_three_valid_signatures(personas: Any) -> None:
    document = joint.to_distribute(personas, (BIG_DATA, FINANCE))
    assert document.status == "distribute"
    pdf = selectors.signed_pdf(document)
    assert pdf is not None
    result = seal_verify_pdf(pdf=pdf)
    assert [c.status for c in result.signatures] == ["valid"] * 3
    assert [selectors._organisation_of(c.signer_subject) for c in result.signatures] == [LEAD, BIG_DATA, FINANCE]
    verification = selectors.document_seal_verification(document)
    assert verification is not None and verification["valid"] and len(verification["seals"]) == 3
    status = selectors.joint_issuer_status(document)
    assert [(s["name"], s["sign_off"], s["seal"]) for s in status] == [
        (LEAD, "signed", "sealed"), (BIG_DATA, "signed", "sealed"), (FINANCE, "signed", "sealed")
    ]


def test_no_seal_is_applied_until_every_organisation_has_requested(personas: Any) -> None:
    document = joint.to_seal(personas)
    request = act(services.seal_request_create, document_id=document.pk, actor=personas.drafter,
                  seal_id=flow.office_seal_id(LEAD))
    assert code_of(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian,
                   approve=True) == "document.seal_requests_incomplete"
    assert SealRecord.objects.count() == 0


def test_once_sealing_has_begun_a_rejection_holds_up_only_its_own_organisation(personas: Any) -> None:
    co = (BIG_DATA, FINANCE)
    document = joint.to_seal(personas, co)
    requests = joint.request_seals(personas, document, co)
    act(services.seal_request_decide, seal_request_id=requests[LEAD].pk, actor=personas.custodian, approve=True)
    act(services.seal_request_decide, seal_request_id=requests[BIG_DATA].pk, actor=user("fengxue"), approve=False,
        reason="请核对")
    # 财政厅 seals although 大数据局 has not asked again: the page was fixed by the first seal
    act(services.seal_request_decide, seal_request_id=requests[FINANCE].pk, actor=user("qinyu"), approve=True)
    assert flow.refresh(document).status == "seal"
    status = {s["name"]: s["seal"] for s in selectors.joint_issuer_status(flow.refresh(document))}
    assert status == {LEAD: "sealed", BIG_DATA: "rejected", FINANCE: "sealed"}
    again = act(services.seal_request_create, document_id=document.pk, actor=user("fengxue"),
                seal_id=flow.office_seal_id(BIG_DATA))
    act(services.seal_request_decide, seal_request_id=again.pk, actor=user("fengxue"), approve=True)
    document = flow.refresh(document)
    assert document.status == "distribute"
    pdf = selectors.signed_pdf(document)
    assert pdf is not None
    result = seal_verify_pdf(pdf=pdf)
    assert [selectors._organisation_of(c.signer_subject) for c in result.signatures] == [LEAD, FINANCE, BIG_DATA]
    assert all(c.status == "valid" for c in result.signatures)


def test_a_custodian_cannot_seal_for_another_organisation(personas: Any) -> None:
    document = joint.to_seal(personas)
    requests = joint.request_seals(personas, document)
    # 冯雪 keeps 大数据局's seal: the lead's request is not hers to decide
    assert code_of(services.seal_request_decide, seal_request_id=requests[LEAD].pk, actor=user("fengxue"),
                   approve=True) == "document.not_assigned"
    assert code_of(services.seal_request_decide, seal_request_id=requests[BIG_DATA].pk, actor=personas.custodian,
                   approve=True) == "document.not_assigned"
    with pytest.raises(NotFound):  # 财政厅's custodian is no party
        act(services.seal_request_decide, seal_request_id=requests[BIG_DATA].pk, actor=user("qinyu"), approve=True)
    assert SealRecord.objects.count() == 0
    assert set(SealRequest.objects.filter(document=document).values_list("status", flat=True)) == {"pending"}


def test_each_organisation_seals_and_the_document_moves_on_only_after_the_last(personas: Any) -> None:
    document = joint.to_seal(personas)
    requests = joint.request_seals(personas, document)
    act(services.seal_request_decide, seal_request_id=requests[BIG_DATA].pk, actor=user("fengxue"), approve=True)
    partial = flow.refresh(document)
    assert partial.status == "seal" and partial.seal_record_id is None and selectors.signed_pdf(partial) is None
    act(services.seal_request_decide, seal_request_id=requests[LEAD].pk, actor=personas.custodian, approve=True)
    document = flow.refresh(document)
    assert document.status == "distribute" and document.seal_record_id is not None
    pdf = selectors.signed_pdf(document)
    assert pdf is not None
    result = seal_verify_pdf(pdf=pdf)
    assert [c.status for c in result.signatures] == ["valid", "valid"]
    # the second signature covers the first: one PDF, the first sealing's bytes are its prefix
    first = SealRecord.objects.get(pk=SealRequest.objects.get(pk=requests[BIG_DATA].pk).seal_record_id)
    assert pdf.startswith(bytes(first.signed_pdf or b"")) and len(pdf) > len(bytes(first.signed_pdf or b""))
    subjects = [c.signer_subject or "" for c in result.signatures]
    assert BIG_DATA in subjects[0] and LEAD in subjects[1]  # in the order they sealed
    # each organisation's CMS over the one sealed DOCX verifies too
    for request in SealRequest.objects.filter(document=document):
        record = SealRecord.objects.get(pk=request.seal_record_id)
        assert bytes(record.sealed_docx) == selectors.document_docx(document)
        assert seal_verify(docx=bytes(record.sealed_docx), signature=bytes(record.signature)).is_valid
    act(services.document_distribute, document_id=document.pk, actor=personas.reviewer)
    for copy in flow.refresh(document).incoming_copies.all():
        assert selectors.signed_pdf(copy) == pdf


def test_after_a_rejection_the_organisation_must_use_the_seal_already_on_the_page(personas: Any) -> None:
    from seals.models import SealKind
    from seals.services import seal_activate, seal_issue

    document = joint.to_seal(personas)
    requests = joint.request_seals(personas, document)
    act(services.seal_request_decide, seal_request_id=requests[LEAD].pk, actor=personas.custodian, approve=True)
    act(services.seal_request_decide, seal_request_id=requests[BIG_DATA].pk, actor=user("fengxue"), approve=False,
        reason="请核对")
    with flow.transaction.atomic():
        special = seal_issue(actor=None, kind=SealKind.SPECIAL, owner_organisation_id=org(BIG_DATA).pk,
                             custodian_ids=[user("fengxue").pk], check_permission=False, lower_text="业务专用章")
        seal_activate(actor=None, seal_id=special.pk, check_permission=False)
    assert code_of(services.seal_request_create, document_id=document.pk, actor=user("fengxue"),
                   seal_id=special.pk) == "document.seal_fixed"
    again = act(services.seal_request_create, document_id=document.pk, actor=user("fengxue"),
                seal_id=flow.office_seal_id(BIG_DATA))
    act(services.seal_request_decide, seal_request_id=again.pk, actor=user("fengxue"), approve=True)
    assert flow.refresh(document).status == "distribute"


# --- the signed PDF, checked by poppler and OpenSSL ------------------------------------------


def cms_signatures(pdf: bytes) -> list[tuple[bytes, bytes]]:
    """(signed bytes, DER CMS) of every signature in ``pdf``, read with pyHanko's parser."""
    from asn1crypto import cms
    from pyhanko.pdf_utils.reader import PdfFileReader

    out = []
    for signature in PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures:
        a, b, c, d = (int(x) for x in signature.sig_object["/ByteRange"])
        contents = bytes(signature.sig_object["/Contents"])
        out.append((pdf[a : a + b] + pdf[c : c + d], cms.ContentInfo.load(contents, strict=False).dump()))
    return out


def test_both_seals_verify_in_pdfsig_and_openssl(personas: Any, tmp_path: Path) -> None:
    from tests.seals.test_pades import pdfsig

    document = joint.to_distribute(personas)
    pdf = selectors.signed_pdf(document)
    assert pdf is not None
    ca = active_ca()
    assert ca is not None
    ca_cert = crypto.load_certificate(ca.certificate_pem.encode())
    output = pdfsig(pdf, {"ca": ca_cert}, tmp_path / "nss")
    blocks = [b for b in output.split("Signature #")[1:]]
    assert len(blocks) == 2, output
    for block in blocks:
        assert "Signature is Valid." in block and "Certificate is Trusted." in block, output
    assert LEAD in blocks[0] and BIG_DATA in blocks[1]
    # the last signature covers the whole file
    assert "Total document signed" in blocks[1] and "Not total document signed" not in blocks[1]

    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is missing: scripts/test.sh installs it"
    (tmp_path / "ca.pem").write_text(ca.certificate_pem)
    signatures = cms_signatures(pdf)
    assert len(signatures) == 2
    for index, (content, der) in enumerate(signatures):
        (tmp_path / f"content{index}.bin").write_bytes(content)
        (tmp_path / f"sig{index}.der").write_bytes(der)
        checked = subprocess.run(
            [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / f"sig{index}.der"),
             "-content", str(tmp_path / f"content{index}.bin"), "-CAfile", str(tmp_path / "ca.pem"),
             "-purpose", "any", "-out", "/dev/null"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        assert checked.returncode == 0 and "Verification successful" in checked.stderr, checked.stderr
    # a flipped byte in what the first signature covers fails in OpenSSL
    content, der = signatures[0]
    broken = bytearray(content)
    broken[len(broken) // 2] ^= 0x01
    (tmp_path / "broken.bin").write_bytes(bytes(broken))
    failed = subprocess.run(
        [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig0.der"),
         "-content", str(tmp_path / "broken.bin"), "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "any",
         "-out", "/dev/null"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert failed.returncode != 0


def test_the_verification_package_carries_every_organisations_docx_signature(
    personas: Any, client: Any, tmp_path: Path
) -> None:
    import zipfile

    document = joint.to_distribute(personas)
    act(services.document_distribute, document_id=document.pk, actor=personas.reviewer)
    openssl = shutil.which("openssl")
    assert openssl is not None
    # the lead's office and a recipient organisation get the same package
    incoming = flow.refresh(document).incoming_copies.get()
    for reader, copy in ((personas.reviewer, document), (personas.city_reviewer, incoming)):
        client.force_login(reader)
        response = client.get(f"/documents/{copy.pk}/package/")
        assert response.status_code == 200
        folder = tmp_path / str(copy.pk)
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            archive.extractall(folder)
        signatures = sorted(folder.glob("*.p7s"))
        docx = next(folder.glob("*.docx"))
        assert len(signatures) == 2
        assert "联合发文" in (folder / "README.txt").read_text()
        for p7s in signatures:
            checked = subprocess.run(
                [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(p7s), "-content", str(docx),
                 "-CAfile", str(folder / "ca.pem"), "-out", "/dev/null"],
                capture_output=True, text=True, timeout=30, check=False,
            )
            assert checked.returncode == 0, checked.stderr


# --- concurrency ---------------------------------------------------------------------------------


def run_at_once(calls: list[Any]) -> list[Any]:
    return concurrency.run_at_once(calls, atomic=True, lock_timeout="20s", expected=ApplicationError)


@pytest.mark.django_db(transaction=True)
def test_two_co_issuers_signing_off_at_once_both_count_and_open_one_recheck(personas: Any) -> None:
    document = joint.to_sign_off(personas, (BIG_DATA, FINANCE))
    act(services.document_sign_off, document_id=document.pk, actor=personas.leader, approve=True)
    results = run_at_once([
        lambda: services.document_sign_off(document_id=document.pk, actor=user("weidong"), approve=True, opinion="同意"),
        lambda: services.document_sign_off(document_id=document.pk, actor=user("zhuwen"), approve=True, opinion="同意"),
    ])
    assert not any(isinstance(r, ApplicationError) for r in results), results
    document = flow.refresh(document)
    assert document.status == "recheck" and document.issued_on is not None
    assert Step.objects.filter(document=document, kind="sign_off", state="done").count() == 3
    assert Step.objects.filter(document=document, kind="recheck").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_custodians_sealing_at_once_both_sign_one_pdf(personas: Any) -> None:
    document = joint.to_seal(personas)
    requests = joint.request_seals(personas, document)
    results = run_at_once([
        lambda: services.seal_request_decide(seal_request_id=requests[LEAD].pk, actor=personas.custodian, approve=True),
        lambda: services.seal_request_decide(seal_request_id=requests[BIG_DATA].pk, actor=user("fengxue"), approve=True),
    ])
    assert not any(isinstance(r, ApplicationError) for r in results), results
    document = flow.refresh(document)
    assert document.status == "distribute"
    pdf = selectors.signed_pdf(document)
    assert pdf is not None
    result = seal_verify_pdf(pdf=pdf)
    assert [c.status for c in result.signatures] == ["valid", "valid"]
    organisations = {LEAD if LEAD in (c.signer_subject or "") else BIG_DATA for c in result.signatures}
    assert organisations == {LEAD, BIG_DATA}
    assert Step.objects.filter(document=document, kind="distribute", state="open").count() == 1


# --- pages ----------------------------------------------------------------------------------------


def test_the_draft_page_chooses_co_issuers_in_order_and_the_detail_page_shows_each_organisation(
    personas: Any, client: Any
) -> None:
    client.force_login(personas.drafter)
    form = client.get("/documents/new/?doc_type=notice").content.decode()
    assert "联合发文机关" in form and 'name="co_issuer_ids"' in form
    response = client.post("/documents/new/", {
        "doc_type": "notice", "title": "关于联合开展专项检查的通知", "body": "正文。", "urgency": "normal",
        "classification": "1", "disclosure": "withheld", "primary_recipient_ids": [str(org(CITY).pk)],
        "joint_form": "1", "co_issuer_ids": [str(org(FINANCE).pk), str(org(BIG_DATA).pk), ""],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    document = Document.objects.latest("pk")
    assert list(document.joint_issuers.values_list("organisation__name", flat=True)) == [LEAD, FINANCE, BIG_DATA]
    refused = client.post("/documents/new/", {
        "doc_type": "notice", "title": "重复", "body": "正文。", "urgency": "normal", "classification": "1",
        "disclosure": "withheld", "primary_recipient_ids": [str(org(CITY).pk)],
        "joint_form": "1", "co_issuer_ids": [str(org(FINANCE).pk), str(org(FINANCE).pk)],
    })
    assert refused.status_code == 400 and "联合发文机关重复" in refused.content.decode()

    document = joint.to_seal(personas)
    requests = joint.request_seals(personas, document)
    act(services.seal_request_decide, seal_request_id=requests[BIG_DATA].pk, actor=user("fengxue"), approve=True)
    client.force_login(personas.custodian)
    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert 'id="joint-issuers"' in page and "（主办）" in page
    assert f'data-organisation="{org(BIG_DATA).pk}" data-sign-off="signed" data-seal="sealed"' in page
    assert f'data-organisation="{org(LEAD).pk}" data-sign-off="signed" data-seal="requested"' in page
    # the approval form is for the custodian's own organisation's request
    assert f'name="seal_request_id" value="{requests[LEAD].pk}"' in page
    client.force_login(user("fengxue"))
    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert 'name="seal_request_id"' not in page  # 大数据局 has sealed; nothing of the lead's for her
