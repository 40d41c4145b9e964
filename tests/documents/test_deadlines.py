"""Deadlines, 催办 (manual and the worker's overdue reminders), the timeline, versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from documents import selectors, services
from documents.errors import DocumentNotHolder
from documents.models import Reminder
from officehub.errors import NotFound
from officehub.realtime import user_group
from tests.documents import flow
from tests.documents.flow import act
from tests.layer_inbox import LayerInbox

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def review_step(document: Any) -> Any:
    return document.steps.get(kind="review")


@pytest.mark.parametrize(("urgency", "allowed"), [
    ("normal", dt.timedelta(days=3)), ("urgent", dt.timedelta(days=1)), ("extra_urgent", dt.timedelta(hours=4)),
])
def test_step_deadline_is_shorter_for_urgent_documents(personas: Any, urgency: str, allowed: dt.timedelta) -> None:
    with time_machine.travel(T0, tick=False):
        document = flow.to_review(personas, urgency=urgency)
    assert review_step(document).due_at == T0 + allowed
    assert document.chaser == (None if urgency == "normal" else personas.drafter)


def test_worker_reminds_overdue_holders_once_per_interval(personas: Any, settings: Any) -> None:
    settings.DOCUMENT_REMIND_INTERVAL_SECONDS = 3600
    with time_machine.travel(T0, tick=False):
        document = flow.to_review(personas, urgency="extra_urgent")
    # not yet overdue
    assert act(services.document_remind_overdue, now=T0 + dt.timedelta(hours=3)) == 0
    late = T0 + dt.timedelta(hours=5)
    assert act(services.document_remind_overdue, now=late) == 1
    reminder = Reminder.objects.get()
    assert reminder.automatic and sorted(reminder.recipient_ids) == sorted([personas.reviewer.pk, personas.reviewer2.pk])
    # idempotent within the interval, again after it
    assert act(services.document_remind_overdue, now=late + dt.timedelta(minutes=30)) == 0
    assert act(services.document_remind_overdue, now=late + dt.timedelta(minutes=61)) == 1
    assert Reminder.objects.filter(step__document=document).count() == 2
    # a step done in time is never reminded
    act(services.document_review, document_id=document.pk, actor=personas.reviewer, approve=True)
    assert Reminder.objects.filter(step__kind="sign_off").count() == 0


def test_overdue_reminder_is_pushed_to_the_holder_after_commit(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(T0, tick=False):
        flow.to_review(personas, urgency="urgent")
    listener = LayerInbox(user_group(personas.reviewer.pk))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert act(services.document_remind_overdue, now=T0 + dt.timedelta(days=2)) == 1
        frame = listener.wait_for(lambda frame: frame.get("type") == "notify")
    finally:
        listener.close()
    assert frame["type"] == "notify" and frame["event"] == "todo.overdue"
    assert frame["title"].startswith("【逾期】") and frame["step"] == "核稿"


def test_overdue_list_of_the_office(personas: Any) -> None:
    with time_machine.travel(T0, tick=False):
        document = flow.to_review(personas, urgency="urgent")
    later = T0 + dt.timedelta(days=2)
    assert [step.document_id for step in selectors.overdue_steps(personas.reviewer, now=later)] == [document.pk]
    assert list(selectors.overdue_steps(personas.outsider, now=later)) == []
    assert list(selectors.overdue_steps(personas.reviewer, now=T0)) == []


def test_manual_reminder_by_drafter_and_refusals(personas: Any) -> None:
    document = flow.to_review(personas)
    reminders = act(services.document_remind, document_id=document.pk, actor=personas.drafter, message="请尽快核稿")
    assert [r.message for r in reminders] == ["请尽快核稿"]
    with pytest.raises(DocumentNotHolder) as caught:  # same division, but neither chaser, drafter nor office
        act(services.document_remind, document_id=document.pk, actor=personas.drafter2)
    assert caught.value.code == "document.not_chaser"
    with pytest.raises(NotFound):
        act(services.document_remind, document_id=document.pk, actor=personas.outsider)
    assert Reminder.objects.count() == 1


def test_timeline_shows_actor_opinion_elapsed_holders_and_overdue(personas: Any) -> None:
    with time_machine.travel(T0, tick=False):
        document = flow.to_review(personas)
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        act(services.document_review, document_id=document.pk, actor=personas.reviewer, approve=True, opinion="请领导签发")
    timeline = selectors.document_timeline(document, now=T0 + dt.timedelta(days=5))
    assert [(e["kind"], e["actor"], e["state"]) for e in timeline] == [
        ("draft", "王芳", "done"), ("review", "赵敏", "done"), ("sign_off", None, "open"),
    ]
    review, sign_off = timeline[1], timeline[2]
    assert review["opinion"] == "请领导签发"
    assert review["elapsed_seconds"] == 2 * 3600 and not review["overdue"]
    assert sign_off["holders"] == ["刘洋", "郑伟"]
    assert sign_off["elapsed_seconds"] == (5 * 24 - 2) * 3600 and sign_off["overdue"]
    assert [u.display_name for u in selectors.current_holders(document)] == ["刘洋", "郑伟"]


def test_every_body_edit_is_a_version_with_author_and_a_diff(personas: Any) -> None:
    document = flow.draft(personas, body="一、总体要求\n坚持稳中求进。")
    act(services.document_update, document_id=document.pk, actor=personas.drafter,
        fields=services.DraftFields(body="一、总体要求\n坚持稳中求进、以进促稳。"))
    act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    act(services.document_update, document_id=document.pk, actor=personas.reviewer,
        fields=services.DraftFields(title="关于做好2026年安全生产工作的通知"))
    document = flow.refresh(document)
    versions = list(selectors.document_versions(document).values_list("number", "author__username", "step_kind"))
    assert versions == [(1, "wangfang", "draft"), (2, "wangfang", "draft"), (3, "zhaomin", "review")]
    diff = selectors.version_diff(document, 1, 2)
    changed = [(op.op, op.text) for op in diff["body"] if op.op != "equal"]
    assert changed == [("insert", "、以进促稳")]
    assert selectors.diff_html(diff["body"]) == "一、总体要求<br>坚持稳中求进<ins>、以进促稳</ins>。"
    title_ops = [(op.op, op.text) for op in selectors.version_diff(document, 2, 3)["title"] if op.op != "equal"]
    assert ("delete", "元旦春节期间") in title_ops
    with pytest.raises(DocumentNotHolder):  # the drafter no longer holds the text at review
        act(services.document_update, document_id=document.pk, actor=personas.drafter,
            fields=services.DraftFields(body="x"))


def test_diff_html_escapes_markup() -> None:
    ops = selectors.diff_texts("<b>a</b>", "<b>a</b><script>")
    assert selectors.diff_html(ops) == "&lt;b&gt;a&lt;/b&gt;<ins>&lt;script&gt;</ins>"
