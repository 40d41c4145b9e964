"""Seals inside the 版式 copy: PAdES signatures on the PDF (pyHanko), and their verification.

Signing appends one PAdES-B-B signature (SubFilter ETSI.CAdES.detached, SHA-256, ESS
signingCertificateV2, signing time in /M) in a new signature field whose visible
appearance is the seal image, over the rectangle where the seal is pressed. Approval
signatures, not certification: a co-issuing organisation can add its own after ours, and
each stays verifiable (联合发文).

Verification gives every signature in the file one status, from the same vocabulary as
the detached CMS check (seals/crypto.py), plus what only a PDF can show:

- ``valid`` / ``valid_when_sealed_since_revoked`` (signed before a revocation whose
  reason is not key or CA compromise, as for CMS);
- ``content_changed``: the signed bytes were altered (a flipped byte);
- ``modified_after_sealing``: a later incremental update changed the page content — any
  change other than another signature field being filled. (``pdfsig`` reports this case
  and a legitimate second seal identically, "Not total document signed"; only pyHanko's
  difference analysis tells them apart, so the app's verdict comes from here.)
- ``untrusted_certificate``, ``revoked``, ``expired_at_signing``, ``not_a_signature``.

Anyone can repeat it with poppler: import ``ca.pem`` (and the CRL) into an NSS database
and run ``pdfsig`` (the package README says how).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, Literal, ParamSpec, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from PIL import Image

logger = logging.getLogger(__name__)

DER = serialization.Encoding.DER
MM_TO_PT: Final = 72 / 25.4

PdfStatus = Literal[
    "valid",
    "valid_when_sealed_since_revoked",
    "content_changed",
    "modified_after_sealing",
    "signature_invalid",
    "untrusted_certificate",
    "expired_at_signing",
    "revoked",
    "not_a_signature",
    "unknown_seal",
]
VALID_STATUSES: Final = frozenset({"valid", "valid_when_sealed_since_revoked"})
MESSAGES_ZH: Final[dict[str, str]] = {
    "valid": "签章有效",
    "valid_when_sealed_since_revoked": "签章有效；印章其后已吊销",
    "content_changed": "内容已被篡改",
    "modified_after_sealing": "用印后文件被修改",
    "signature_invalid": "签名无效",
    "untrusted_certificate": "证书不是本机构CA签发",
    "expired_at_signing": "签章时印章已过期",
    "revoked": "印章已吊销",
    "not_a_signature": "文件中没有有效的电子印章签名",
    "unknown_seal": "未知印章",
}
# A revocation for these reasons voids even earlier signatures: a stolen key can back-date.
COMPROMISE_REASONS: Final = frozenset({"key_compromise", "ca_compromise"})


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _off_the_running_loop(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """pyHanko's synchronous calls drive their async core with ``asyncio.run``, which
    refuses to start inside a thread whose event loop is running (an async caller, a
    sync Playwright session). There the call runs on a thread of its own; elsewhere (a
    sync view, a worker) it runs in place."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return function(*args, **kwargs)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pades") as pool:
            return pool.submit(function, *args, **kwargs).result()

    return wrapper


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(DER))


@_off_the_running_loop
def sign_pdf(
    pdf: bytes,
    *,
    key: PrivateKeyTypes,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    field_name: str,
    page: int,
    box: tuple[float, float, float, float],
    seal_png: bytes,
    reason: str,
    location: str,
    name: str,
) -> bytes:
    """``pdf`` with one more PAdES signature, appended as an incremental update (earlier
    signatures stay valid). ``page`` is 0-based (-1: the last); ``box`` is (x1, y1, x2, y2)
    in PDF points from the page's bottom left. The key is only ever in memory."""
    from pyhanko import stamp
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    pkcs8 = key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = signers.SimpleSigner(
        signing_cert=_asn1_certificate(certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_certificate(c) for c in chain]),
    )
    style = stamp.StaticStampStyle(
        background=PdfImage(Image.open(io.BytesIO(seal_png))),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
            inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
        ),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=name,
        certify=False,
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=signer,
        stamp_style=style,
        # pyHanko's stubs say int; it takes any PDF number (points from the layout are floats).
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=page, box=box),  # type: ignore[arg-type]
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
    return out.getvalue()


@dataclass(frozen=True)
class EmbeddedFile:
    """A file to carry inside the PDF (a 公文's 附件)."""

    name: str  # the file name a reader shows and ``pdfdetach`` saves (Unicode)
    data: bytes
    mime_type: str
    description: str = ""  # e.g. the 附件说明 entry


def embed_files(pdf: bytes, files: Sequence[EmbeddedFile], *, when: dt.datetime) -> bytes:
    """``pdf`` with ``files`` embedded (the /EmbeddedFiles name tree, in the given order),
    as an incremental update. Call it *before* ``sign_pdf``: the signature then covers
    every embedded byte, so the signed PDF alone proves which files were sent with it
    (``pdfdetach`` extracts them; each carries its size and MD5 in /Params, and the
    signature its integrity).

    Each file is also an associated file of the document (/AF, /AFRelationship
    /Supplement), and a PDF/A-2 declaration becomes PDF/A-3: PDF/A-3 is PDF/A-2 that may
    carry files of any format, provided they are associated this way. ``when`` stamps the
    files' dates, so the same inputs give the same bytes."""
    if not files:
        return pdf
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    root = writer.root
    names = root.get("/Names")
    names = names.get_object() if names is not None else generic.DictionaryObject()
    if "/EmbeddedFiles" in names:
        raise ValueError("the PDF already embeds files")
    tree = generic.ArrayObject()
    associated = generic.ArrayObject()
    params = EmbeddedFileParams(embed_size=True, embed_checksum=True, creation_date=when, modification_date=when)
    for number, file in enumerate(files, start=1):
        stream = EmbeddedFileObject.from_file_data(writer, file.data, params=params, mime_type=file.mime_type)
        spec = FileSpec(
            # Name-tree keys sort as bytes: zero-padded ASCII keeps the 附件说明 order.
            file_spec_string=f"attachment-{number:02d}{_ascii_suffix(file.name)}",
            file_name=file.name,
            embedded_data=stream,
            description=file.description or None,
            af_relationship=generic.NameObject("/Supplement"),
        )
        reference = writer.add_object(spec.as_pdf_object())
        tree.append(generic.pdf_string(f"{number:04d}"))
        tree.append(reference)
        associated.append(reference)
    names["/EmbeddedFiles"] = writer.add_object(generic.DictionaryObject({generic.NameObject("/Names"): tree}))
    if "/Names" in root:
        writer.update_container(names)
    else:
        root["/Names"] = writer.add_object(names)
    root["/AF"] = writer.add_object(associated)
    _declare_pdfa3(writer)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _ascii_suffix(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return f".{suffix.lower()}" if suffix.isascii() and suffix.isalnum() and len(suffix) <= 8 else ""


_PDFA_PART = re.compile(rb"(<pdfaid:part>\s*)2(\s*</pdfaid:part>)|(pdfaid:part=[\"'])2([\"'])")


def _declare_pdfa3(writer: object) -> None:
    """A PDF/A-2 XMP declaration (LibreOffice writes ``<pdfaid:part>2</pdfaid:part>``)
    rewritten to part 3, as a new, unfiltered metadata stream (PDF/A wants it readable)."""
    from pyhanko.pdf_utils import generic

    root = writer.root  # type: ignore[attr-defined]
    metadata = root.get("/Metadata")
    if metadata is None:
        return
    stream = metadata.get_object()
    xmp = stream.data
    updated = _PDFA_PART.sub(lambda m: (m.group(1) or m.group(3)) + b"3" + (m.group(2) or m.group(4)), xmp)
    if updated == xmp:
        return
    name = generic.NameObject
    replacement = generic.StreamObject({name("/Type"): name("/Metadata"), name("/Subtype"): name("/XML")}, stream_data=updated)
    root["/Metadata"] = writer.add_object(replacement)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PdfSignatureCheck:
    field_name: str
    status: PdfStatus
    message_zh: str
    signer_subject: str | None
    signer_serial: int | None
    signing_time: dt.datetime | None
    revoked_at: dt.datetime | None = None

    @property
    def is_valid(self) -> bool:
        return self.status in VALID_STATUSES


@dataclass(frozen=True)
class PdfVerification:
    signatures: list[PdfSignatureCheck]

    @property
    def status(self) -> PdfStatus:
        """The file's verdict: the first signature that is not valid, else valid (or valid
        since revoked, if any signature is)."""
        if not self.signatures:
            return "not_a_signature"
        for check in self.signatures:
            if not check.is_valid:
                return check.status
        if any(c.status == "valid_when_sealed_since_revoked" for c in self.signatures):
            return "valid_when_sealed_since_revoked"
        return "valid"

    @property
    def is_valid(self) -> bool:
        return self.status in VALID_STATUSES

    @property
    def message_zh(self) -> str:
        return MESSAGES_ZH[self.status]


def _check(status: PdfStatus, field_name: str, signer: asn1_x509.Certificate | None,
           signing_time: dt.datetime | None, revoked_at: dt.datetime | None = None) -> PdfSignatureCheck:
    return PdfSignatureCheck(
        field_name=field_name,
        status=status,
        message_zh=MESSAGES_ZH[status],
        signer_subject=signer.subject.human_friendly if signer is not None else None,
        signer_serial=int(signer.serial_number) if signer is not None else None,
        signing_time=signing_time,
        revoked_at=revoked_at,
    )


@_off_the_running_loop
def verify_pdf(
    pdf: bytes,
    *,
    trusted_ca: x509.Certificate,
    crl: x509.CertificateRevocationList | None = None,
    revocation_reasons: dict[int, str] | None = None,
) -> PdfVerification:
    """Check every signature of ``pdf`` against our CA and CRL. Never raises on bad input.

    ``revocation_reasons`` (serial → reason name) lets a compromise revocation void
    earlier signatures too; without it, any revocation after signing is
    ``valid_when_sealed_since_revoked``."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    # pyHanko logs every failed validation with a traceback at ERROR: a tampered upload
    # is an expected input here, not an error of ours.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        logger.info("not a readable PDF: %s", exc)
        return PdfVerification([])
    crls = [crl.public_bytes(DER)] if crl is not None else []
    roots = [_asn1_certificate(trusted_ca)]
    checks: list[PdfSignatureCheck] = []
    for signature in embedded:
        field_name = signature.field_name or "?"
        try:
            signer = signature.signer_cert
            signing_time = signature.self_reported_timestamp
            status = validate_pdf_signature(
                signature,
                ValidationContext(trust_roots=roots, crls=crls, allow_fetching=False, revocation_mode="soft-fail"),
            )
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            logger.info("signature %s unreadable: %s", field_name, exc)
            checks.append(_check("not_a_signature", field_name, None, None))
            continue
        if not status.intact:
            checks.append(_check("content_changed", field_name, signer, signing_time))
        elif not status.valid:
            checks.append(_check("signature_invalid", field_name, signer, signing_time))
        elif status.docmdp_ok is False or (
            status.modification_level is not None and status.modification_level.name == "OTHER"
        ):
            checks.append(_check("modified_after_sealing", field_name, signer, signing_time))
        elif status.revoked:
            revoked_at = status.revocation_details.revocation_date if status.revocation_details else None
            reason = (revocation_reasons or {}).get(int(signer.serial_number), "")
            before = signing_time is not None and revoked_at is not None and signing_time < revoked_at
            if before and reason not in COMPROMISE_REASONS:
                checks.append(_check("valid_when_sealed_since_revoked", field_name, signer, signing_time, revoked_at))
            else:
                checks.append(_check("revoked", field_name, signer, signing_time, revoked_at))
        elif not status.trusted:
            expired = _expired_at(signer, signing_time)
            checks.append(_check("expired_at_signing" if expired else "untrusted_certificate", field_name, signer, signing_time))
        else:
            checks.append(_check("valid", field_name, signer, signing_time))
    return PdfVerification(checks)


def _expired_at(signer: asn1_x509.Certificate, moment: dt.datetime | None) -> bool:
    if moment is None:
        return False
    validity = signer["tbs_certificate"]["validity"]
    return not (validity["not_before"].native <= moment <= validity["not_after"].native)


def seal_boxes(pdf: bytes, *, min_mm: float = 30.0) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Every seal picture LibreOffice placed (square images at least ``min_mm`` wide), in
    reading order: by page, then top to bottom, then left to right (a joint document's
    seals, 联合发文, stand in issuer order so). Each as ``seal_box`` gives it."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    found: list[tuple[int, tuple[float, float, float, float]]] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            for obj in document[index].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE]):
                left, bottom, right, top = obj.get_bounds()
                width, height = right - left, top - bottom
                if width / MM_TO_PT >= min_mm and abs(width - height) < 1:
                    found.append((index, (left, bottom, right, top)))
    finally:
        document.close()
    # Seals of one row share their top (within a millimetre); rows run down the page.
    return sorted(found, key=lambda item: (item[0], -round(item[1][3] / MM_TO_PT), item[1][0]))


def seal_box(pdf: bytes, *, page: int | None = None, min_mm: float = 30.0) -> tuple[int, tuple[float, float, float, float]]:
    """(0-based page, (x1, y1, x2, y2) in points) of the seal picture LibreOffice placed: the
    first square image at least ``min_mm`` wide (on ``page`` if given). pypdfium2: ~7 ms."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    document = pdfium.PdfDocument(pdf)
    try:
        indices = [page] if page is not None else range(len(document))
        for index in indices:
            for obj in document[index].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE]):
                left, bottom, right, top = obj.get_bounds()
                width, height = right - left, top - bottom
                if width / MM_TO_PT >= min_mm and abs(width - height) < 1:
                    return index, (left, bottom, right, top)
    finally:
        document.close()
    raise LookupError("no seal picture in the PDF")
