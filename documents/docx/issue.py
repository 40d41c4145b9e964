"""The issued copy of a 公文: its DOCX and the PDF (版式) LibreOffice makes of it.

GB/T 9704 7.4.1 puts the 版记 on the last page, and a 公文 printed on both sides ends on
an even page. Where the 版记 lands depends on where the layout engine breaks pages, which
only a conversion tells: ``issue_copy`` renders, converts, reads the page of the 版记
and, when it is odd, renders once more with the placement that fixes it:

=========================================  ==========================================
first conversion                           second render (ColophonPlacement)
=========================================  ==========================================
版记 on an even page (or no 版记)             none (SAME_PAGE)
版记 on the odd page where the text ends     NEXT_PAGE: the 版记 alone on the back
版记 pushed alone onto an odd page            EVEN_PAGE_UNNUMBERED: a blank page, then the
                                           版记 page, both unnumbered (7.5)
=========================================  ==========================================

About half of all documents need the second conversion (~0.4 s warm). The result is
checked again; a copy whose 版记 is still odd, or whose seal picture cannot be found, is
refused like a failed conversion — never a half-made copy.

The DOCX returned is exactly the bytes the PDF was made from, so the detached CMS
signature over the DOCX and the PAdES signature in the PDF cover the same document.

A document's 附件 files travel inside both signed copies: the DOCX carries their
manifest (``documents/docx/manifest.py``: SHA-256 and name of each, in 附件说明 order) and
the PDF embeds the files themselves (``seals.pades.embed_files``) before it is signed, so
either signature proves which files were sent.
Slow (a conversion or two): call it outside any row lock (STYLE.md §2).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from documents import models as document_models
from documents.docx.manifest import with_manifest
from documents.docx.render import ColophonPlacement, RenderInput, render_docx, render_input_for
from documents.files import ManifestEntry, manifest_text, package_name
from officehub.office.client import MESSAGES, Layout, PdfConversionFailed, convert_docx

__all__ = ["AttachedFile", "IssuedCopy", "attached_files", "issue_copy", "issue_rendered", "placement_for"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachedFile:
    """One 附件 file as the issued copies carry it."""

    number: int  # its place in the 附件说明, from 1
    name: str  # the 附件名称
    file_name: str  # as uploaded
    content_type: str
    sha256: str
    data: bytes

    @property
    def stored_name(self) -> str:
        """Its name inside the signed PDF, the manifest and the verification package."""
        return package_name(self.number, self.file_name)

    def manifest_entry(self) -> ManifestEntry:
        return ManifestEntry(
            number=self.number, name=self.name, file_name=self.stored_name, sha256=self.sha256, size=len(self.data)
        )


def attached_files(document: document_models.Document) -> list[AttachedFile]:
    """The document's current 附件 files (not the 随文附件, which are printed in it), each
    numbered by its place in the 附件说明, its bytes checked against their digest."""
    from documents.selectors import attachment_bytes, current_attachments

    rows = current_attachments(document).select_related("content")
    return [
        AttachedFile(
            number=number, name=row.name, file_name=row.file_name, content_type=row.content_type,
            sha256=row.sha256, data=attachment_bytes(row),
        )
        for number, row in enumerate(rows, start=1)
        if row.is_file
    ]


@dataclass(frozen=True)
class IssuedCopy:
    docx: bytes  # the exact bytes ``pdf`` was converted from
    pdf: bytes  # unsigned PDF/A-2b, fonts embedded
    # The seal picture LibreOffice drew: 0-based page index (as ``seals.pades.sign_pdf``
    # takes it) and (x1, y1, x2, y2) in PDF points from the page's bottom left. None for
    # an unsealed document (纪要).
    seal_page: int | None
    seal_box: tuple[float, float, float, float] | None
    pages: int
    colophon_page: int | None  # 1-based; None when the document has no 版记
    placement: ColophonPlacement
    conversions: int  # 1, or 2 when the 版记 had to move
    # 联合发文: every issuer's seal picture, (page, box) in issuer order (the lead's first,
    # which is also ``seal_page``/``seal_box``); () for one issuer.
    seal_boxes: tuple[tuple[int, tuple[float, float, float, float]], ...] = ()


def placement_for(layout: Layout) -> ColophonPlacement:
    """The 版记 placement that puts it on an even page, given where it landed."""
    page = layout.colophon_page
    if page is None or page % 2 == 0:
        return ColophonPlacement.SAME_PAGE
    if page <= layout.last_text_page:
        return ColophonPlacement.NEXT_PAGE  # the text ends on this odd page: use its back
    return ColophonPlacement.EVEN_PAGE_UNNUMBERED  # text ends on the even page before


def issue_copy(
    document: document_models.Document,
    *,
    seal_png: bytes | None,
    printed_on: date,
    created: dt.datetime,
    joint_seal_pngs: list[bytes] | None = None,
) -> IssuedCopy:
    """The issued DOCX and PDF of ``document``, with the seal image when ``seal_png`` is
    given (``None`` for unsealed documents such as 纪要) and the 印发日期 ``printed_on``
    (fixed before sealing, so every signed copy carries it). ``created`` is when this
    copy is made — the sealing time — and becomes the DOCX's modified time and the zip
    entries' stamp: the same inputs give the same bytes.

    Raises ``officehub.office.client.PdfConversionFailed`` (pdf.timeout,
    pdf.conversion_failed, pdf.converter_unavailable); nothing is written anywhere.
    """
    inputs = render_input_for(
        document, seal_png=seal_png, printed_on=printed_on, modified=created, joint_seal_pngs=joint_seal_pngs
    )
    return issue_rendered(inputs, attachments=attached_files(document), when=created)


def issue_rendered(
    inputs: RenderInput,
    *,
    timeout: float | None = None,
    attachments: Sequence[AttachedFile] = (),
    when: dt.datetime | None = None,
) -> IssuedCopy:
    """``issue_copy`` for plain render input (tests, benchmarks), with the 附件 files
    ``attachments`` carried in the DOCX's manifest and embedded in the PDF (stamped
    ``when``, default: the render input's ``modified``)."""
    manifest = manifest_text([file.manifest_entry() for file in attachments])
    placement = ColophonPlacement.SAME_PAGE
    docx = with_manifest(render_docx(inputs, colophon=placement), manifest)
    conversion = convert_docx(docx, pdfa=True, timeout=timeout)
    conversions = 1
    needed = placement_for(conversion.layout)
    if needed != ColophonPlacement.SAME_PAGE:
        placement = needed
        docx = with_manifest(render_docx(inputs, colophon=placement), manifest)
        conversion = convert_docx(docx, pdfa=True, timeout=timeout)
        conversions = 2
    layout = conversion.layout
    if placement_for(layout) != ColophonPlacement.SAME_PAGE:
        raise _refused("colophon_not_on_even_page", f"{placement}: {layout}")

    seal_page: int | None = None
    seal_box: tuple[float, float, float, float] | None = None
    boxes: tuple[tuple[int, tuple[float, float, float, float]], ...] = ()
    if inputs.seal_png is not None and inputs.co_issuers:
        from seals.pades import seal_boxes

        # 联合发文: one picture per issuer, all found, or the copy is refused.
        boxes = tuple(seal_boxes(conversion.pdf))
        if len(boxes) != 1 + len(inputs.co_issuers):
            raise _refused("no_seal_picture", f"{len(boxes)} seals: {layout}")
        seal_page, seal_box = boxes[0]
    elif inputs.seal_png is not None:
        from seals.pades import seal_box as find_seal_box

        try:
            seal_page, seal_box = find_seal_box(conversion.pdf)
        except LookupError:
            raise _refused("no_seal_picture", str(layout)) from None
    pdf = conversion.pdf
    if attachments:
        from seals.pades import EmbeddedFile, embed_files

        stamp = when or inputs.modified or dt.datetime.now(dt.UTC)
        pdf = embed_files(pdf, [
            EmbeddedFile(name=file.stored_name, data=file.data, mime_type=file.content_type,
                         description=f"附件{file.number}：{file.name}（SHA-256 {file.sha256}）")
            for file in attachments
        ], when=stamp)
    return IssuedCopy(
        docx=docx,
        pdf=pdf,
        seal_page=seal_page,
        seal_box=seal_box,
        pages=layout.pages,
        colophon_page=layout.colophon_page,
        placement=placement,
        conversions=conversions,
        seal_boxes=boxes,
    )


def _refused(reason: str, detail: str) -> PdfConversionFailed:
    logger.warning("issued copy refused: %s (%s)", reason, detail)
    return PdfConversionFailed(
        _(MESSAGES["pdf.conversion_failed"]), code="pdf.conversion_failed", extra={"reason": reason}
    )
