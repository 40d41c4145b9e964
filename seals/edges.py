"""What the seal API and pages share at the edge, so neither imports the other."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import NotAuthenticated

from officehub.directory.models import User
from officehub.edges import download
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


def package_download(record: SealRecord) -> HttpResponse:
    """The record's package (DOCX, .p7s, CA certificate, a fresh CRL, README) as a zip."""
    refresh_crl(record.seal.authority_id)
    record.seal.authority.refresh_from_db(fields=["crl_pem", "crl_number", "crl_next_update"])
    return download(selectors.seal_record_package(record), f"{selectors.record_basename(record)}.zip", "application/zip")


def pem_download(text: str | None, filename: str) -> HttpResponse:
    """The CA certificate or CRL as a PEM file; a plain 404 before the CA exists."""
    if not text:
        return HttpResponse("印章CA尚未初始化。\n", status=404, content_type="text/plain; charset=utf-8")
    return download(text.encode("ascii"), filename, "application/x-pem-file")
