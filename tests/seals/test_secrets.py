"""The KEK and private keys stay out of error reports (debug pages, error e-mails)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.views.debug import ExceptionReporter

from seals import crypto, services
from tests.seals.conftest import OTHER_KEK, TEST_KEK

pytestmark = pytest.mark.django_db


def secrets_in(text: str) -> list[str]:
    needles = {
        "KEK text": TEST_KEK,
        "new KEK text": OTHER_KEK,
        "KEK bytes": repr(crypto.parse_kek(TEST_KEK))[2:40],
        "new KEK bytes": repr(crypto.parse_kek(OTHER_KEK))[2:40],
        # Joined at run time so this source line, shown in the report, does not match.
        "PEM key": " ".join(["PRIVATE", "KEY"]),
    }
    return [name for name, needle in needles.items() if needle in text]


def test_a_failure_during_key_rotation_reports_no_kek(office_seal: Any, rf: Any, monkeypatch: Any) -> None:
    def audit_fails(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit", audit_fails)
    try:
        services.seal_keys_rewrap(new_kek=crypto.parse_kek(OTHER_KEK))
    except RuntimeError:
        exc_type, exc, tb = sys.exc_info()
    else:  # pragma: no cover - the failure is the point
        pytest.fail("rotation should have failed")
    request = rf.get("/seals/")
    # The dev server (WSGI) copies the process environment into request.META.
    request.META["OFFICEHUB_SEAL_KEK"] = TEST_KEK
    reporter = ExceptionReporter(request, exc_type, exc, tb)
    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()
    assert "seal_keys_rewrap" in text  # the report is real and covers the service frame
    assert secrets_in(text) == [] and secrets_in(html) == []


def test_a_failure_while_sealing_reports_no_key(office_seal: Any, personas: Any, rf: Any) -> None:
    def build_fails(png: bytes) -> bytes:
        raise RuntimeError("renderer crashed")

    try:
        services.seal_apply(
            seal_id=office_seal.pk, actor=personas.custodian, build_docx=build_fails,
            document_ref="document:1", title="通知",
        )
    except RuntimeError:
        exc_type, exc, tb = sys.exc_info()
    reporter = ExceptionReporter(rf.get("/"), exc_type, exc, tb)
    text = reporter.get_traceback_text()
    assert "seal_apply" in text and secrets_in(text) == []
    assert "EllipticCurvePrivateKey" not in text  # the unwrapped key object is masked too
