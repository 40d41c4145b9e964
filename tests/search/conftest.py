"""Archive test helpers: a clean index per test (real Elasticsearch), DOCX builders,
and an ``archive`` helper that files a legacy upload and lets the on-commit kick index it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from docx import Document


def make_docx(title: str, paragraphs: list[str] | str = ()) -> bytes:
    if isinstance(paragraphs, str):
        paragraphs = [paragraphs]
    doc = Document()
    doc.add_paragraph(title)
    for text in paragraphs:
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def drop_indices() -> None:
    from search import es

    client = es.client()
    # Wildcard deletes are refused (action.destructive_requires_name): name them.
    names = list(client.indices.get(index=f"{es.alias_name()}-v*", allow_no_indices=True, expand_wildcards="all"))
    if names:
        client.indices.delete(index=",".join(names), ignore_unavailable=True)


def refresh() -> None:
    from search import es

    es.client().indices.refresh(index=es.alias_name())


@pytest.fixture
def clean_index(settings: Any) -> Iterator[None]:
    """No archive index for this test's prefix (it is created on first drain)."""
    url = settings.ELASTICSEARCH_URL
    assert url, "these tests need the real Elasticsearch (OFFICEHUB_ELASTICSEARCH_URL)"
    drop_indices()
    yield
    settings.ELASTICSEARCH_URL = url
    drop_indices()


@pytest.fixture
def archive(personas: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """File a legacy DOCX as the 办公厅 archivist (or ``actor``) and index it after commit."""
    from search.services import archive_legacy_upload

    def _archive(
        title: str, body: str | list[str] = "", *, actor: Any = None, index: bool = True, refresh_index: bool = True, **fields: Any
    ) -> Any:
        fields.setdefault("record_date", dt.date(2026, 3, 1))
        fields.setdefault("retention", "Y")
        fields.setdefault("classification", 0)
        with django_capture_on_commit_callbacks(execute=index):
            record = archive_legacy_upload(
                actor=actor or personas.archivist,
                file_name=fields.pop("file_name", "doc.docx"),
                file_bytes=fields.pop("file_bytes", None) or make_docx(title, body),
                title=title,
                **fields,
            )
        if index and refresh_index:
            refresh()
        return record

    return _archive


__all__ = ["make_docx", "refresh", "drop_indices", "settings"]
