"""The 督办 dashboard: every figure equals a direct SQL count over the seeded mix; who may
see it (and how much); the filters; the drill-down's access rule; CSV = the page's table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from disclosure import selectors as disclosure_selectors
from disclosure.models import DisclosureRequest
from officehub.directory.models import Department, User
from tests.oversight.conftest import HELD, IN_FLOW, OFFICE, Seeded, sql

pytestmark = pytest.mark.django_db

API = "/api/oversight"
VIEWS = ["circulation", "handling-times", "overdue", "reminders", "seals", "disclosure", "messages"]


def api(client: Any, user: User, view: str, **query: Any) -> Any:
    client.force_authenticate(user)
    return client.get(f"{API}/{view}/", query)


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.content[:500]
    return response.json()


def day_window(days: int = 30) -> tuple[dt.datetime, dt.datetime]:
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


# --------------------------------------------------------------------------- numbers = SQL


def test_documents_in_circulation_equal_a_direct_sql_count(api_client, mix: Seeded, supervisor):
    data = ok(api(api_client, supervisor, "circulation"))
    orgs = mix.organisation_ids
    base = f"""FROM documents_step s JOIN documents_document d ON d.id = s.document_id
               WHERE s.state = 'open' AND d.status = ANY(%(flow)s) AND {HELD}"""
    by_kind = dict(sql(f"SELECT s.kind, COUNT(DISTINCT s.document_id) {base} GROUP BY s.kind", orgs=orgs, flow=list(IN_FLOW)))
    by_office = dict(sql(f"SELECT {OFFICE}, COUNT(DISTINCT s.document_id) {base} GROUP BY 1", orgs=orgs, flow=list(IN_FLOW)))
    [(total,)] = sql(f"SELECT COUNT(DISTINCT s.document_id) {base}", orgs=orgs, flow=list(IN_FLOW))

    assert {row["kind"]: row["documents"] for row in data["by_step"]} == by_kind
    assert {row["office_id"]: row["documents"] for row in data["by_office"]} == by_office
    assert data["total"] == total
    # the mix: 核稿, 会签, 签发, 复核, 用印 outgoing + 3 incoming at 签收 + 1 at 登记 (杭州 not counted)
    assert total == 9
    assert by_kind["countersign"] == 1 and by_kind["receive"] == 3 and by_kind["register"] == 1
    general = Department.objects.get(name="综合处", parent__name="浙江省人民政府办公厅")
    assert by_office[general.pk] == 1  # the 会签 step of 综合处


def test_handling_times_equal_sql_average_and_percentile(api_client, mix: Seeded, supervisor):
    rows = ok(api(api_client, supervisor, "handling-times"))["rows"]
    start, end = day_window()
    expected = {
        kind: (count, avg, p90)
        for kind, count, avg, p90 in sql(
            f"""SELECT s.kind, COUNT(*), AVG(EXTRACT(EPOCH FROM s.finished_at - s.started_at))::float8,
                       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM s.finished_at - s.started_at))
                FROM documents_step s JOIN documents_document d ON d.id = s.document_id
                WHERE s.state IN ('done', 'returned') AND s.finished_at >= %(start)s AND s.finished_at < %(end)s AND {HELD}
                GROUP BY s.kind""",  # noqa: S608 - constant fragments; the values are parameters
            orgs=mix.organisation_ids, start=start, end=end,
        )
    }
    assert {row["kind"] for row in rows} == set(expected) and len(rows) >= 6
    for row in rows:
        count, average, p90 = expected[row["kind"]]
        assert row["steps"] == count
        assert row["average_seconds"] == pytest.approx(average, rel=1e-9)
        assert row["p90_seconds"] == pytest.approx(float(p90), rel=1e-9)
    draft = next(row for row in rows if row["kind"] == "draft")
    assert draft["p90_seconds"] > draft["average_seconds"]  # the spread durations show


def test_overdue_by_office_equals_sql(api_client, mix: Seeded, supervisor):
    rows = ok(api(api_client, supervisor, "overdue"))["rows"]
    expected = {
        office: (steps, documents)
        for office, steps, documents in sql(
            f"""SELECT {OFFICE}, COUNT(*), COUNT(DISTINCT s.document_id)
                FROM documents_step s JOIN documents_document d ON d.id = s.document_id
                WHERE s.state = 'open' AND s.due_at < now() AND {HELD} GROUP BY 1""",  # noqa: S608 - as above
            orgs=mix.organisation_ids,
        )
    }
    assert {row["office_id"]: (row["steps"], row["documents"]) for row in rows} == expected
    assert sum(steps for steps, _ in expected.values()) == 4  # 核稿, two 会签, 登记; 杭州's is not ours


def test_reminder_counts_equal_sql(api_client, mix: Seeded, supervisor):
    rows = ok(api(api_client, supervisor, "reminders"))["rows"]
    start, end = day_window()
    expected = {
        office: (total, manual, automatic)
        for office, total, manual, automatic in sql(
            f"""SELECT {OFFICE}, COUNT(*), COUNT(*) FILTER (WHERE NOT r.automatic), COUNT(*) FILTER (WHERE r.automatic)
                FROM documents_reminder r JOIN documents_step s ON s.id = r.step_id
                JOIN documents_document d ON d.id = s.document_id
                WHERE r.created_at >= %(start)s AND r.created_at < %(end)s AND {HELD} GROUP BY 1""",  # noqa: S608
            orgs=mix.organisation_ids, start=start, end=end,
        )
    }
    assert {row["office_id"]: (row["total"], row["manual"], row["automatic"]) for row in rows} == expected
    assert sum(manual for _, manual, _ in expected.values()) == 3  # two 会签 steps + the 核稿 step
    assert sum(automatic for _, _, automatic in expected.values()) == 4


def test_seal_use_equals_sql(api_client, mix: Seeded, supervisor):
    rows = ok(api(api_client, supervisor, "seals"))["rows"]
    start, end = day_window()
    expected = dict(
        sql(
            """SELECT s.id, COUNT(r.id) FROM seals_seal s
               LEFT JOIN seals_sealrecord r ON r.seal_id = s.id AND r.created_at >= %(start)s AND r.created_at < %(end)s
               WHERE s.owner_organisation_id = ANY(%(orgs)s) GROUP BY s.id""",
            orgs=mix.organisation_ids, start=start, end=end,
        )
    )
    assert {row["seal_id"]: row["uses"] for row in rows} == expected
    assert sum(expected.values()) == 2  # the two distributed documents


def test_message_activity_equals_sql_and_reads_no_content(api_client, mix: Seeded, supervisor):
    response = api(api_client, supervisor, "messages")
    rows = ok(response)["rows"]
    start, end = day_window()
    province = Department.objects.get(name="浙江省人民政府")
    departments = list(Department.objects.filter(path__startswith=province.path).values_list("pk", flat=True))
    expected = {
        department: (messages, senders, conversations)
        for department, messages, senders, conversations in sql(
            """SELECT u.department_id, COUNT(*), COUNT(DISTINCT m.sender_id), COUNT(DISTINCT m.conversation_id)
               FROM messaging_message m JOIN directory_user u ON u.id = m.sender_id
               WHERE m.created_at >= %(start)s AND m.created_at < %(end)s AND u.department_id = ANY(%(departments)s)
               GROUP BY u.department_id""",
            start=start, end=end, departments=departments,
        )
    }
    assert {row["department_id"]: (row["messages"], row["senders"], row["conversations"]) for row in rows} == expected
    assert sum(messages for messages, _, _ in expected.values()) >= 6
    assert set(rows[0]) == {"department_id", "department", "messages", "senders", "conversations"}
    assert "请各位关注" not in response.content.decode() and "督办联络群" not in response.content.decode()


# --------------------------------------------------------------------------- who may see it


@pytest.mark.parametrize("username", ["heli", "machao", "huangyan", "xuhui", "admin", "zhaomin"])
def test_staff_without_the_role_get_403_on_the_page_and_every_api(api_client, mix: Seeded, username):
    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    page = client.get("/oversight/")
    assert page.status_code == 403 and "督办看板" in page.content.decode()
    assert client.get("/oversight/export/overdue.csv").status_code == 403
    assert client.get("/oversight/overdue/1/").status_code == 403
    for view in [*VIEWS, "overdue/1"]:
        response = api(api_client, user, view)
        assert response.status_code == 403, view
        assert response.json()["code"] == "oversight.forbidden"


def test_anonymous_callers_are_sent_to_login_or_get_401(api_client, mix: Seeded):
    assert Client().get("/oversight/").status_code == 302
    for view in VIEWS:
        assert api_client.get(f"{API}/{view}/").status_code == 401


@pytest.mark.parametrize("username", ["tangning", "liuyang", "wuhao"])
def test_leaders_supervisors_and_department_heads_may_open_it(mix: Seeded, username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    response = client.get("/oversight/")
    assert response.status_code == 200
    assert 'href="/oversight/"' in response.content.decode()  # and the nav shows it


def test_the_nav_shows_the_dashboard_only_to_those_who_may_open_it(personas):
    client = Client()
    client.force_login(personas.staff)
    assert 'href="/oversight/"' not in client.get("/").content.decode()


def test_a_department_head_sees_their_own_department_only(api_client, mix: Seeded, personas):
    head = personas.head3  # 吴昊, 督查处
    supervision = head.department
    circulation = ok(api(api_client, head, "circulation"))
    assert [row["office_id"] for row in circulation["by_office"]] == [supervision.pk]
    assert circulation["total"] == 1 and circulation["by_step"] == [{"kind": "countersign", "label": "会签", "documents": 1}]
    overdue = ok(api(api_client, head, "overdue"))["rows"]
    assert [(row["office_id"], row["steps"]) for row in overdue] == [(supervision.pk, 1)]
    assert ok(api(api_client, head, "seals"))["rows"] == []  # organisation figures are not theirs
    assert ok(api(api_client, head, "disclosure")) == {"enabled": False, "rows": []}
    messages = ok(api(api_client, head, "messages"))["rows"]
    assert {row["department_id"] for row in messages} <= {supervision.pk}
    general = personas.head2.department
    response = api(api_client, head, f"overdue/{general.pk}")
    assert response.status_code == 404 and response.json()["code"] == "oversight.office_not_found"


def test_another_trees_supervision_is_not_visible(api_client, mix: Seeded, personas):
    """杭州市's signing leader sees 杭州's document, and nothing of the province."""
    leader = User.objects.get(username="lvbin")
    data = ok(api(api_client, leader, "circulation"))
    assert data["total"] == 1 and data["by_step"][0]["kind"] == "review"
    offices = ok(api(api_client, leader, "overdue"))["rows"]
    assert len(offices) == 1 and offices[0]["office"].startswith("杭州市人民政府办公厅")


# --------------------------------------------------------------------------- filters


def test_the_date_range_filters_event_figures_and_not_the_snapshot(api_client, mix: Seeded, supervisor):
    long_ago = {"date_from": "2020-01-01", "date_to": "2020-01-31"}
    assert ok(api(api_client, supervisor, "handling-times", **long_ago))["rows"] == []
    assert ok(api(api_client, supervisor, "reminders", **long_ago))["rows"] == []
    assert ok(api(api_client, supervisor, "messages", **long_ago))["rows"] == []
    assert all(row["uses"] == 0 for row in ok(api(api_client, supervisor, "seals", **long_ago))["rows"])
    # 在办 and 逾期 are "now": the range does not hide them
    assert ok(api(api_client, supervisor, "circulation", **long_ago))["total"] == 9
    assert sum(row["steps"] for row in ok(api(api_client, supervisor, "overdue", **long_ago))["rows"]) == 4
    today = timezone.localdate().isoformat()
    assert ok(api(api_client, supervisor, "reminders", date_from=today, date_to=today))["rows"] != []


def test_the_organisation_filter_narrows_every_figure(api_client, mix: Seeded, supervisor):
    big_data = Department.objects.get(name="浙江省大数据发展管理局")
    data = ok(api(api_client, supervisor, "circulation", organisation=big_data.pk))
    assert data["total"] == 2  # its two incoming copies (签收 and 登记)
    assert {row["kind"] for row in data["by_step"]} == {"receive", "register"}
    assert [row["office_id"] for row in data["by_office"]] == [big_data.pk]
    assert ok(api(api_client, supervisor, "seals", organisation=big_data.pk))["rows"] == []
    messages = ok(api(api_client, supervisor, "messages", organisation=big_data.pk))["rows"]
    assert messages == []  # nobody of the 大数据局 wrote in the mix
    office = Department.objects.get(name="浙江省人民政府办公厅")
    assert ok(api(api_client, supervisor, "circulation", organisation=office.pk))["total"] == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "date_from"),
        ({"date_from": "2001-01-01", "date_to": "2026-03-01"}, "date_from"),
        ({"date_from": "1900-01-01"}, "date_from"),
        ({"organisation": "abc"}, "organisation"),
        ({"organisation": "-3"}, "organisation"),
        ({"organisation": "9" * 30}, "organisation"),
    ],
)
def test_bad_filters_are_refused_with_a_coded_400(api_client, mix: Seeded, supervisor, query, field):
    response = api(api_client, supervisor, "handling-times", **query)
    assert response.status_code == 400
    assert response.json()["code"] == "oversight.invalid_filter" and response.json()["extra"]["field"] == field


def test_an_organisation_outside_the_scope_is_refused(api_client, mix: Seeded, supervisor):
    hangzhou = Department.objects.get(name="杭州市人民政府")
    response = api(api_client, supervisor, "circulation", organisation=hangzhou.pk)
    assert response.status_code == 400 and response.json()["extra"]["field"] == "organisation"
    client = Client()
    client.force_login(supervisor)
    page = client.get("/oversight/", {"organisation": hangzhou.pk})
    assert page.status_code == 400 and "所选机关不在您的查看范围内" in page.content.decode()
    assert client.get("/oversight/export/overdue.csv", {"organisation": hangzhou.pk}).status_code == 400


# --------------------------------------------------------------------------- drill-down


def test_the_drill_down_lists_only_documents_the_viewer_may_open(api_client, mix: Seeded, supervisor, personas):
    office = mix.documents["review"].drafting_department
    # 唐宁 (督查) holds no step of these documents: counts only
    data = ok(api(api_client, supervisor, f"overdue/{office.pk}"))
    assert data["total_steps"] == 1 and data["visible_steps"] == 0 and data["hidden_steps"] == 1 and data["items"] == []
    # 刘洋 (签发领导) may open it only once he holds or held a step; the drafter's division may
    leader = personas.leader
    data = ok(api(api_client, leader, f"overdue/{office.pk}"))
    assert data["total_steps"] == 1 and data["visible_steps"] + data["hidden_steps"] == 1
    general = Department.objects.get(name="综合处", parent__name="浙江省人民政府办公厅")
    data = ok(api(api_client, personas.head2, f"overdue/{general.pk}"))  # 周强 holds the 会签 step
    assert data["visible_steps"] == 1 and data["items"][0]["document_id"] == mix.documents["countersign"].pk
    assert data["items"][0]["reminders"] == 2  # the drafter's and the worker's
    assert data["items"][0]["holders"] == ["周强"]
    from documents.selectors import visible_documents

    for user in (supervisor, leader, personas.head2):
        for office_row in ok(api(api_client, user, "overdue"))["rows"]:
            drill = ok(api(api_client, user, f"overdue/{office_row['office_id']}"))
            ids = [item["document_id"] for item in drill["items"]]
            assert set(ids) <= set(visible_documents(user).values_list("pk", flat=True))
            assert drill["total_steps"] == office_row["steps"] == drill["visible_steps"] + drill["hidden_steps"]


def test_the_drill_down_page_shows_counts_and_links(mix: Seeded, personas):
    general = Department.objects.get(name="综合处", parent__name="浙江省人民政府办公厅")
    client = Client()
    client.force_login(personas.head2)
    html = client.get(f"/oversight/overdue/{general.pk}/").content.decode()
    assert f'href="/documents/{mix.documents["countersign"].pk}/"' in html and "关于加强督查督办工作的意见" in html
    client.force_login(User.objects.get(username="tangning"))  # 督查处: may not open 秘书处's draft under review
    secretariat = mix.documents["review"].drafting_department
    html = client.get(f"/oversight/overdue/{secretariat.pk}/").content.decode()
    assert "关于开展政务服务满意度调查的通知" not in html and "您有权查看其中 0 个" in html and "另有 1 个" in html
    hangzhou_office = Department.objects.get(name="秘书处", parent__name="杭州市人民政府办公厅")
    assert client.get(f"/oversight/overdue/{hangzhou_office.pk}/").status_code == 404


# --------------------------------------------------------------------------- page and CSV


class _Tables(HTMLParser):
    """Cells of every <table id="table-…"> on a page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = (dict(attrs).get("id") or "").removeprefix("table-")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def test_every_views_csv_matches_its_table_on_the_page(mix: Seeded, supervisor):
    client = Client()
    client.force_login(supervisor)
    page = client.get("/oversight/")
    assert page.status_code == 200
    tables = page_tables(page.content.decode())
    keys = ["circulation-step", "circulation-office", "handling", "overdue", "reminders", "seals", "disclosure", "messages"]
    assert set(tables) == set(keys)
    for key in keys:
        response = client.get(f"/oversight/export/{key}.csv")
        assert response.status_code == 200, key
        assert response["Content-Type"].startswith("text/csv")
        assert "filename*=utf-8''" in response["Content-Disposition"]
        raw = response.content
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        html_rows = tables[key]
        if len(html_rows) == 2 and html_rows[1] == ["暂无数据"]:
            html_rows = html_rows[:1]
        assert rows == html_rows, key
    assert len(tables["overdue"]) == 1 + 4 and len(tables["circulation-step"]) > 4


def test_the_csv_follows_the_filters_and_unknown_views_are_404(mix: Seeded, supervisor):
    client = Client()
    client.force_login(supervisor)
    response = client.get("/oversight/export/handling.csv", {"date_from": "2020-01-01", "date_to": "2020-01-02"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [["环节", "已办理（次）", "平均用时（小时）", "P90用时（小时）"]]
    assert client.get("/oversight/export/nothing.csv").status_code == 404
    client.force_login(User.objects.get(username="wuhao"))  # a department head has no seal view
    assert client.get("/oversight/export/seals.csv").status_code == 404


def test_the_page_embeds_chart_data_without_inline_script(mix: Seeded, supervisor, settings):
    settings.OVERSIGHT_DISCLOSURE_SOURCE = ""  # a deployment without the portal
    client = Client()
    client.force_login(supervisor)
    html = client.get("/oversight/").content.decode()
    assert '<script id="chart-data-overdue" type="application/json">' in html
    assert 'src="/static/oversight/vendor/chartjs/chart.umd.min.js"' in html
    assert "<script>" not in html and " style=" not in html
    assert 'id="disabled-disclosure"' in html  # no portal configured: 未启用


def test_the_disclosure_panel_uses_the_portals_selector_when_configured(api_client, mix: Seeded, supervisor, settings):
    settings.OVERSIGHT_DISCLOSURE_SOURCE = "tests.oversight.test_dashboard.fake_disclosure_summary"
    data = ok(api(api_client, supervisor, "disclosure"))
    assert data["enabled"] is True
    assert data["rows"] == [
        {"state": "registered", "label": "登记", "total": len(mix.organisation_ids), "overdue": 1, "due_soon": 2},
        {"state": "answered", "label": "已答复", "total": 3, "overdue": 0, "due_soon": 0},
    ]
    client = Client()
    client.force_login(supervisor)
    assert "disabled-disclosure" not in client.get("/oversight/").content.decode()


def fake_disclosure_summary(
    *, organisation_ids: list[int], created_from: dt.datetime, created_to: dt.datetime, now: dt.datetime
) -> list[dict[str, Any]]:
    assert created_from < created_to and created_from.tzinfo is not None and now.tzinfo is not None
    return [
        {"state": "registered", "label": "登记", "total": len(organisation_ids), "overdue": 1, "due_soon": 2},
        {"state": "answered", "label": "已答复", "total": 3, "overdue": 0, "due_soon": 0},
    ]


def test_the_portals_disclosure_summary_equals_a_direct_sql_count(api_client, mix: Seeded, supervisor):
    from disclosure import services as disclosure_services

    office = Department.objects.get(name="浙江省人民政府办公厅", is_organisation=True)
    clerk = next(u for u in User.objects.filter(is_active=True) if disclosure_selectors.is_office_staff(u, office.pk))
    filed = []
    with transaction.atomic():
        for n in range(4):
            filed.append(disclosure_services.request_file(
                organisation_id=office.pk, name=f"申请人{n}", contact="13800000000", description=f"请公开第{n}项信息。"))
        for request in filed[:3]:
            disclosure_services.request_register(request_id=request.pk, actor=clerk)
    # One reply owed yesterday (overdue), one due in two days (due soon), one far off.
    today = timezone.localdate()
    DisclosureRequest.objects.filter(pk=filed[0].pk).update(due_on=today - dt.timedelta(days=1))
    DisclosureRequest.objects.filter(pk=filed[1].pk).update(due_on=today + dt.timedelta(days=2))
    DisclosureRequest.objects.filter(pk=filed[2].pk).update(due_on=today + dt.timedelta(days=60))
    data = ok(api(api_client, supervisor, "disclosure"))
    assert data["enabled"] is True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*), "
            "count(*) FILTER (WHERE status IN ('registered', 'handling') AND due_on < %s), "
            "count(*) FILTER (WHERE status IN ('registered', 'handling') AND due_on BETWEEN %s AND %s) "
            "FROM disclosure_disclosurerequest WHERE organisation_id = ANY(%s) GROUP BY status",
            [today, today, today + dt.timedelta(days=9), mix.organisation_ids],
        )
        direct = {status: (total, overdue, soon) for status, total, overdue, soon in cursor.fetchall()}
    shown = {row["state"]: (row["total"], row["overdue"], row["due_soon"]) for row in data["rows"] if row["total"]}
    assert shown == direct
    assert direct["registered"] == (3, 1, 1) and direct["submitted"] == (4 - 3, 0, 0)
