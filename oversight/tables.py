"""Each dashboard view as one table (and the chart drawn from it).

The page shows the table beside its chart, the CSV export writes the same rows, and the
chart is drawn from the same numbers: one builder per view, so the three never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from officehub.directory.models import User
from oversight import selectors
from oversight.disclosure import DisclosurePanel, disclosure_requests
from oversight.scope import Filters, Scope
from seals.models import SealKind

Cell = str | int


class Series(TypedDict):
    label: str
    data: list[float]


class Chart(TypedDict):
    type: Literal["bar"]
    horizontal: bool
    stacked: bool
    unit: str
    labels: list[str]
    series: list[Series]


class Table(TypedDict):
    key: str
    title: str
    note: str
    columns: list[str]
    rows: list[list[Cell]]
    # per row: the drill-down page of that row (pages only; not in the CSV)
    links: list[str | None]
    chart: Chart | None
    # False: the view exists but is switched off here (依申请公开 without the portal)
    enabled: bool


def hours(seconds: float | None) -> str:
    """Seconds as hours with one decimal ("12.5"); "—" when there is no figure."""
    return "—" if seconds is None else f"{seconds / 3600:.1f}"


def local_time(value: dt.datetime | None) -> str:
    return "—" if value is None else timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def _table(key: str, title: str, columns: list[str], rows: list[list[Cell]], *, note: str = "",
           chart: Chart | None = None, links: list[str | None] | None = None, enabled: bool = True) -> Table:
    return {
        "key": key,
        "title": title,
        "note": note,
        "columns": columns,
        "rows": rows,
        "links": links if links is not None else [None] * len(rows),
        "chart": chart,
        "enabled": enabled,
    }


def _bar(labels: list[str], series: list[Series], *, unit: str, horizontal: bool = False, stacked: bool = False) -> Chart:
    return {"type": "bar", "horizontal": horizontal, "stacked": stacked, "unit": unit, "labels": labels, "series": series}


# --------------------------------------------------------------------------- one per view


def circulation_tables(data: selectors.Circulation) -> tuple[Table, Table]:
    by_step = data["by_step"]
    by_office = data["by_office"]
    note = f"当前在办公文共 {data['total']} 件（实时，不受日期范围限制；一件公文可同时处于多个环节或部门）。"
    step_table = _table(
        "circulation-step", "在办公文（按环节）", ["环节", "在办公文（件）"],
        [[row["label"], row["documents"]] for row in by_step], note=note,
        chart=_bar([row["label"] for row in by_step], [{"label": "在办公文", "data": [row["documents"] for row in by_step]}],
                   unit="件"),
    )
    office_table = _table(
        "circulation-office", "在办公文（按部门）", ["部门", "在办公文（件）"],
        [[row["office"], row["documents"]] for row in by_office], note=note,
        chart=_bar([row["office"] for row in by_office],
                   [{"label": "在办公文", "data": [row["documents"] for row in by_office]}], unit="件", horizontal=True),
    )
    return step_table, office_table


def handling_table(rows: list[selectors.HandlingTime]) -> Table:
    cells: list[list[Cell]] = [
        [row["label"], row["steps"], hours(row["average_seconds"]), hours(row["p90_seconds"])] for row in rows
    ]
    return _table(
        "handling", "各环节办理用时", ["环节", "已办理（次）", "平均用时（小时）", "P90用时（小时）"], cells,
        note="日期范围内办结的环节，从开始到办结的用时；P90：九成环节在此时长内办完。",
        chart=_bar(
            [row["label"] for row in rows],
            [
                {"label": "平均用时", "data": [_number(hours(row["average_seconds"])) for row in rows]},
                {"label": "P90用时", "data": [_number(hours(row["p90_seconds"])) for row in rows]},
            ],
            unit="小时",
        ),
    )


def overdue_link(office_id: int, filters: Filters) -> str:
    return reverse("oversight-overdue", args=[office_id]) + "?" + urlencode(filters.as_query())


def overdue_table(rows: list[selectors.OverdueOffice], filters: Filters) -> Table:
    return _table(
        "overdue", "逾期未办（按部门）", ["部门", "逾期环节（个）", "涉及公文（件）", "最早到期"],
        [[row["office"], row["steps"], row["documents"], local_time(row["oldest_due_at"])] for row in rows],
        note="当前已过办理时限仍未办结的环节（实时）。点击部门查看明细：只列出您有权查看的公文，其余仅计数。",
        links=[overdue_link(row["office_id"], filters) for row in rows],
        chart=_bar(
            [row["office"] for row in rows],
            [{"label": "逾期环节", "data": [row["steps"] for row in rows]},
             {"label": "涉及公文", "data": [row["documents"] for row in rows]}],
            unit="个", horizontal=True,
        ),
    )


def reminders_table(rows: list[selectors.ReminderCount]) -> Table:
    return _table(
        "reminders", "催办（按部门）", ["部门", "催办（次）", "人工催办（次）", "逾期自动催办（次）"],
        [[row["office"], row["total"], row["manual"], row["automatic"]] for row in rows],
        note="日期范围内发出的催办，按被催办环节所在部门统计。",
        chart=_bar(
            [row["office"] for row in rows],
            [{"label": "人工催办", "data": [row["manual"] for row in rows]},
             {"label": "逾期自动催办", "data": [row["automatic"] for row in rows]}],
            unit="次", horizontal=True, stacked=True,
        ),
    )


def seals_table(rows: list[selectors.SealUse]) -> Table:
    def kind(value: str) -> str:
        return str(SealKind(value).label) if value in SealKind.values else value

    return _table(
        "seals", "印章使用（按印章）", ["印章", "类型", "所属机关", "用印（次）", "最近用印"],
        [[row["seal"], kind(row["kind"]), row["organisation"], row["uses"], local_time(row["last_used_at"])] for row in rows],
        note="日期范围内每枚印章的用印记录数。",
        chart=_bar([row["seal"] for row in rows], [{"label": "用印", "data": [row["uses"] for row in rows]}], unit="次"),
    )


def disclosure_table(panel: DisclosurePanel) -> Table:
    rows = panel["rows"]
    return _table(
        "disclosure", "依申请公开（按状态与时限）", ["状态", "申请（件）", "已超期（件）", "5个工作日内到期（件）"],
        [[row["label"], row["total"], row["overdue"], row["due_soon"]] for row in rows],
        note="日期范围内登记的依申请公开申请；法定答复时限20个工作日，可延期一次20个工作日。"
        if panel["enabled"] else "未启用：本系统尚未启用政务公开（依申请公开）模块。",
        chart=_bar(
            [row["label"] for row in rows],
            [{"label": "申请", "data": [row["total"] for row in rows]},
             {"label": "已超期", "data": [row["overdue"] for row in rows]},
             {"label": "即将到期", "data": [row["due_soon"] for row in rows]}],
            unit="件",
        ) if panel["enabled"] else None,
        enabled=panel["enabled"],
    )


def messages_table(rows: list[selectors.MessageActivity]) -> Table:
    return _table(
        "messages", "消息活跃度（按部门）", ["部门", "消息（条）", "发送人数", "会话数"],
        [[row["department"], row["messages"], row["senders"], row["conversations"]] for row in rows],
        note="日期范围内各部门人员发送的消息条数（只统计数量，不读取任何消息内容）。",
        chart=_bar([row["department"] for row in rows], [{"label": "消息", "data": [row["messages"] for row in rows]}],
                   unit="条", horizontal=True),
    )


def overdue_items_table(data: selectors.OverdueDrillDown) -> Table:
    items = data["items"]
    return _table(
        "overdue-items", f"逾期明细：{data['office']}",
        ["公文标题", "发文字号", "环节", "当前办理人", "开始时间", "办理时限", "逾期（小时）", "催办（次）"],
        [[item["title"], item["doc_number"] or "—", item["label"], "、".join(item["holders"]) or "—",
          local_time(item["started_at"]), local_time(item["due_at"]), hours(item["overdue_seconds"]), item["reminders"]]
         for item in items],
        note=f"共 {data['total_steps']} 个逾期环节，您有权查看其中 {data['visible_steps']} 个；"
        f"另有 {data['hidden_steps']} 个所属公文您无权查看，仅计数。",
        links=[reverse("documents-detail", args=[item["document_id"]]) for item in items],
    )


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Context:
    scope: Scope
    filters: Filters
    viewer: User
    now: dt.datetime


TITLES = {
    "circulation-step": "在办公文（按环节）",
    "circulation-office": "在办公文（按部门）",
    "handling": "各环节办理用时",
    "overdue": "逾期未办（按部门）",
    "reminders": "催办（按部门）",
    "seals": "印章使用（按印章）",
    "disclosure": "依申请公开（按状态与时限）",
    "messages": "消息活跃度（按部门）",
}
ORGANISATION_ONLY = frozenset({"seals", "disclosure"})


def view_keys(scope: Scope) -> list[str]:
    """The views this scope shows, in page order."""
    return [key for key in TITLES if scope.shows_organisation_figures or key not in ORGANISATION_ONLY]


BUILDERS: dict[str, Callable[[Context], Table]] = {
    "circulation-step": lambda c: circulation_tables(selectors.circulation(c.scope))[0],
    "circulation-office": lambda c: circulation_tables(selectors.circulation(c.scope))[1],
    "handling": lambda c: handling_table(selectors.handling_times(c.scope, c.filters)),
    "overdue": lambda c: overdue_table(selectors.overdue_by_office(c.scope, now=c.now), c.filters),
    "reminders": lambda c: reminders_table(selectors.reminder_counts(c.scope, c.filters)),
    "seals": lambda c: seals_table(selectors.seal_use(c.scope, c.filters)),
    "disclosure": lambda c: disclosure_table(disclosure_requests(c.scope, c.filters, now=c.now)),
    "messages": lambda c: messages_table(selectors.message_activity(c.scope, c.filters)),
}


def table_for(key: str, context: Context) -> Table | None:
    """One view's table, or None for a key this scope does not show."""
    if key not in view_keys(context.scope):
        return None
    return BUILDERS[key](context)


def dashboard_tables(context: Context) -> list[Table]:
    """Every view of the scope, in page order (在办公文 computed once for its two tables)."""
    keys = view_keys(context.scope)
    step_table, office_table = circulation_tables(selectors.circulation(context.scope))
    built = {"circulation-step": step_table, "circulation-office": office_table}
    return [built[key] if key in built else BUILDERS[key](context) for key in keys]
