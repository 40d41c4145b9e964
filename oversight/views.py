"""督办 pages: the dashboard, an office's overdue drill-down, and each view as CSV.

Thin: the scope and filters from ``oversight.scope``, the tables from
``oversight.tables`` (the same selectors as the API). A viewer without the roles gets
the 403 page; a bad filter shows the page with the defaults, the coded message and 400.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from officehub.directory.models import User
from officehub.edges import download, request_user
from officehub.error_pages import error_page
from oversight import selectors
from oversight.errors import OversightForbidden, OversightInvalidFilter, OversightOfficeNotFound
from oversight.exports import table_csv
from oversight.scope import Filters, Scope, dashboard_scope, default_filters, narrow_to_organisation, parse_filters
from oversight.tables import Context, Table, dashboard_tables, overdue_items_table, table_for

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The page's transaction: read-only, one snapshot for all its views."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with selectors.dashboard_reads():
            return view(request, *args, **kwargs)

    return wrapped


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _context(request: HttpRequest, *, lenient: bool) -> tuple[Scope, Context, str]:
    """The viewer's scope and filters. ``lenient``: a bad filter falls back to the
    defaults with its message (pages); otherwise it is refused (CSV)."""
    viewer: User = request_user(request)
    try:
        scope = dashboard_scope(viewer)
    except OversightForbidden as exc:
        raise _Refused(error_page(request, exc.status, message=exc.message)) from exc
    problem = ""
    try:
        filters = parse_filters(request.GET)
        narrowed = narrow_to_organisation(scope, filters.organisation_id)
    except OversightInvalidFilter as exc:
        if not lenient:
            raise _Refused(error_page(request, exc.status, message=exc.message)) from exc
        problem, filters, narrowed = exc.message, default_filters(), scope
    return scope, Context(scope=narrowed, filters=filters, viewer=viewer, now=timezone.now()), problem


def _page_context(full_scope: Scope, context: Context, problem: str) -> dict[str, Any]:
    return {
        "scope": full_scope,
        "filters": context.filters,
        "query_string": urlencode(context.filters.as_query()),
        "problem": problem,
        "organisations": full_scope.organisations,
        "generated_at": timezone.localtime(context.now),
    }


def _section(table: Table) -> dict[str, Any]:
    """A table as the template walks it: each row with its drill-down link."""
    return {"table": table, "lines": list(zip(table["links"], table["rows"], strict=True)),
            "chart_id": f"chart-data-{table['key']}"}


def _csv_name(title: str, filters: Filters) -> tuple[str, str]:
    span = f"{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}"
    return f"督办-{title}-{span}.csv", f"oversight-{span}.csv"


@login_required
@require_GET
@_read_only
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        full_scope, context, problem = _context(request, lenient=True)
    except _Refused as refused:
        return refused.response
    page = _page_context(full_scope, context, problem)
    page["sections"] = [_section(table) for table in dashboard_tables(context)]
    return render(request, "oversight/dashboard.html", page, status=400 if problem else 200)


@login_required
@require_GET
@_read_only
def export_csv(request: HttpRequest, key: str) -> HttpResponse:
    try:
        _scope, context, _problem = _context(request, lenient=False)
    except _Refused as refused:
        return refused.response
    table = table_for(key, context)
    if table is None:
        raise Http404("没有这个统计视图。")
    return _csv_download(table, context.filters)


def _csv_download(table: Table, filters: Filters) -> HttpResponse:
    name, ascii_name = _csv_name(table["title"], filters)
    response = download(table_csv(table).encode("utf-8"), name, CSV_CONTENT_TYPE, ascii_filename=ascii_name)
    response["Cache-Control"] = "private, no-store"
    return response


def _drill_down(request: HttpRequest, office_id: int) -> tuple[Scope, Context, Table, str]:
    full_scope, context, problem = _context(request, lenient=True)
    try:
        data = selectors.overdue_items(context.scope, context.viewer, office_id, now=context.now)
    except OversightOfficeNotFound as exc:
        raise Http404(exc.message) from exc
    return full_scope, context, overdue_items_table(data), problem


@login_required
@require_GET
@_read_only
def overdue_drill_down(request: HttpRequest, office_id: int) -> HttpResponse:
    try:
        full_scope, context, table, problem = _drill_down(request, office_id)
    except _Refused as refused:
        return refused.response
    page = _page_context(full_scope, context, problem)
    page["table"] = table
    page["lines"] = _section(table)["lines"]
    page["office_id"] = office_id
    return render(request, "oversight/overdue.html", page)


@login_required
@require_GET
@_read_only
def overdue_drill_down_csv(request: HttpRequest, office_id: int) -> HttpResponse:
    try:
        _scope, context, table, _problem = _drill_down(request, office_id)
    except _Refused as refused:
        return refused.response
    return _csv_download(table, context.filters)

