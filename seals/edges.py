"""What the seal API and pages share at the edge, so neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from officehub.directory.models import User
from officehub.edges import download
from officehub.ratelimit import BucketThrottle
from officehub.uploads import read_upload
from seals import selectors, services
from seals.errors import KeyUnavailable
from seals.models import SealRecord

SIGNATURE_MAX_BYTES = 1024 * 1024


def request_user(request: HttpRequest) -> User:
    """``request.user`` behind ``login_required`` or the API's ``IsAuthenticated``: always
    a ``User`` there, the actor services take. Anonymous only on an unguarded path: 401."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def read_verification_upload(upload: UploadedFile, *, limit: int) -> bytes:
    """An uploaded DOCX or .p7s to verify, at most ``limit`` bytes (``seal.upload_too_large``, 413)."""
    return read_upload(upload, limit=limit, code="seal.upload_too_large")


def refresh_crl(ca_id: int) -> None:
    """Re-sign the CRL if it is getting old (its own transaction: this runs on GET
    requests); without the KEK serve the cached one.

    The cached CRL is still right about every revocation (each revocation re-signs it);
    only its nextUpdate may have passed, which OpenSSL's -crl_check then reports.
    """
    try:
        with transaction.atomic():
            services.ca_crl_refresh_if_due(ca_id=ca_id)
    except KeyUnavailable:
        pass


def package_download(record: SealRecord, *, also: Sequence[SealRecord] = ()) -> HttpResponse:
    """The record's package (DOCX, .p7s, CA certificate, a fresh CRL, README) as a zip;
    ``also``: other seals' records over the same DOCX (联合发文), their .p7s added."""
    refresh_crl(record.seal.authority_id)
    record.seal.authority.refresh_from_db(fields=["crl_pem", "crl_number", "crl_next_update"])
    package = selectors.seal_record_package(record, also=also)
    return download(package, f"{selectors.record_basename(record)}.zip", "application/zip")


def pem_download(text: str | None, filename: str) -> HttpResponse:
    """The CA certificate or CRL as a PEM file; a plain 404 before the CA exists."""
    if not text:
        return HttpResponse("印章CA尚未初始化。\n", status=404, content_type="text/plain; charset=utf-8")
    return download(text.encode("ascii"), filename, "application/x-pem-file")


PDF_MAX_BYTES = 30 * 1024 * 1024


def verify_uploads(files: Mapping[str, Any]) -> services.UploadVerification:
    """The public 验章 check of uploaded files (``pdf``, or ``docx`` + ``p7s``), each read
    within its size limit; nothing is kept."""
    pdf, docx, p7s = files.get("pdf"), files.get("docx"), files.get("p7s")
    if pdf is not None:
        return services.seal_verify_upload(pdf=read_verification_upload(pdf, limit=PDF_MAX_BYTES))
    return services.seal_verify_upload(
        docx=read_verification_upload(docx, limit=settings.DOCX_IMPORT_MAX_BYTES) if docx is not None else None,
        signature=read_verification_upload(p7s, limit=SIGNATURE_MAX_BYTES) if p7s is not None else None,
    )


class VerifyThrottle(BucketThrottle):
    """Per client address, signed in or not: verification parses untrusted files."""

    scope = "verify"

    def ident_for(self, request: Request) -> str | None:
        return self.get_ident(request)
