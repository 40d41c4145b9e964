"""Small real files of every accepted 附件 kind, and hostile ones, for the attachment tests."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from docx import Document
from PIL import Image


def pdf(text: str = "附件") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (255, 255, 255)).save(buffer, "PDF", title=text)
    return buffer.getvalue()


def png(size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def docx(text: str = "附件正文") -> bytes:
    document = Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


XLSX_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>',
    "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheets/></workbook>",
}
OFD_PARTS = {
    "OFD.xml": b'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0">'
    b"<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
    "Doc_0/Document.xml": b'<?xml version="1.0"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>',
}


def xlsx() -> bytes:
    return _zip(XLSX_PARTS)


def ofd() -> bytes:
    return _zip(OFD_PARTS)


BOMB = b"\0" * (5 * 1024 * 1024)  # deflates ~1000×


def docx_bomb() -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx())) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    return _zip({**parts, "word/media/bomb.bin": BOMB})


def xlsx_bomb() -> bytes:
    return _zip({**XLSX_PARTS, "xl/bomb.bin": BOMB})


def ofd_bomb() -> bytes:
    return _zip({**OFD_PARTS, "Doc_0/Res/bomb.bin": BOMB})


def png_bomb() -> bytes:
    """A PNG whose header claims 30,000 × 30,000 pixels (900 Mpx): decoding would need
    2.7 GB; the header alone must get it refused."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 200
