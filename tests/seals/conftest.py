"""Seal fixtures: a known KEK, the CA, the 办公厅's active 公章 kept by huangyan."""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from seals import images

# Fixed for the tests (never a real deployment's KEK); a second one for rotation tests.
TEST_KEK = base64.b64encode(bytes(range(32))).decode()
OTHER_KEK = base64.b64encode(bytes(range(100, 132))).decode()


# Real seal images, but each distinct one rendered once per session (Pillow at 300 dpi
# takes a noticeable fraction of a second, and most tests issue the same 公章).
_render_round_seal_once = functools.lru_cache(maxsize=32)(images.render_round_seal)
_render_name_seal_once = functools.lru_cache(maxsize=32)(images.render_square_name_seal)


@pytest.fixture(autouse=True)
def _render_each_seal_image_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(images, "render_round_seal", _render_round_seal_once)
    monkeypatch.setattr(images, "render_square_name_seal", _render_name_seal_once)


@pytest.fixture(autouse=True)
def _seal_kek(settings: Any) -> str:
    settings.SEAL_KEK = TEST_KEK
    return TEST_KEK


def make_docx(png: bytes, text: str = "关于做好2026年元旦春节期间有关工作的通知") -> bytes:
    """A small real DOCX with the seal image placed (the documents app does GB/T 9704)."""
    from docx import Document
    from docx.shared import Mm

    document = Document()
    document.add_paragraph(text)
    document.add_paragraph("浙江省人民政府办公厅")
    document.add_picture(io.BytesIO(png), width=Mm(42))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def build_docx() -> Callable[[bytes], bytes]:
    return make_docx


@pytest.fixture
def ca(db: None) -> Any:
    from seals.services import ca_init

    with transaction.atomic():  # as the seal_init_ca command does
        authority, _created = ca_init()
    return authority


@pytest.fixture
def office(personas: Any) -> Any:
    """浙江省人民政府办公厅, the organisation of huangyan (custodian) and wangfang."""
    return personas.custodian.department.organisation()


def issue_seal(personas: Any, office: Any, **kwargs: Any) -> Any:
    from seals.services import seal_activate, seal_issue

    activate = kwargs.pop("activate", True)
    with transaction.atomic():  # as the API's issue endpoint does
        seal = seal_issue(
            actor=personas.admin,
            kind=kwargs.pop("kind", "organisation"),
            owner_organisation_id=office.pk,
            custodian_ids=kwargs.pop("custodian_ids", [personas.custodian.pk]),
            **kwargs,
        )
        if activate:
            seal = seal_activate(actor=personas.admin, seal_id=seal.pk)
    return seal


@pytest.fixture
def office_seal(ca: Any, personas: Any, office: Any) -> Any:
    return issue_seal(personas, office)
