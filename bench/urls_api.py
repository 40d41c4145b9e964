"""The production URLs plus ``/bench/bare/<name>/``: a plain Django view that returns fixed
JSON bytes (the same body the real endpoint returned), with no auth, DRF or database."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import path

from officehub.urls import urlpatterns as production

BODIES = Path(__file__).resolve().parent.parent / "var" / "bench-api-bodies"


_cache: dict[str, bytes] = {}


def bare(request: HttpRequest, name: str) -> HttpResponse:
    body = _cache.get(name)
    if body is None:
        body = _cache[name] = (BODIES / f"{name}.json").read_bytes()
    return HttpResponse(body, content_type="application/json")


urlpatterns = [path("bench/bare/<slug:name>/", bare), *production]
