"""What the portal's pages and public API share at the edge: per-address rate limits,
conditional GET with public caching, and parsing the search parameters.

Public answers are the same for every visitor, so browsers and proxies may keep them:
each GET carries an ETag and Last-Modified and ``Cache-Control: public, max-age=N``
(``PORTAL_CACHE_SECONDS``); a revalidation whose ETag (or date) still holds is answered
304 before any search runs. Nothing personal is on these pages and they never touch
the session (no ``Vary: Cookie``, no cookie set). A withdrawal changes the document's
and the portal's Last-Modified at once, so a revalidating cache learns of it; a cache
that does not revalidate may show a withdrawn page for at most max-age seconds.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag

from disclosure.errors import DisclosureInvalidInput, RateLimited
from disclosure.query import PortalParams
from officehub.accounts.services import client_ip
from officehub.ratelimit import parse_rate, take

# Part of every page ETag: bump when the portal's templates change what a page shows.
PAGE_VERSION: Final = "gk1"

RATES: Final = {
    "search": "PORTAL_SEARCH_RATE",
    "file": "DISCLOSURE_REQUEST_RATE",
    "track": "DISCLOSURE_TRACK_RATE",
}


def check_rate(kind: str, request: HttpRequest) -> None:
    """Take a token from the caller address's ``kind`` bucket (Redis, shared by every
    process) or raise ``throttled`` (429) with the seconds until the next one."""
    rate_per_second, burst = parse_rate(getattr(settings, RATES[kind]))
    address = client_ip(request) or "unknown"
    decision = take(f"gk:{kind}:{address}", rate_per_second=rate_per_second, burst=burst)
    if not decision.allowed:
        wait = max(1, int(decision.retry_after + 0.999))
        raise RateLimited(f"操作过于频繁，请 {wait} 秒后再试。", extra={"wait_seconds": wait})


class Validator:
    """What a GET's answer depends on: an ETag seed and its Last-Modified."""

    def __init__(self, seed: str, last_modified: datetime | None) -> None:
        self.etag = 'W/"' + hashlib.sha256(f"{PAGE_VERSION}|{seed}".encode()).hexdigest()[:32] + '"'
        self.last_modified = last_modified


def public_cache(validator_of: Callable[..., Validator | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer GET/HEAD conditionally and mark the answer publicly cacheable.

    ``validator_of(request, *args, **kwargs)`` returns the Validator, or None when there
    is nothing to validate (e.g. not published): the view then answers (a 404) and the
    answer is marked ``no-cache``. Only 200 and 304 answers are cacheable; a view may
    opt out (a degraded search answer) by setting Cache-Control itself."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            validator = validator_of(request, *args, **kwargs)
            if validator is None:
                response: HttpResponseBase = view(request, *args, **kwargs)
                if "Cache-Control" not in response:
                    patch_cache_control(response, no_cache=True)
                return response
            timestamp = int(validator.last_modified.timestamp()) if validator.last_modified else None
            not_modified = get_conditional_response(request, etag=validator.etag, last_modified=timestamp)
            response = not_modified if not_modified is not None else view(request, *args, **kwargs)
            if response.status_code in (200, 304) and "Cache-Control" not in response:
                response["ETag"] = quote_etag(validator.etag)
                if timestamp is not None:
                    response["Last-Modified"] = http_date(timestamp)
                patch_cache_control(response, public=True, max_age=settings.PORTAL_CACHE_SECONDS)
            elif "Cache-Control" not in response:
                patch_cache_control(response, no_cache=True)
            return response

        return wrapped

    return decorator


def private_page(response: HttpResponse) -> HttpResponse:
    """Pages that must not be stored (a tracking page: its number is the key to it)."""
    patch_cache_control(response, no_store=True, private=True)
    return response


def _int(query: QueryDict, name: str, default: int | None) -> int | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise DisclosureInvalidInput(f"参数 {name} 须为正整数。", extra={"field": name})
    return int(raw)


def parse_params(query: QueryDict) -> PortalParams:
    """q, issuer, year, doc_type, page (page_size: API only, 1–50). Raises disclosure.invalid."""
    q = query.get("q", "")
    if "\x00" in q:
        raise DisclosureInvalidInput("检索词中含有不允许的字符。", extra={"field": "q"})
    return PortalParams(
        q=q.strip(),
        issuer_id=_int(query, "issuer", None),
        year=_int(query, "year", None),
        doc_type=(query.get("doc_type") or "").strip(),
        page=_int(query, "page", 1) or 0,
        page_size=_int(query, "page_size", 20) or 0,
    )
