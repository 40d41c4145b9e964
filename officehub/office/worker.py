"""The LibreOffice worker: DOCX in, PDF out, one kept-warm ``soffice`` driven over UNO.

Run by Debian's ``/usr/bin/python3`` (which has ``python3-uno`` for the installed
LibreOffice), not by the project's virtualenv: officehub/office/client.py starts one per
process that converts and talks to it over stdin/stdout. No Django here.

Why UNO and not ``soffice --convert-to``: LibreOffice's DOCX import ignores
``w:autoSpaceDE``/``w:autoSpaceDN`` — it adds ~3.5 pt between every Chinese character and a
digit, so 「2026年1月5日」 grows 6 mm and the 署名 no longer centres over it — and it hangs
，。、 into the margin. Over UNO both are switched off on the document's defaults before
export, and the layout can be asked where the 版记 landed (its page must be even).

Protocol: frames of ``<8-byte big-endian length><bytes>``. A request is two frames, a JSON
header ``{"timeout": s, "pdfa": bool}`` and the DOCX; the answer is a JSON header
``{"ok": true, "layout": {...}}`` and the PDF, or ``{"ok": false, "code", "detail"}`` and
an empty frame. Codes: ``pdf.timeout``, ``pdf.conversion_failed``,
``pdf.converter_unavailable``.

The process model: its own ``-env:UserInstallation`` profile, a named pipe (no TCP port),
its own process group; a watchdog kills that group when a conversion exceeds its timeout,
and the next request starts a fresh ``soffice``. One document at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uno  # Debian's python3-uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
FONTS_CONF = Path(__file__).resolve().parent / "fonts.conf"


class ConversionError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def _pv(name: str, value: Any) -> PropertyValue:
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def _filter_data(pdfa: bool) -> Any:
    items = [
        _pv("UseTaggedPDF", True),
        _pv("ExportFormFields", False),
        _pv("EmbedStandardFonts", True),
        _pv("UseLosslessCompression", True),  # the seal image stays exact
        _pv("ReduceImageResolution", False),
        # keep the blank page LibreOffice inserts before an even-page section (版记 page)
        _pv("IsSkipEmptyPages", False),
    ]
    if pdfa:
        items.append(_pv("SelectPdfVersion", 2))  # PDF/A-2b
    return uno.Any("[]com.sun.star.beans.PropertyValue", tuple(items))


class LibreOffice:
    def __init__(self, *, start_timeout: float = 60.0) -> None:
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._desktop: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def _start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="officehub-lo-")
        profile = Path(self._tmp.name) / "profile"
        pipe = f"officehub-lo-{os.getpid()}-{time.monotonic_ns()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["FONTCONFIG_FILE"] = str(FONTS_CONF)
        env["SAL_USE_VCLPLUGIN"] = "svp"
        self._proc = subprocess.Popen(
            [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--nologo",
             "--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._proc.poll() is not None:
                self._kill()
                raise ConversionError("pdf.converter_unavailable", "soffice exited on start")
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if time.monotonic() > deadline:
                    self._kill()
                    raise ConversionError("pdf.converter_unavailable", "soffice did not start") from None
                time.sleep(0.05)
        self._desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)

    def _kill(self) -> None:
        proc, self._proc, self._desktop = self._proc, None, None
        if proc is not None:
            # The soffice wrapper may have exited while soffice.bin lives on in the same
            # session: always signal the whole group we started.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def close(self) -> None:
        if self._desktop is not None:
            try:
                self._desktop.terminate()
            except Exception:  # noqa: BLE001, S110 - the bridge dies with the process
                pass
        self._kill()

    def ensure_started(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            self._start()

    def convert(self, docx: bytes, *, timeout: float, pdfa: bool) -> tuple[bytes, dict[str, Any]]:
        """Never returns a partial PDF: any failure kills this soffice."""
        self.ensure_started()
        proc, fired = self._proc, threading.Event()
        assert proc is not None

        def watchdog() -> None:
            fired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, watchdog)
        timer.start()
        try:
            return self._convert(docx, pdfa)
        except Exception as exc:
            self._kill()
            if fired.is_set():
                raise ConversionError("pdf.timeout", f"over {timeout:g} s") from None
            if isinstance(exc, ConversionError):
                raise
            raise ConversionError("pdf.conversion_failed", f"{type(exc).__name__}: {getattr(exc, 'Message', exc)}") from None
        finally:
            timer.cancel()

    def _convert(self, docx: bytes, pdfa: bool) -> tuple[bytes, dict[str, Any]]:
        assert self._tmp is not None
        work = Path(self._tmp.name)
        source = work / f"in-{time.monotonic_ns()}.docx"
        target = source.with_suffix(".pdf")
        source.write_bytes(docx)
        document = None
        try:
            document = self._desktop.loadComponentFromURL(
                source.as_uri(), "_blank", 0,
                (_pv("Hidden", True), _pv("ReadOnly", True), _pv("MacroExecutionMode", 0), _pv("UpdateDocMode", 0),
                 # Without the filter LibreOffice imports anything it does not recognise as
                 # plain text — and makes a PDF of it.
                 _pv("FilterName", "MS Word 2007 XML")),
            )
            if document is None:
                raise ConversionError("pdf.conversion_failed", "LibreOffice could not open the DOCX")
            defaults = document.createInstance("com.sun.star.text.Defaults")
            defaults.setPropertyValue("ParaIsCharacterDistance", False)  # w:autoSpaceDE/DN = 0
            defaults.setPropertyValue("ParaIsHangingPunctuation", False)  # no punctuation in the margin
            layout = self._layout(document)
            document.storeToURL(target.as_uri(), (_pv("FilterName", "writer_pdf_Export"),
                                                  _pv("FilterData", _filter_data(pdfa))))
            data = target.read_bytes() if target.exists() else b""
            if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
                raise ConversionError("pdf.conversion_failed", "no complete PDF written")
            return data, layout
        finally:
            if document is not None:
                try:
                    document.close(True)
                except Exception:  # noqa: BLE001, S110 - closing a document that failed
                    pass
            for path in (source, target):
                path.unlink(missing_ok=True)

    @staticmethod
    def _layout(document: Any) -> dict[str, Any]:
        """Pages, the page of the 版记 table (抄送/印发) and of the last text paragraph."""
        cursor = document.getCurrentController().getViewCursor()
        colophon_page = None
        tables = document.getTextTables()
        for name in tables.getElementNames():
            table = tables.getByName(name)
            cells = [table.getCellByName(c) for c in table.getCellNames()]
            if any("抄送" in c.getString() or "印发" in c.getString() for c in cells):
                cursor.gotoRange(cells[-1].getText().getStart(), False)
                colophon_page = cursor.getPage()
        last = None
        paragraphs = document.getText().createEnumeration()
        while paragraphs.hasMoreElements():
            element = paragraphs.nextElement()
            if element.supportsService("com.sun.star.text.Paragraph") and element.getString().strip():
                last = element
        last_text_page = 0
        if last is not None:
            cursor.gotoRange(last.getEnd(), False)
            last_text_page = cursor.getPage()
        cursor.jumpToLastPage()
        return {"pages": cursor.getPage(), "colophon_page": colophon_page, "last_text_page": last_text_page}


def read_frame(stream: Any) -> bytes | None:
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack(">Q", header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return bytes(data)


def write_frame(stream: Any, data: bytes) -> None:
    stream.write(struct.pack(">Q", len(data)))
    stream.write(data)


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    office = LibreOffice()
    def stop(*_: object) -> None:
        office.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            header_bytes = read_frame(stdin)
            docx = read_frame(stdin) if header_bytes is not None else None
            if header_bytes is None or docx is None:
                return  # the client went away
            header = json.loads(header_bytes)
            pdf = b""
            try:
                if header.get("warm"):
                    office.ensure_started()
                    answer: dict[str, Any] = {"ok": True}
                else:
                    pdf, layout = office.convert(
                        docx, timeout=float(header.get("timeout", 60)), pdfa=bool(header.get("pdfa", True))
                    )
                    answer = {"ok": True, "layout": layout}
            except ConversionError as exc:
                pdf, answer = b"", {"ok": False, "code": exc.code, "detail": exc.detail}
            write_frame(stdout, json.dumps(answer).encode())
            write_frame(stdout, pdf)
            stdout.flush()
    finally:
        office.close()


if __name__ == "__main__":
    main()
