"""Every page of the shell on a phone (issue 14): Chromium's mobile emulation with touch at
390×844 and 360×800. On each page: no sideways scrolling, nothing off screen, controls at
least 40 px, the navigation a bottom bar whose every item a tap reaches, and the page's key
action reachable (not under the bottom bar, not covered). Screenshots go to
var/screenshots/phone/<size>/ for a look by eye. The chat page's own phone layout is
tested with the chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from documents import services as document_services
from documents.services.drafting import DraftFields
from tests.documents import flow
from tests.factories import ArchiveRecordFactory
from tests.shell.phone import PHONE_IDS, PHONES, Phone, check_layout, phone_login, phone_page, reachable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _assert_reachable(page: Any, selector: str, *, scroll: bool = True) -> None:
    found = reachable(page, selector, scroll=scroll)
    assert found["inside"] and found["hit"], f"{selector} is not reachable on {page.url}: {found}"


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_shell_pages_fit_a_phone_and_the_bottom_bar_navigates(
    phone: Phone, personas: Any, live_daphne: str, chromium: Any
) -> None:
    flow.to_review(personas)  # gives the reviewer a 待办 on the 工作台
    problems: list[str] = []

    anonymous = phone_page(chromium, phone)
    try:
        anonymous.goto(f"{live_daphne}/login/")
        problems += check_layout(anonymous, phone, "login", shell=False)
        _assert_reachable(anonymous, "button[type=submit]", scroll=False)  # no scrolling to sign in
    finally:
        anonymous.context.close()

    page = phone_login(chromium, live_daphne, phone, "zhaomin")
    try:
        assert page.locator("#todo-panel tbody tr").count() >= 1
        problems += check_layout(page, phone, "workbench")
        # The header keeps the brand, the name and 退出; the department yields to the width.
        assert page.locator(".userbox .who").is_visible()
        assert page.locator(".who-department").is_hidden()
        _assert_reachable(page, ".userbox button[type=submit]", scroll=False)
        # A stacked card labels each value with its column.
        labels = page.eval_on_selector_all("#todo-panel tbody tr:first-child td", "tds => tds.map(td => td.dataset.label)")
        assert labels == ["事项", "环节", "送达时间", "办理时限"]
        assert page.evaluate("getComputedStyle(document.querySelector('#todo-panel thead')).display") == "none"

        # The bottom bar: one tap per destination.
        destinations = [
            ("documents", "/documents/", "documents-outgoing"),
            ("meetings", "/messages/meetings/", "meetings"),
            ("archives", "/archives/", "archives-search"),
            ("seals", "/seals/", "seals"),
            ("directory", "/directory/", "directory"),
            ("workbench", "/", "workbench-again"),
        ]
        primary = {"workbench", "documents", "messages", "meetings"}
        for key, path, name in destinations:
            if key in primary:
                page.tap(f".mainnav a[data-nav={key}]")
            else:  # from 更多: its panel opens above the bar
                page.tap(".mainnav summary[data-nav=more]")
                _assert_reachable(page, f".nav-more-panel a[data-nav-more={key}]", scroll=False)
                page.tap(f".nav-more-panel a[data-nav-more={key}]")
            page.wait_for_url(f"{live_daphne}{path}")
            if key in primary:
                assert page.locator(f".mainnav a[data-nav={key}]").get_attribute("class") == "active"
            else:
                assert page.locator(".mainnav summary[data-nav=more]").get_attribute("class") == "active"
            problems += check_layout(page, phone, name)
        # The bar shows four destinations and 更多, each a comfortable tap wide.
        shown = page.eval_on_selector_all(
            ".mainnav > a, .mainnav summary",
            "els => els.filter(e => e.getBoundingClientRect().width > 0).map(e => e.dataset.nav)",
        )
        assert shown == ["workbench", "documents", "messages", "meetings", "more"]
        # A tap outside closes 更多's panel.
        page.tap(".mainnav summary[data-nav=more]")
        page.wait_for_selector(".nav-more-panel", state="visible")
        page.tap("main")
        page.wait_for_selector(".nav-more-panel", state="hidden")
        # The header's search becomes an icon that opens 全局搜索.
        page.tap(".shell-search-link")
        page.wait_for_url(f"{live_daphne}/search/")
        problems += check_layout(page, phone, "global-search")

        for box in ("incoming", "overdue"):
            page.goto(f"{live_daphne}/documents/?box={box}")
            problems += check_layout(page, phone, f"documents-{box}")
        page.goto(f"{live_daphne}/directory/?department={personas.reviewer.department_id}")
        problems += check_layout(page, phone, "directory-department")
        # The people come first on a phone, the department tree under them.
        members = page.locator(".columns.directory > section").bounding_box()
        tree = page.locator(".columns.directory > aside").bounding_box()
        assert members is not None and tree is not None and members["y"] < tree["y"]
        page.goto(f"{live_daphne}/documents/new/")
        problems += check_layout(page, phone, "document-new")
        _assert_reachable(page, "#save-document")
        page.goto(f"{live_daphne}/seals/verify/")
        problems += check_layout(page, phone, "seals-verify")
        page.goto(f"{live_daphne}/no-such-page/")
        problems += check_layout(page, phone, "not-found")
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_document_pages_read_and_act_on_a_phone(phone: Phone, personas: Any, live_daphne: str, chromium: Any) -> None:
    document = flow.to_review(personas, body="一、总体要求\n" + "各地各部门要切实加强组织领导，压实工作责任。" * 40)
    with transaction.atomic():  # the reviewer's edit: a second version, so there is a 修订痕迹
        document_services.document_update(
            document_id=document.pk,
            actor=personas.reviewer,
            fields=DraftFields(body=document.body.replace("总体要求", "总体目标")),
        )
    problems: list[str] = []
    page = phone_login(chromium, live_daphne, phone, "zhaomin")
    try:
        page.goto(f"{live_daphne}/documents/{document.pk}/")
        problems += check_layout(page, phone, "document-detail")
        # The long text comes first; the floating 办理 shortcut reaches the actions.
        _assert_reachable(page, "#jump-actions", scroll=False)
        page.tap("#jump-actions")
        page.wait_for_selector("#jump-actions", state="hidden")  # steps aside once they show
        approve = "#form-review button[value=approve]"
        _assert_reachable(page, approve, scroll=False)
        _assert_reachable(page, "#form-review button[value=return]", scroll=False)
        screenshot_name = "document-detail-actions"
        problems += check_layout(page, phone, screenshot_name)
        page.fill("#form-review textarea[name=opinion]", "同意，请签发。")
        page.tap(approve)
        page.wait_for_selector("#doc-status[data-status=sign_off]")

        page.goto(f"{live_daphne}/documents/{document.pk}/timeline/")
        problems += check_layout(page, phone, "document-timeline")
        assert page.locator("#timeline tbody tr").count() >= 3
        page.goto(f"{live_daphne}/documents/{document.pk}/diff/")
        problems += check_layout(page, phone, "document-diff")
        assert page.locator("#diff-body ins").count() >= 1
        _assert_reachable(page, "form.actions button[type=submit]")
    finally:
        page.context.close()

    draft = flow.draft(personas)
    drafter = phone_login(chromium, live_daphne, phone, "wangfang")
    try:
        drafter.goto(f"{live_daphne}/documents/{draft.pk}/edit/")
        problems += check_layout(drafter, phone, "document-edit")
        _assert_reachable(drafter, "#save-document")
        # The 办理 shortcut shows only while the actions are out of view (how far down they
        # are depends on the screen's height), and steps aside once they show.
        drafter.goto(f"{live_daphne}/documents/{draft.pk}/")
        drafter.wait_for_load_state("load")
        in_view = drafter.evaluate(
            "() => { const r = document.querySelector('#actions-panel').getBoundingClientRect();"
            " return r.top < innerHeight && r.bottom > 0; }"
        )
        drafter.wait_for_selector("#jump-actions", state="hidden" if in_view else "visible")
        if not in_view:
            drafter.tap("#jump-actions")
            drafter.wait_for_selector("#jump-actions", state="hidden")
        _assert_reachable(drafter, "#submit-document")
        problems += check_layout(drafter, phone, "document-draft")
    finally:
        drafter.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_archive_and_seal_pages_fit_a_phone(phone: Phone, personas: Any, live_daphne: str, chromium: Any) -> None:
    sealed = flow.to_distribute(personas)  # sealed with the 办公厅's 公章: a seal, its usage, one record
    flow.to_numbering(personas, title="关于进一步规范政务服务事项办理时限的通知")  # something for 待归档 later
    record = ArchiveRecordFactory(title="关于印发《浙江省数字政府建设“十四五”规划》的通知（档号与摘要很长也要能读）")
    from seals.models import SealRecord

    assert sealed.status == "distribute"
    seal_record = SealRecord.objects.latest("pk")
    problems: list[str] = []
    archivist = phone_login(chromium, live_daphne, phone, "xuhui")
    try:
        archivist.goto(f"{live_daphne}/archives/records/{record.pk}/")
        problems += check_layout(archivist, phone, "archive-record")
        _assert_reachable(archivist, ".actions a.button.primary")
        archivist.goto(f"{live_daphne}/archives/?q=数字政府")
        problems += check_layout(archivist, phone, "archives-search-results")
        archivist.goto(f"{live_daphne}/archives/pending/")
        problems += check_layout(archivist, phone, "archives-pending")
        archivist.goto(f"{live_daphne}/archives/upload/")
        problems += check_layout(archivist, phone, "archives-upload")
        _assert_reachable(archivist, "form button[type=submit]")
    finally:
        archivist.context.close()

    custodian = phone_login(chromium, live_daphne, phone, "huangyan")
    try:
        custodian.goto(f"{live_daphne}/seals/")
        assert custodian.locator("#seal-list tbody tr").count() >= 1
        problems += check_layout(custodian, phone, "seals-list")
        _assert_reachable(custodian, "#seal-list tbody tr:first-child button")  # 暂停
        custodian.goto(f"{live_daphne}/seals/{seal_record.seal_id}/usage/")
        problems += check_layout(custodian, phone, "seal-usage")
        custodian.goto(f"{live_daphne}/seals/records/{seal_record.pk}/")
        problems += check_layout(custodian, phone, "seal-record")
        _assert_reachable(custodian, "#verify-result .actions a.button")
    finally:
        custodian.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_meeting_room_toolbar_stays_on_screen(
    phone: Phone, personas: Any, live_daphne: str, chromium: Any
) -> None:
    from messaging.meetings import services as meeting_services
    from officehub.transactions import in_transaction

    now = timezone.now()
    meeting = in_transaction(meeting_services.meeting_schedule)(
        actor=personas.head,
        title="全省政务服务“一网通办”推进工作视频会议",
        agenda="一、通报进展\n二、部署下一阶段工作\n三、交流发言",
        start_at=now + timedelta(minutes=1),
        end_at=now + timedelta(hours=1),
        user_ids=[personas.drafter.pk, personas.reviewer.pk, personas.drafter2.pk],
        observer_ids=[],
    )
    problems: list[str] = []
    page = phone_login(chromium, live_daphne, phone, "chenjie")
    try:
        page.goto(f"{live_daphne}/messages/meetings/")
        problems += check_layout(page, phone, "meetings")
        _assert_reachable(page, f"tr[data-meeting-id='{meeting.pk}'] a.button")
        page.tap(f"tr[data-meeting-id='{meeting.pk}'] a.button")  # 进入会议
        page.wait_for_url(f"{live_daphne}/messages/meetings/{meeting.pk}/")
        page.wait_for_selector("#btn-leave:not([disabled])", timeout=20000)
        problems += check_layout(page, phone, "meeting-room")
        toolbar = ["#btn-mic", "#btn-camera", "#btn-screen", "#btn-hand", "#btn-lock", "#btn-end", "#btn-leave"]
        # The toolbar is on screen and tappable at the top of the page...
        for button in toolbar:
            _assert_reachable(page, button, scroll=False)
        # ...and after scrolling to the invitation list at the bottom.
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_function("() => window.scrollY > 0")
        for button in toolbar:
            _assert_reachable(page, button, scroll=False)
        # Nothing at the end of the page hides behind the toolbar: the last row can be read.
        last_row = page.locator("#invitees tbody tr").last.bounding_box()
        bar = page.locator("#meeting-room .toolbar").bounding_box()
        assert last_row is not None and bar is not None and last_row["y"] + last_row["height"] <= bar["y"] + 1
        problems += check_layout(page, phone, "meeting-room-scrolled")
        page.tap("#btn-mic")
        page.wait_for_function("() => document.getElementById('btn-mic').textContent.includes('打开')")
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)


def test_wider_windows_keep_the_top_navigation_on_one_line(personas: Any, live_daphne: str, chromium: Any) -> None:
    from tests.conftest import browser_login

    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        for width in (861, 1024, 1366):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(f"{live_daphne}/documents/")
            found = page.evaluate(
                """() => ({
                  scrollWidth: document.documentElement.scrollWidth,
                  position: getComputedStyle(document.querySelector('.mainnav')).position,
                  header: document.querySelector('.topbar').getBoundingClientRect().height,
                  heights: [...document.querySelectorAll('.mainnav a')].map((a) => a.getBoundingClientRect().height),
                })"""
            )
            assert found["scrollWidth"] <= width, (width, found)
            assert found["position"] == "static", (width, found)
            # One line each: no label broken over two ("工作/台").
            assert max(found["heights"]) <= found["header"], (width, found)
    finally:
        page.context.close()
