"""DOCX → PDF for the app: a kept-warm LibreOffice worker per process (officehub/office/worker.py).

``convert_docx(docx) -> Conversion`` is the one door. The worker runs under Debian's
``/usr/bin/python3`` (python3-uno belongs to the installed LibreOffice, not to our
virtualenv) and is started on first use; conversions in one process are serialised (one
``soffice`` per process: a concurrency limit of one, and processes are few — the HTTP
workers), each bounded by ``OFFICEHUB_PDF_TIMEOUT_SECONDS``. A failure is a coded
``PdfConversionFailed`` (HTTP 503): callers refuse the operation, they never go on with
a missing or partial PDF.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from officehub.errors import ApplicationError

logger = logging.getLogger(__name__)

WORKER = Path(__file__).resolve().parent / "worker.py"
SYSTEM_PYTHON = "/usr/bin/python3"
MESSAGES = {
    "pdf.timeout": "生成版式文件（PDF）超时，请稍后重试。",
    "pdf.conversion_failed": "无法将公文转换为版式文件（PDF）。",
    "pdf.converter_unavailable": "版式文件转换服务（LibreOffice）不可用，请联系系统管理员。",
}


class PdfConversionFailed(ApplicationError):
    default_code = "pdf.conversion_failed"
    default_status = 503


@dataclass(frozen=True)
class Layout:
    pages: int
    colophon_page: int | None  # the page holding the 版记 table, if any
    last_text_page: int


@dataclass(frozen=True)
class Conversion:
    pdf: bytes
    layout: Layout


def _failure(code: str, detail: str = "") -> PdfConversionFailed:
    if detail:
        logger.warning("PDF conversion failed: %s (%s)", code, detail)
    return PdfConversionFailed(_(MESSAGES.get(code, MESSAGES["pdf.conversion_failed"])), code=code)


def available() -> bool:
    return Path(SYSTEM_PYTHON).exists() and shutil.which("soffice") is not None


class _Worker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if not available():
            raise _failure("pdf.converter_unavailable", "no /usr/bin/python3 or soffice")
        self._process = subprocess.Popen(
            [SYSTEM_PYTHON, str(WORKER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "DJANGO"))},
            start_new_session=True,
        )
        return self._process

    def request(self, header: dict[str, Any], docx: bytes, *, timeout: float) -> tuple[dict[str, Any], bytes]:
        with self._lock:
            process = self._ensure()
            stdin, stdout = process.stdin, process.stdout
            assert stdin is not None and stdout is not None
            result: dict[str, Any] = {}

            def exchange() -> None:
                try:
                    _write(stdin, json.dumps(header).encode())
                    _write(stdin, docx)
                    stdin.flush()
                    answer = _read(stdout)
                    result["header"] = json.loads(answer) if answer is not None else None
                    result["pdf"] = _read(stdout)
                except (OSError, ValueError) as exc:
                    result["error"] = exc

            # The worker enforces the conversion timeout itself; this one only guards
            # against the worker itself hanging (start-up included).
            thread = threading.Thread(target=exchange, daemon=True)
            thread.start()
            thread.join(timeout + 90)
            if thread.is_alive() or result.get("header") is None or result.get("pdf") is None:
                self._stop()
                raise _failure("pdf.converter_unavailable", f"worker did not answer ({result.get('error')!r})")
            return result["header"], result["pdf"]

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                try:
                    assert process.stdin is not None
                    process.stdin.close()  # the worker closes LibreOffice and exits
                    process.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    process.kill()


def _write(stream: IO[bytes], data: bytes) -> None:
    stream.write(struct.pack(">Q", len(data)))
    stream.write(data)


def _read(stream: IO[bytes]) -> bytes | None:
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack(">Q", header)
    data = stream.read(size)
    return data if len(data) == size else None


_worker: _Worker | None = None
_worker_pid: int | None = None
_worker_guard = threading.Lock()


def _the_worker() -> _Worker:
    global _worker, _worker_pid
    with _worker_guard:
        # Per process: a forked child (gunicorn worker) starts its own.
        if _worker is None or _worker_pid != os.getpid():
            _worker, _worker_pid = _Worker(), os.getpid()
            atexit.register(_worker.close)
        return _worker


def convert_docx(docx: bytes, *, pdfa: bool = True, timeout: float | None = None) -> Conversion:
    """The PDF of ``docx`` (fonts embedded, PDF/A-2b unless ``pdfa=False``) and where
    things landed. Raises ``PdfConversionFailed`` (pdf.timeout, pdf.conversion_failed,
    pdf.converter_unavailable)."""
    seconds = float(timeout if timeout is not None else settings.PDF_TIMEOUT_SECONDS)
    header, pdf = _the_worker().request({"timeout": seconds, "pdfa": pdfa}, docx, timeout=seconds)
    if not header.get("ok"):
        raise _failure(str(header.get("code", "pdf.conversion_failed")), str(header.get("detail", "")))
    if not pdf.startswith(b"%PDF-"):
        raise _failure("pdf.conversion_failed", "the worker returned no PDF")
    layout = header.get("layout", {})
    return Conversion(pdf, Layout(int(layout.get("pages", 0)), layout.get("colophon_page"), int(layout.get("last_text_page", 0))))


def warm() -> None:
    """Start this process's LibreOffice now (serve's HTTP workers call it at start-up, so
    the first sealing does not pay ~2 s)."""
    header, _pdf = _the_worker().request({"warm": True}, b"", timeout=60)
    if not header.get("ok"):
        raise _failure(str(header.get("code")), str(header.get("detail", "")))
