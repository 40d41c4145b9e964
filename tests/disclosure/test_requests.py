"""依申请公开: a citizen files a request and follows it parcel-style; the receiving
organisation's office handles it like 收文 within 20 working days (extendable once);
reminders, the overdue list, 待办; nobody else sees it."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.utils import timezone

from disclosure import jobs, selectors, services
from disclosure.models import DisclosureRequest, RequestStatus
from disclosure.workdays import WorkCalendar
from officehub.audit.models import AuditEntry
from officehub.directory.models import Department
from officehub.workbench.models import TodoItem
from tests.disclosure.conftest import act

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRACKING_RE = re.compile(r"^\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def office(name: str = "浙江省人民政府办公厅") -> Department:
    return Department.objects.get(name=name, is_organisation=True)


def file_request(organisation: Department | None = None, **fields: str) -> DisclosureRequest:
    values = {"name": "张三丰", "contact": "13800000000", "description": "请公开2025年度省级部门预算执行情况。"}
    values.update(fields)
    return act(services.request_file, organisation_id=(organisation or office()).pk, **values)


def open_todos(user, request: DisclosureRequest) -> list[str]:
    return list(TodoItem.objects.filter(user=user, target_type="disclosure.disclosurerequest", target_id=str(request.pk),
                                        done_at__isnull=True).values_list("step", flat=True))


def test_a_request_goes_through_to_the_reply_and_its_tracking_page_shows_each_step(personas, client):
    anonymous = Client()
    filed = anonymous.post("/gk/requests/new/", {
        "organisation_id": office().pk, "name": "张三丰", "contact": "zhang@example.com",
        "description": "请公开《关于做好2026年政务公开工作的通知》的起草说明。",
    })
    assert filed.status_code == 302
    number = filed["Location"].split("/gk/requests/")[1].split("/")[0]
    assert TRACKING_RE.match(number), number
    request = DisclosureRequest.objects.get(tracking_number=number)
    track_url = f"/gk/requests/{number}/"

    def stops() -> dict[str, tuple[bool, str]]:
        page = anonymous.get(track_url)
        assert page.status_code == 200
        assert "no-store" in page["Cache-Control"]
        html = page.content.decode()
        found = {}
        for key in ("submitted", "registered", "handling", "replied", "concluded"):
            item = re.search(rf'<li class="gk-step([^"]*)" data-step="{key}">(.*?)</li>', html, re.S)
            assert item, key
            found[key] = ("done" in item.group(1), item.group(2))
        return found

    page = anonymous.get(f"{track_url}?new=1").content.decode()
    assert number in page and "请记下您的查询码" in page and "张**" in page and "张三丰" not in page
    assert [done for done, _ in stops().values()] == [True, False, False, False, False]
    assert "登记" in open_todos(personas.reviewer, request) and "登记" in open_todos(personas.reviewer2, request)

    # 登记 (the office): the 20 working days start.
    client.force_login(personas.reviewer)
    client.post(f"/disclosure/requests/{request.pk}/register/", {"note": "内部意见：材料齐全XYZ"})
    request.refresh_from_db()
    assert request.status == RequestStatus.REGISTERED
    today = timezone.localdate()
    assert request.due_on == WorkCalendar.of().add(today, 20)
    assert [done for done, _ in stops().values()] == [True, True, False, False, False]
    assert f"{request.due_on.year}年{request.due_on.month}月{request.due_on.day}日" in stops()["registered"][1]

    # 承办: the office assigns 综合处; its head gets the 答复 待办 on the workbench.
    department = Department.objects.get(name="综合处", parent=office())
    client.post(f"/disclosure/requests/{request.pk}/assign/", {"department_id": department.pk, "note": "请综合处办理"})
    request.refresh_from_db()
    assert request.status == RequestStatus.HANDLING and request.department == department
    assert open_todos(personas.head2, request) == ["答复"]
    assert open_todos(personas.reviewer, request) == []
    client.force_login(personas.head2)
    workbench = client.get("/").content.decode()
    assert f"/disclosure/requests/{request.pk}/" in workbench and "依申请公开" in workbench
    assert [done for done, _ in stops().values()] == [True, True, True, False, False]
    assert "综合处" in stops()["handling"][1]

    # 答复 by the handler, with a PDF.
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(f"/disclosure/requests/{request.pk}/reply/", {
        "reply": "您申请的信息属于主动公开范围，已在本机关政务公开网站公开。",
        "file": SimpleUploadedFile("答复书.pdf", PDF, content_type="application/pdf"),
    })
    request.refresh_from_db()
    assert request.status == RequestStatus.REPLIED and request.reply_file_name == "答复书.pdf"
    steps = stops()
    assert [done for done, _ in steps.values()] == [True, True, True, True, False]
    html = anonymous.get(track_url).content.decode()
    assert "您申请的信息属于主动公开范围" in html
    download = anonymous.get(f"{track_url}reply-file/")
    assert download.status_code == 200 and download.content == PDF and "no-store" in download["Cache-Control"]

    # 办结 by the office.
    client.force_login(personas.reviewer)
    client.post(f"/disclosure/requests/{request.pk}/conclude/")
    request.refresh_from_db()
    assert request.status == RequestStatus.CONCLUDED
    steps = stops()
    assert all(done for done, _ in steps.values())
    # Every stop carries its date; no staff names, no internal notes on the citizen's page.
    html = anonymous.get(track_url).content.decode()
    for stop, at in (("submitted", request.submitted_at), ("registered", request.registered_at),
                     ("handling", request.assigned_at), ("replied", request.replied_at),
                     ("concluded", request.concluded_at)):
        assert at is not None
        local = timezone.localtime(at)
        assert f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}" in steps[stop][1], stop
    for secret in ("材料齐全XYZ", "请综合处办理", personas.reviewer.full_name, personas.head2.full_name,
                   personas.reviewer.username, personas.head2.username, "zhang@example.com"):
        assert secret not in html, secret
    # The public API tells the same.
    api = anonymous.get(f"/api/gk/requests/{number.lower()}/").json()
    assert api["status"] == "concluded" and [step["done"] for step in api["steps"]] == [True] * 5
    assert api["reply_file_url"] == f"{track_url}reply-file/"
    assert "材料齐全XYZ" not in str(api) and personas.head2.full_name not in str(api)
    # The audit trail has every step.
    actions = set(AuditEntry.objects.filter(target_id=str(request.pk), action__startswith="disclosure.request_")
                  .values_list("action", flat=True))
    assert actions == {"disclosure.request_filed", "disclosure.request_registered", "disclosure.request_assigned",
                       "disclosure.request_replied", "disclosure.request_concluded"}


def test_the_deadline_counts_working_days_with_holidays_and_make_up_days():
    plain = WorkCalendar.of()
    assert plain.add(dt.date(2026, 3, 2), 20) == dt.date(2026, 3, 30)  # Monday + 4 weeks
    assert plain.add(dt.date(2026, 3, 6), 1) == dt.date(2026, 3, 9)  # Friday → Monday
    assert plain.add(dt.date(2026, 3, 7), 1) == dt.date(2026, 3, 9)  # from a Saturday
    holiday = WorkCalendar.of(holidays=[dt.date(2026, 3, 9)])
    assert holiday.add(dt.date(2026, 3, 6), 1) == dt.date(2026, 3, 10)
    make_up = WorkCalendar.of(makeup_workdays=[dt.date(2026, 3, 7)])
    assert make_up.add(dt.date(2026, 3, 6), 1) == dt.date(2026, 3, 7)
    assert plain.between(dt.date(2026, 3, 6), dt.date(2026, 3, 9)) == 1
    assert plain.between(dt.date(2026, 3, 9), dt.date(2026, 3, 6)) == -1
    assert plain.add(dt.date(2026, 3, 6), 0) == dt.date(2026, 3, 6)


GOLDEN_WEEK = {
    "HOLIDAYS": [dt.date(2026, 10, day) for day in range(1, 8)],
    "MAKEUP_WORKDAYS": [dt.date(2026, 9, 27), dt.date(2026, 10, 10)],
}


def test_registration_and_the_one_extension_follow_the_configured_calendar(personas, settings):
    settings.HOLIDAYS = GOLDEN_WEEK["HOLIDAYS"]
    settings.MAKEUP_WORKDAYS = GOLDEN_WEEK["MAKEUP_WORKDAYS"]
    request = file_request()
    with time_machine.travel(dt.datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI), tick=False):
        act(services.request_register, request_id=request.pk, actor=personas.reviewer)
    request.refresh_from_db()
    # Mon 28 Sep: 29, 30 Sep, (1–7 Oct off), 8, 9, Sat 10 (worked), 12–16, 19–23, 26–30 Oct.
    assert request.due_on == dt.date(2026, 10, 30)
    with pytest.raises(Exception) as info, transaction.atomic():
        services.request_extend(request_id=request.pk, actor=personas.reviewer, reason=" ")
    assert getattr(info.value, "code", "") == "disclosure.required"
    act(services.request_extend, request_id=request.pk, actor=personas.reviewer, reason="需要协调有关部门")
    request.refresh_from_db()
    assert request.due_on == dt.date(2026, 11, 27) and request.extension_reason == "需要协调有关部门"
    with pytest.raises(Exception) as info, transaction.atomic():
        services.request_extend(request_id=request.pk, actor=personas.reviewer, reason="再延一次")
    assert getattr(info.value, "code", "") == "disclosure.already_extended" and getattr(info.value, "status", 0) == 409
    request.refresh_from_db()
    assert request.due_on == dt.date(2026, 11, 27)
    # The citizen is told of the extension and its reason (条例 第三十三条).
    html = Client().get(f"/gk/requests/{request.tracking_number}/").content.decode()
    assert "2026年11月27日" in html and "需要协调有关部门" in html


def test_filing_is_rate_limited_per_address(demo, settings):
    settings.DISCLOSURE_REQUEST_RATE = "2/hour"
    data = {"organisation_id": office().pk, "name": "李四", "contact": "13900000000", "description": "请公开某项信息。"}
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert [client.post("/gk/requests/new/", data).status_code for _ in range(3)] == [302, 302, 429]
    limited = client.post("/api/gk/requests/", data, content_type="application/json")
    assert limited.status_code == 429 and limited.json()["code"] == "throttled"
    assert DisclosureRequest.objects.filter(name="李四").count() == 2
    # Another address is not held back.
    other = Client(REMOTE_ADDR="198.51.100.8").post("/api/gk/requests/", data, content_type="application/json")
    assert other.status_code == 201 and TRACKING_RE.match(other.json()["tracking_number"])


@pytest.mark.parametrize(("field", "value", "code"), [
    ("name", "  ", "invalid"), ("contact", "", "invalid"),
    ("description", "x" * 5001, "invalid"), ("organisation_id", 999999, "disclosure.invalid"),
])
def test_bad_filings_are_refused_with_a_code(demo, field, value, code):
    data = {"organisation_id": office().pk, "name": "王五", "contact": "1", "description": "请公开。", field: value}
    response = Client().post("/api/gk/requests/", data, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == code
    page = Client().post("/gk/requests/new/", data)
    assert page.status_code == 400 and 'id="gk-error"' in page.content.decode()
    assert not DisclosureRequest.objects.filter(name="王五").exists()


def test_a_division_that_is_not_an_organisation_cannot_receive_requests(demo):
    division = Department.objects.get(name="综合处", parent=office())
    response = Client().post("/api/gk/requests/", {"organisation_id": division.pk, "name": "a", "contact": "b",
                                                    "description": "c"}, content_type="application/json")
    assert response.status_code == 400


def test_tracking_numbers_are_read_forgivingly_and_unknown_ones_are_404(demo, settings):
    request = file_request()
    number = request.tracking_number
    sloppy = number.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    lookup = Client().get("/gk/requests/track/", {"number": sloppy})
    assert lookup.status_code == 302 and lookup["Location"] == f"/gk/requests/{number}/"
    assert Client().get("/gk/requests/track/", {"number": "abc"}).status_code == 400
    unknown = Client().get("/gk/requests/2026-ZZZZ-ZZZZ/")
    malformed = Client().get("/gk/requests/not-a-number/")
    assert unknown.status_code == malformed.status_code == 404
    assert Client().get("/api/gk/requests/2026-ZZZZ-ZZZZ/").status_code == 404
    settings.DISCLOSURE_TRACK_RATE = "2/min"
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [client.get(f"/gk/requests/{number}/").status_code for _ in range(3)] == [200, 200, 429]


def test_staff_without_the_office_role_get_403_on_lists_and_404_on_requests(personas, client, api_client):
    request = file_request()
    client.force_login(personas.staff)  # 综合处 drafter, not the office
    refused = client.get("/disclosure/")
    assert refused.status_code == 403
    assert 'href="/gk/"' in refused.content.decode()  # the 政务公开 entry still leads somewhere: the portal
    assert client.get("/disclosure/overdue/").status_code == 403
    assert client.get(f"/disclosure/requests/{request.pk}/").status_code == 404
    assert client.post(f"/disclosure/requests/{request.pk}/register/").status_code == 404
    api_client.force_authenticate(personas.staff)
    assert api_client.get("/api/disclosure/requests/").status_code == 403
    assert api_client.get("/api/disclosure/overdue/").status_code == 403
    assert api_client.get(f"/api/disclosure/requests/{request.pk}/").status_code == 404
    assert api_client.post(f"/api/disclosure/requests/{request.pk}/register/", {}, format="json").status_code == 404
    assert Client().get("/disclosure/").status_code == 302  # anonymous: to the login page
    assert Client().get("/api/disclosure/requests/").status_code == 401
    # The future handler sees nothing before the request is assigned to them.
    api_client.force_authenticate(personas.head2)
    assert api_client.get(f"/api/disclosure/requests/{request.pk}/").status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


def test_another_organisations_staff_cannot_see_or_handle_a_request(personas, api_client, client):
    ours = file_request()
    theirs = file_request(office("浙江省大数据发展管理局"), description="请公开数据开放目录。")
    api_client.force_authenticate(personas.other_org_custodian)  # 大数据局 office (reviewer)
    listed = [row["id"] for row in api_client.get("/api/disclosure/requests/").json()]
    assert theirs.pk in listed and ours.pk not in listed
    assert api_client.get(f"/api/disclosure/requests/{ours.pk}/").status_code == 404
    assert api_client.post(f"/api/disclosure/requests/{ours.pk}/register/", {}, format="json").status_code == 404
    api_client.force_authenticate(personas.reviewer)
    listed = [row["id"] for row in api_client.get("/api/disclosure/requests/").json()]
    assert ours.pk in listed and theirs.pk not in listed
    assert api_client.get(f"/api/disclosure/requests/{theirs.pk}/").status_code == 404
    client.force_login(personas.city_reviewer)
    assert client.get(f"/disclosure/requests/{ours.pk}/").status_code == 404


def test_a_peoples_government_request_is_handled_by_its_general_office(personas, api_client):
    government = office("浙江省人民政府")
    request = file_request(government)
    api_client.force_authenticate(personas.reviewer)  # 办公厅 文电处: the government's 收文 office
    assert api_client.post(f"/api/disclosure/requests/{request.pk}/register/", {}, format="json").status_code == 200
    department = Department.objects.get(name="督查处", parent=office())
    done = api_client.post(f"/api/disclosure/requests/{request.pk}/assign/", {"department_id": department.pk},
                           format="json")
    assert done.status_code == 200 and done.json()["department"] == "督查处"
    # Only the handler answers; the office cannot answer for them, nor can anyone else.
    refused = api_client.post(f"/api/disclosure/requests/{request.pk}/reply/", {"reply": "答复"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "disclosure.not_allowed"
    api_client.force_authenticate(personas.head3)
    not_pdf = api_client.post(f"/api/disclosure/requests/{request.pk}/reply/",
                              {"reply": "答复", "file": _upload(b"MZ\x90\x00 not a pdf")}, format="multipart")
    assert not_pdf.status_code == 400 and not_pdf.json()["code"] == "disclosure.file_not_pdf"
    ok = api_client.post(f"/api/disclosure/requests/{request.pk}/reply/", {"reply": "已公开，见附件。", "file": _upload(PDF)},
                         format="multipart")
    assert ok.status_code == 200 and ok.json()["status"] == "replied" and ok.json()["has_reply_file"] is True
    # Handlers cannot conclude; the office can, once.
    assert api_client.post(f"/api/disclosure/requests/{request.pk}/conclude/", {}, format="json").status_code == 403
    api_client.force_authenticate(personas.reviewer2)
    assert api_client.post(f"/api/disclosure/requests/{request.pk}/conclude/", {}, format="json").status_code == 200
    again = api_client.post(f"/api/disclosure/requests/{request.pk}/conclude/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "disclosure_request.invalid_transition"


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("reply.pdf", data, content_type="application/pdf")


def test_assigning_outside_the_organisation_is_refused(personas, api_client):
    request = file_request()
    act(services.request_register, request_id=request.pk, actor=personas.reviewer)
    api_client.force_authenticate(personas.reviewer)
    elsewhere = Department.objects.get(name="数据资源处")  # 大数据局
    refused = api_client.post(f"/api/disclosure/requests/{request.pk}/assign/", {"department_id": elsewhere.pk},
                              format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "disclosure.invalid"


def test_reminders_before_and_after_the_deadline_and_the_overdue_list(personas, client, django_capture_on_commit_callbacks):
    due_soon = file_request(description="即将到期的申请")
    late = file_request(description="已经逾期的申请")
    for request in (due_soon, late):
        act(services.request_register, request_id=request.pk, actor=personas.reviewer)
    department = Department.objects.get(name="综合处", parent=office())
    act(services.request_assign, request_id=late.pk, actor=personas.reviewer, department_id=department.pk)
    now = timezone.now()
    today = timezone.localdate(now)
    work = WorkCalendar.of()
    DisclosureRequest.objects.filter(pk=due_soon.pk).update(due_on=work.add(today, 2))
    DisclosureRequest.objects.filter(pk=late.pk).update(due_on=today - dt.timedelta(days=3))

    with django_capture_on_commit_callbacks() as pushes:
        assert jobs.remind_requests(now=now) == 2
    assert len(pushes) >= 3  # the office (2) for the one due soon; the head and the office for the late one
    soon_entry = AuditEntry.objects.get(action="disclosure.request_due_reminded", target_id=str(due_soon.pk))
    assert set(soon_entry.data["recipients"]) == {personas.reviewer.pk, personas.reviewer2.pk}
    late_entry = AuditEntry.objects.get(action="disclosure.request_overdue_reminded", target_id=str(late.pk))
    assert personas.head2.pk in late_entry.data["recipients"] and personas.reviewer.pk in late_entry.data["recipients"]
    # Not again within the interval; the overdue one again after it, the early one never.
    assert jobs.remind_requests(now=now) == 0
    assert jobs.remind_requests(now=now + dt.timedelta(hours=2)) == 1

    client.force_login(personas.reviewer)
    page = client.get("/disclosure/overdue/").content.decode()
    assert f'data-request-id="{late.pk}"' in page and f'data-request-id="{due_soon.pk}"' not in page
    assert "overdue-mark" in page
    assert [r.pk for r in selectors.overdue_requests(personas.reviewer)] == [late.pk]
    listing = client.get("/disclosure/").content.decode()
    assert "逾期" in listing and f"/disclosure/requests/{late.pk}/" in listing


@pytest.mark.django_db(transaction=True)
def test_services_refuse_to_run_outside_a_transaction_and_write_nothing(personas):
    from disclosure.models import Publication

    entries = AuditEntry.objects.count()
    refused = [
        lambda: services.request_file(organisation_id=office().pk, name="a", contact="b", description="c"),
        lambda: services.request_register(request_id=1, actor=personas.reviewer),
        lambda: services.request_assign(request_id=1, actor=personas.reviewer, department_id=1),
        lambda: services.request_extend(request_id=1, actor=personas.reviewer, reason="r"),
        lambda: services.request_reply(request_id=1, actor=personas.head2, reply="r"),
        lambda: services.request_conclude(request_id=1, actor=personas.reviewer),
        lambda: services.publication_withdraw(publication_id=1, actor=personas.reviewer, reason="r"),
        lambda: services.requests_remind(now=timezone.now(), interval=dt.timedelta(hours=1), days_before=3),
    ]
    for call in refused:
        with pytest.raises(transaction.TransactionManagementError):
            call()
    assert not DisclosureRequest.objects.exists() and not Publication.objects.exists()
    assert AuditEntry.objects.count() == entries
    # The worker's entry points open their own.
    assert jobs.remind_requests(now=timezone.now()) == 0
    assert jobs.portal_drain_backlog() == 0
