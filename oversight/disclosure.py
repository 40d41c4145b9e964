"""依申请公开 requests on the dashboard, through a small selector interface.

The 政务公开 portal keeps the requests in its own app; the dashboard does not import it.
``settings.OVERSIGHT_DISCLOSURE_SOURCE`` names (dotted path) the portal's selector, a
callable with this signature that aggregates in SQL:

    def disclosure_request_summary(
        *, organisation_ids: Sequence[int], created_from: datetime, created_to: datetime, now: datetime
    ) -> Iterable[DisclosureStateRow]

one row per request state (登记, 承办, 延期, 已答复…, in the portal's own order) for the
requests filed with those organisations in ``[created_from, created_to)``: how many,
how many are past their statutory deadline (20 working days, extended once by 20) and
unanswered, and how many fall due within the next 5 working days. Unset (the portal is
not installed), the panel says 未启用.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TypedDict

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from oversight.scope import Filters, Scope


class DisclosureStateRow(TypedDict):
    state: str
    label: str
    total: int
    overdue: int
    due_soon: int


class DisclosurePanel(TypedDict):
    enabled: bool
    rows: list[DisclosureStateRow]


DisclosureSource = Callable[..., Iterable[DisclosureStateRow]]


def disclosure_source() -> DisclosureSource | None:
    """The portal's selector, or None when none is configured."""
    path: str = getattr(settings, "OVERSIGHT_DISCLOSURE_SOURCE", "") or ""
    if not path:
        return None
    source: DisclosureSource = import_string(path)
    return source


def disclosure_requests(scope: Scope, filters: Filters, *, now: dt.datetime | None = None) -> DisclosurePanel:
    """依申请公开 requests by state and deadline for an organisation scope (a department
    head's dashboard has no such panel: disabled)."""
    source = disclosure_source()
    if source is None or not scope.shows_organisation_figures:
        return {"enabled": False, "rows": []}
    start, end = filters.window()
    organisation_ids: Sequence[int] = sorted(scope.organisation_ids)
    rows = source(organisation_ids=organisation_ids, created_from=start, created_to=end, now=now or timezone.now())
    return {
        "enabled": True,
        "rows": [
            DisclosureStateRow(
                state=str(row["state"]),
                label=str(row["label"]),
                total=int(row["total"]),
                overdue=int(row["overdue"]),
                due_soon=int(row["due_soon"]),
            )
            for row in rows
        ],
    }
