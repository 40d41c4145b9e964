"""附件 files on a 公文: the drafter uploads them to the draft, hostile files are refused with
a code, they are listed in order in the 附件说明, every version keeps the ones it had, each
recipient's copy holds the very bytes sent, and the signed copies prove which files those
were (pdfsig, pdfdetach, openssl, sha256sum)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents import services
from documents.docx.manifest import MANIFEST_PART, read_manifest
from documents.docx.render import docx_to_text
from documents.models import Attachment, AttachmentContent, Document
from officehub.errors import ApplicationError
from tests.documents import attachment_files as files
from tests.documents import flow
from tests.documents.test_recipient_verification import incoming_copy, receiver_of, tool

pytestmark = pytest.mark.django_db


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(api_client: Any, user: Any, document: Document, name: str, data: bytes, label: str = "") -> Any:
    api_client.force_authenticate(user)
    return api_client.post(
        f"/api/documents/{document.pk}/attachments/",
        {"file": SimpleUploadedFile(name, data), "name": label},
        format="multipart",
    )


def attach(p: Any, document: Document, name: str, data: bytes, label: str = "") -> Attachment:
    return flow.act(services.attachment_upload, document_id=document.pk, actor=p.drafter, file_name=name, data=data,
                    name=label)


# --- what is accepted, and in which order ---------------------------------------------------


def test_the_drafter_uploads_every_accepted_kind_and_they_are_listed_in_order(personas: Any, api_client: Any) -> None:
    document = flow.draft(personas)
    uploads = [
        ("重点任务清单.pdf", files.pdf(), "application/pdf", "pdf"),
        ("项目表.xlsx", files.xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        ("实施方案.docx", files.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        ("版式原件.ofd", files.ofd(), "application/ofd", "ofd"),
        ("现场照片.png", files.png(), "image/png", "png"),
        ("示意图.jpg", files.jpeg(), "image/jpeg", "jpeg"),
    ]
    for name, data, content_type, kind in uploads:
        # The client's declared type is ignored: the bytes decide.
        response = upload(api_client, personas.drafter, document, name, data)
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["kind"], body["content_type"], body["sha256"], body["size"]) == (kind, content_type, sha(data), len(data))
    listed = api_client.get(f"/api/documents/{document.pk}/attachments/").json()
    assert [item["name"] for item in listed] == ["重点任务清单", "项目表", "实施方案", "版式原件", "现场照片", "示意图"]
    assert [item["number"] for item in listed] == [1, 2, 3, 4, 5, 6]
    # GB/T 9704 7.3.4: the 附件说明 names them in that order, without the extensions.
    text = docx_to_text(api_client.get(f"/api/documents/{document.pk}/docx/").content)
    assert "附件：1.重点任务清单" in text and "6.示意图" in text
    assert text.index("2.项目表") < text.index("3.实施方案")
    # Each one downloads as uploaded.
    for item, (_name, data, content_type, _kind) in zip(listed, uploads, strict=True):
        got = api_client.get(item["download_url"])
        assert got.status_code == 200 and got.content == data and got["Content-Type"] == content_type


def test_reordering_and_removing_make_new_versions_and_old_versions_keep_their_files(personas: Any, api_client: Any) -> None:
    document = flow.draft(personas)
    first = attach(personas, document, "清单.pdf", files.pdf("一"), label="重点任务清单。")  # 7.3.4: no end punctuation
    workbook = files.xlsx()
    second = attach(personas, document, "项目表.xlsx", workbook)
    assert first.name == "重点任务清单"
    api_client.force_authenticate(personas.drafter)
    reordered = api_client.post(f"/api/documents/{document.pk}/attachments/order/",
                                {"attachment_ids": [second.pk, first.pk]}, format="json")
    assert reordered.status_code == 200 and [item["id"] for item in reordered.json()] == [second.pk, first.pk]
    assert api_client.delete(f"/api/documents/{document.pk}/attachments/{second.pk}/").status_code == 204
    versions = api_client.get(f"/api/documents/{document.pk}/versions/").json()
    assert [[a["name"] for a in v["attachments"]] for v in versions] == [
        [], ["重点任务清单"], ["重点任务清单", "项目表"], ["项目表", "重点任务清单"], ["重点任务清单"],
    ]
    # The removed file still downloads from the version that had it.
    old = versions[3]["attachments"][0]
    assert api_client.get(old["download_url"]).content == workbook
    assert [a["name"] for a in api_client.get(f"/api/documents/{document.pk}/").json()["attachments"]] == ["重点任务清单"]
    # A bad order (missing, repeated or foreign ids) is refused.
    for ids in ([], [first.pk, first.pk], [second.pk]):
        response = api_client.post(f"/api/documents/{document.pk}/attachments/order/", {"attachment_ids": ids}, format="json")
        assert response.status_code == 400 and response.json()["code"] == "document.invalid", ids


def test_the_same_file_twice_is_stored_once(personas: Any) -> None:
    one, two, data = flow.draft(personas), flow.draft(personas), files.pdf()
    attach(personas, one, "清单.pdf", data)
    attach(personas, two, "另一个名字.pdf", data)
    assert AttachmentContent.objects.filter(sha256=sha(data)).count() == 1
    assert Attachment.objects.filter(sha256=sha(data)).count() == 2


def test_text_attachments_and_files_share_the_attachment_note(personas: Any) -> None:
    document = flow.draft(personas, attachments=[{"title": "工作要求", "body": "一、按时报送。"}])
    attach(personas, document, "项目表.xlsx", files.xlsx())
    flow.act(services.document_update, document_id=document.pk, actor=personas.drafter,
             fields=services.DraftFields(attachments=[{"title": "工作要求", "body": "一、按时报送。"},
                                                      {"title": "联系人名单", "body": ""}]))
    from documents.docx.render import render_document

    text = docx_to_text(render_document(flow.refresh(document)))
    assert "附件：1.工作要求" in text and "2.项目表" in text and "3.联系人名单" in text
    assert "一、按时报送。" in text  # a 随文附件's text is printed after the body


# --- hostile files --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "status", "code"), [
    ("清单.pdf", files.EXECUTABLE, 415, "file.wrong_type"),  # an executable named .pdf
    ("清单.docx", files.pdf(), 415, "file.wrong_type"),  # content and extension disagree
    ("清单.exe", files.pdf(), 415, "file.wrong_type"),
    ("清单.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, 415, "file.wrong_type"),  # legacy Word
    ("清单.xlsx", files.ofd(), 400, "file.wrong_type"),  # a zip, but not a workbook
    ("清单.docx", files.docx_bomb(), 400, "file.suspicious_compression"),
    ("清单.xlsx", files.xlsx_bomb(), 400, "file.suspicious_compression"),
    ("清单.ofd", files.ofd_bomb(), 400, "file.suspicious_compression"),
    ("照片.png", files.png_bomb(), 400, "file.image_too_large"),
    ("照片.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, 400, "file.corrupt"),
    ("空.pdf", b"", 400, "file.empty"),
])
def test_a_hostile_file_is_refused_with_a_code_and_nothing_is_stored(personas: Any, api_client: Any, name: str,
                                                                     data: bytes, status: int, code: str) -> None:
    document = flow.draft(personas)
    response = upload(api_client, personas.drafter, document, name, data)
    assert (response.status_code, response.json()["code"]) == (status, code), response.content
    assert response.json()["message"]
    assert not Attachment.objects.exists() and not AttachmentContent.objects.exists()
    assert flow.refresh(document).version == 1


def test_an_oversized_file_is_refused_before_it_is_read_whole(personas: Any, api_client: Any, settings: Any) -> None:
    settings.DOCUMENT_ATTACHMENT_MAX_BYTES = 1024
    document = flow.draft(personas)
    response = upload(api_client, personas.drafter, document, "大文件.pdf", files.pdf() + b"\0" * 2048)
    assert response.status_code == 413
    assert response.json()["code"] == "file.too_large" and response.json()["extra"]["max_bytes"] == 1024
    assert not Attachment.objects.exists()


def test_a_document_carries_at_most_the_configured_number_of_files(personas: Any, settings: Any) -> None:
    settings.DOCUMENT_ATTACHMENT_MAX_COUNT = 2
    document = flow.draft(personas)
    attach(personas, document, "一.pdf", files.pdf("一"))
    attach(personas, document, "二.pdf", files.pdf("二"))
    with pytest.raises(ApplicationError) as caught:
        attach(personas, document, "三.pdf", files.pdf("三"))
    assert caught.value.code == "document.too_many_attachments"


# --- who may not ----------------------------------------------------------------------------


def test_an_outsider_gets_404_for_everything_about_the_attachments(personas: Any, api_client: Any) -> None:
    document = flow.draft(personas)
    kept = attach(personas, document, "清单.pdf", files.pdf())
    api_client.force_authenticate(personas.city_drafter)  # another organisation: cannot see the draft
    base = f"/api/documents/{document.pk}/attachments/"
    answers = [
        api_client.get(base),
        upload(api_client, personas.city_drafter, document, "x.pdf", files.pdf("x")),
        upload(api_client, personas.city_drafter, document, "x.pdf", files.EXECUTABLE),  # no hint from the file check
        api_client.delete(f"{base}{kept.pk}/"),
        api_client.get(f"{base}{kept.pk}/file/"),
        api_client.post(f"{base}order/", {"attachment_ids": [kept.pk]}, format="json"),
    ]
    for response in answers:
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept.pk]


def test_only_the_drafter_while_the_draft_is_editable_may_add_or_remove(personas: Any, api_client: Any) -> None:
    document = flow.draft(personas)
    data = files.pdf()
    kept = attach(personas, document, "清单.pdf", data)
    # A colleague of the same division sees the draft but does not hold its 拟稿 step.
    colleague = upload(api_client, personas.drafter2, document, "x.pdf", files.pdf("x"))
    assert colleague.status_code == 403 and colleague.json()["code"] == "document.not_assigned"
    api_client.force_authenticate(personas.drafter2)
    assert api_client.delete(f"/api/documents/{document.pk}/attachments/{kept.pk}/").status_code == 403
    # After 送审 nobody may: not the drafter, not the reviewer who now holds it.
    flow.act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    for user in (personas.drafter, personas.reviewer):
        response = upload(api_client, user, document, "x.pdf", files.pdf("x"))
        assert response.status_code == 409 and response.json()["code"] == "document.invalid_transition"
        api_client.force_authenticate(user)
        assert api_client.delete(f"/api/documents/{document.pk}/attachments/{kept.pk}/").status_code == 409
    # Whoever may read the document may download its files.
    api_client.force_authenticate(personas.reviewer)
    assert api_client.get(f"/api/documents/{document.pk}/attachments/{kept.pk}/file/").content == data
    assert Attachment.objects.filter(document=document, removed_at__isnull=True).count() == 1


def test_an_attachment_of_another_document_is_not_found_through_this_one(personas: Any, api_client: Any) -> None:
    mine, other = flow.draft(personas), flow.draft(personas)
    foreign = attach(personas, other, "清单.pdf", files.pdf())
    api_client.force_authenticate(personas.drafter)
    assert api_client.get(f"/api/documents/{mine.pk}/attachments/{foreign.pk}/file/").status_code == 404
    assert api_client.delete(f"/api/documents/{mine.pk}/attachments/{foreign.pk}/").status_code == 404


def test_a_stored_file_whose_bytes_changed_is_never_handed_out(personas: Any, api_client: Any) -> None:
    document = flow.draft(personas)
    kept = attach(personas, document, "清单.pdf", files.pdf())
    AttachmentContent.objects.filter(pk=kept.content_id).update(data=b"%PDF-tampered")
    api_client.force_authenticate(personas.drafter)
    response = api_client.get(f"/api/documents/{document.pk}/attachments/{kept.pk}/file/")
    assert response.status_code == 409 and response.json()["code"] == "document.attachment_corrupt"


# --- the edit page --------------------------------------------------------------------------


def test_the_edit_page_uploads_moves_and_removes_files(personas: Any, client: Any) -> None:
    document = flow.draft(personas)
    client.force_login(personas.drafter)
    page = client.get(f"/documents/{document.pk}/edit/").content.decode()
    assert 'id="attachment-upload"' in page and "上传附件" in page
    for name in ("清单.pdf", "项目表.xlsx"):
        data = files.pdf() if name.endswith(".pdf") else files.xlsx()
        response = client.post(f"/documents/{document.pk}/attachments/", {"file": SimpleUploadedFile(name, data), "name": ""})
        assert response.status_code == 302
    rows = list(Attachment.objects.filter(document=document).order_by("position"))
    assert client.post(f"/documents/{document.pk}/attachments/{rows[1].pk}/up/").status_code == 302
    assert [a.name for a in Attachment.objects.filter(document=document).order_by("position")] == ["项目表", "清单"]
    refused = client.post(f"/documents/{document.pk}/attachments/",
                          {"file": SimpleUploadedFile("坏.pdf", files.EXECUTABLE)}, follow=True)
    assert "不支持的附件类型" in refused.content.decode()
    assert client.post(f"/documents/{document.pk}/attachments/{rows[0].pk}/remove/").status_code == 302
    detail = client.get(f"/documents/{document.pk}/").content.decode()
    assert 'id="doc-attachments"' in detail and "项目表" in detail
    # A colleague who may read the draft sees no upload form, and may not post one.
    client.force_login(personas.drafter2)
    assert 'id="attachment-upload"' not in client.get(f"/documents/{document.pk}/").content.decode()
    client.post(f"/documents/{document.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", files.pdf("x"))})
    assert Attachment.objects.filter(document=document, removed_at__isnull=True).count() == 1
    # An outsider gets 404.
    client.force_login(personas.city_drafter)
    assert client.post(f"/documents/{document.pk}/attachments/",
                       {"file": SimpleUploadedFile("x.pdf", files.pdf("x"))}).status_code == 404
    assert client.get(f"/documents/{document.pk}/attachments/{rows[1].pk}/").status_code == 404


# --- to the recipients, signed --------------------------------------------------------------


def test_each_recipient_holds_the_same_bytes_and_the_signed_copies_prove_them(
    personas: Any, api_client: Any, tmp_path: Path
) -> None:
    document = flow.draft(personas)
    sent = {"清单.pdf": files.pdf("重点任务"), "项目表.xlsx": files.xlsx()}
    for name, data in sent.items():
        attach(personas, document, name, data)
    document = _distribute(personas, document)

    for organisation in ("浙江省大数据发展管理局", "浙江省财政厅"):
        copy = incoming_copy(document, organisation)
        api_client.force_authenticate(receiver_of(copy))
        listed = api_client.get(f"/api/documents/{copy.pk}/attachments/").json()
        assert [item["name"] for item in listed] == ["清单", "项目表"]
        for item, data in zip(listed, sent.values(), strict=True):
            received = api_client.get(item["download_url"]).content
            assert sha(received) == item["sha256"] == sha(data)

    copy = incoming_copy(document, "浙江省大数据发展管理局")
    api_client.force_authenticate(receiver_of(copy))
    # The app's own check (pyHanko) of the recipient's copy agrees: embedding came before signing.
    verification = api_client.get(f"/api/documents/{copy.pk}/seal-verification/").json()
    assert (verification["status"], verification["package_status"]) == ("valid", "valid")
    package = api_client.get(f"/api/documents/{copy.pk}/package/")
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert {"attachments/附件1-清单.pdf", "attachments/附件2-项目表.xlsx", "attachments.sha256", "附件核验说明.txt"} <= names
    stem = next(name for name in names if name.endswith(".pdf") and "/" not in name).removesuffix(".pdf")
    pdf_path, docx_path = tmp_path / f"{stem}.pdf", tmp_path / f"{stem}.docx"

    # 1. The PAdES signature covers the PDF with both files embedded in it.
    nss = tmp_path / "nssdb"
    nss.mkdir()
    subprocess.run([tool("certutil"), "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run([tool("certutil"), "-A", "-d", f"sql:{nss}", "-n", "OfficeHub Seal CA", "-t", "C,C,C", "-a", "-i",
                    str(tmp_path / "ca.pem")], check=True, capture_output=True)
    output = subprocess.run([tool("pdfsig"), "-nssdir", str(nss), str(pdf_path)], capture_output=True, text=True,
                            check=False).stdout
    assert "Signature is Valid." in output and "Certificate is Trusted." in output and "Total document signed" in output
    listing = subprocess.run([tool("pdfdetach"), "-list", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    assert "2 embedded files" in listing and "附件1-清单.pdf" in listing and "附件2-项目表.xlsx" in listing
    for number, data in enumerate(sent.values(), start=1):
        out = tmp_path / f"embedded-{number}"
        subprocess.run([tool("pdfdetach"), "-save", str(number), "-o", str(out), str(pdf_path)], check=True, capture_output=True)
        assert sha(out.read_bytes()) == sha(data)
    assert b"<pdfaid:part>3</pdfaid:part>" in pdf_path.read_bytes() or b'pdfaid:part="3"' in pdf_path.read_bytes()

    # 2. The CMS signature covers the DOCX, which carries the manifest of the files.
    (tmp_path / "ca-crl.pem").write_bytes((tmp_path / "ca.pem").read_bytes() + (tmp_path / "crl.pem").read_bytes())
    verified = subprocess.run(
        [tool("openssl"), "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / f"{stem}.p7s"),
         "-content", str(docx_path), "-CAfile", str(tmp_path / "ca-crl.pem"), "-crl_check", "-out", "/dev/null"],
        capture_output=True, text=True, check=False,
    )
    assert verified.returncode == 0 and "Verification successful" in verified.stderr
    manifest = read_manifest(docx_path.read_bytes())
    assert manifest == (tmp_path / "attachments.sha256").read_text(encoding="utf-8")
    assert manifest == f"{sha(sent['清单.pdf'])}  附件1-清单.pdf\n{sha(sent['项目表.xlsx'])}  附件2-项目表.xlsx\n"
    checked = subprocess.run([tool("sha256sum"), "-c", str(tmp_path / "attachments.sha256")], cwd=tmp_path / "attachments",
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and checked.stdout.count(": OK") == 2
    readme = (tmp_path / "附件核验说明.txt").read_text(encoding="utf-8")
    assert MANIFEST_PART in readme and "sha256sum -c" in readme and "pdfdetach" in readme

    # 3. A swapped file fails the check a recipient runs.
    (tmp_path / "attachments" / "附件2-项目表.xlsx").write_bytes(files.ofd())
    failed = subprocess.run([tool("sha256sum"), "-c", str(tmp_path / "attachments.sha256")], cwd=tmp_path / "attachments",
                            capture_output=True, text=True, check=False)
    assert failed.returncode != 0 and "FAILED" in failed.stdout


def _distribute(p: Any, document: Document) -> Document:
    """``flow.distributed`` for a draft that already exists (its files uploaded)."""
    flow.act(services.document_submit, document_id=document.pk, actor=p.drafter)
    flow.act(services.document_review, document_id=document.pk, actor=p.reviewer, approve=True, opinion="同意")
    flow.act(services.document_sign_off, document_id=document.pk, actor=p.leader, approve=True, opinion="同意印发")
    flow.act(services.document_recheck, document_id=document.pk, actor=p.reviewer2, approve=True)
    flow.act(services.document_assign_number, document_id=document.pk, actor=p.reviewer)
    request = flow.act(services.seal_request_create, document_id=document.pk, actor=p.drafter,
                       seal_id=flow.office_seal_id(), reason="印发")
    flow.act(services.seal_request_decide, seal_request_id=request.pk, actor=p.custodian, approve=True)
    flow.act(services.document_distribute, document_id=document.pk, actor=p.reviewer)
    return flow.refresh(document)
