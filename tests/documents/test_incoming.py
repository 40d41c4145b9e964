"""Incoming flow (收文) through the services at the 大数据局, and archiving."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from documents import selectors, services
from documents.errors import DocumentInvalidTransition, DocumentNotHolder
from documents.models import Document
from officehub.directory.models import User
from officehub.errors import ApplicationError, NotFound
from tests.documents import flow
from tests.documents.flow import act, dept

pytestmark = pytest.mark.django_db

BIG_DATA = "浙江省大数据发展管理局"


@pytest.fixture
def people(personas: Any) -> Any:
    personas.office = personas.other_org_custodian  # fengxue: 大数据局 office (reviewer + custodian)
    personas.bd_leader = User.objects.get(username="weidong")  # 大数据局 signing leader
    personas.bd_head = User.objects.get(username="chuyi")  # head of 数据资源处
    return personas


def incoming_copy(p: Any, **overrides: Any) -> Document:
    source = flow.distributed(p, **overrides)
    return source.incoming_copies.get(recipient_organisation__name=BIG_DATA)


def at(p: Any, status: str, **overrides: Any) -> Document:
    document = incoming_copy(p, **overrides)
    steps = [
        ("register", lambda: act(services.document_receive, document_id=document.pk, actor=p.office)),
        ("screen", lambda: act(services.document_register, document_id=document.pk, actor=p.office)),
        ("propose", lambda: act(services.document_screen, document_id=document.pk, actor=p.office, accept=True)),
        ("instruct", lambda: act(
            services.document_propose, document_id=document.pk, actor=p.office, opinion="拟请数据资源处办理"
        )),
        ("handle", lambda: act(services.document_instruct, document_id=document.pk, actor=p.bd_leader, opinion="同意",
                               lead_department_id=dept(BIG_DATA, "数据资源处").pk)),
    ]
    for reached, call in steps:
        if flow.refresh(document).status == status:
            break
        call()
        assert flow.refresh(document).status == reached
    return flow.refresh(document)


def test_only_the_recipient_office_may_receive(people: Any) -> None:
    document = incoming_copy(people)
    with pytest.raises(NotFound):  # a 大数据局 drafter, not its office
        act(services.document_receive, document_id=document.pk, actor=people.outsider)
    with pytest.raises(NotFound):  # the sender's reviewer does not see the recipient's copy
        act(services.document_receive, document_id=document.pk, actor=people.reviewer)
    assert not selectors.can_view_document(people.drafter, document)  # nor does the sender's drafter
    act(services.document_receive, document_id=document.pk, actor=people.office)
    assert flow.refresh(document).status == "register"


def test_register_sets_deadline_and_names_a_chaser_for_urgent_documents(people: Any) -> None:
    document = at(people, "register", urgency="urgent")
    before = timezone.now()
    act(services.document_register, document_id=document.pk, actor=people.office)
    document = flow.refresh(document)
    assert document.chaser == people.office
    assert dt.timedelta(days=4) < document.deadline - before <= dt.timedelta(days=5, seconds=5)
    assert document.status == "screen"


def test_register_refuses_a_past_deadline_and_a_foreign_chaser(people: Any) -> None:
    document = at(people, "register")
    with pytest.raises(ApplicationError) as caught:
        act(services.document_register, document_id=document.pk, actor=people.office,
            deadline=timezone.now() - dt.timedelta(hours=1))
    assert caught.value.extra["field"] == "deadline"
    with pytest.raises(ApplicationError) as caught:
        act(services.document_register, document_id=document.pk, actor=people.office, chaser_id=people.reviewer.pk)
    assert caught.value.extra["field"] == "chaser_id"
    document = flow.refresh(document)
    assert (document.status, document.deadline, document.chaser) == ("register", None, None)


def test_screening_may_return_to_the_sender_who_sees_the_reason(people: Any) -> None:
    document = at(people, "screen")
    with pytest.raises(ApplicationError) as caught:
        act(services.document_screen, document_id=document.pk, actor=people.office, accept=False)
    assert caught.value.code == "document.reason_required"
    act(services.document_screen, document_id=document.pk, actor=people.office, accept=False, opinion="不属于我局职责范围")
    document = flow.refresh(document)
    assert (document.status, document.return_reason) == ("returned", "不属于我局职责范围")
    feedback = {c.recipient_organisation.name: c.return_reason for c in selectors.distribution_feedback(document.source_document)}
    assert feedback[BIG_DATA] == "不属于我局职责范围"
    with pytest.raises(DocumentInvalidTransition):
        act(services.document_propose, document_id=document.pk, actor=people.office, opinion="x")


def test_only_the_organisations_leader_instructs_and_the_choices_are_checked(people: Any) -> None:
    document = at(people, "instruct")
    with pytest.raises(DocumentNotHolder):
        act(services.document_instruct, document_id=document.pk, actor=people.office, opinion="同意",
            lead_department_id=dept(BIG_DATA, "数据资源处").pk)
    with pytest.raises(ApplicationError) as caught:
        act(services.document_instruct, document_id=document.pk, actor=people.bd_leader, opinion="阅")
    assert caught.value.extra["field"] == "lead_department_id"
    with pytest.raises(ApplicationError) as caught:
        act(services.document_instruct, document_id=document.pk, actor=people.bd_leader, opinion="阅",
            lead_department_id=dept("浙江省人民政府办公厅", "综合处").pk)
    assert caught.value.code == "document.unknown_department"
    with pytest.raises(ApplicationError) as caught:
        act(services.document_instruct, document_id=document.pk, actor=people.bd_leader, opinion="阅",
            reader_ids=[people.drafter.pk])
    assert caught.value.extra["field"] == "reader_ids"
    assert flow.refresh(document).status == "instruct"
    assert not document.steps.filter(kind__in=["handle", "circulate"]).exists()


def test_circulation_only_tracks_who_has_read(people: Any) -> None:
    document = at(people, "instruct")
    archivist = people.other_org_archivist
    act(services.document_instruct, document_id=document.pk, actor=people.bd_leader, opinion="请传阅",
        reader_ids=[people.outsider.pk, archivist.pk])
    document = flow.refresh(document)
    assert document.status == "handle"
    act(services.document_read, document_id=document.pk, actor=people.outsider)
    with pytest.raises(DocumentNotHolder):  # reading twice: the step is already closed
        act(services.document_read, document_id=document.pk, actor=people.outsider)
    read = dict(document.steps.filter(kind="circulate").values_list("holders__username", "state"))
    assert read == {"qianlei": "done", "shenjing": "open"}
    # with no lead department, the office concludes
    act(services.document_conclude, document_id=document.pk, actor=people.office, reply="已传阅")
    assert flow.refresh(document).status == "concluded"
    act(services.document_read, document_id=document.pk, actor=archivist)  # reading may finish after


def test_conclusion_needs_a_reply_and_the_lead_department(people: Any) -> None:
    document = at(people, "handle")
    with pytest.raises(DocumentNotHolder):
        act(services.document_conclude, document_id=document.pk, actor=people.office, reply="x")
    with pytest.raises(ApplicationError) as caught:
        act(services.document_conclude, document_id=document.pk, actor=people.bd_head, reply="  ")
    assert caught.value.code == "document.reason_required"
    act(services.document_conclude, document_id=document.pk, actor=people.bd_head, reply="已按要求完成")
    document = flow.refresh(document)
    assert (document.status, document.reply) == ("concluded", "已按要求完成")


def test_archiving_is_for_the_organisations_archivist_and_finished_documents(people: Any) -> None:
    source = flow.distributed(people)
    with pytest.raises(NotFound):  # another organisation's archivist
        act(services.document_mark_archived, document_id=source.pk, actor=people.other_org_archivist)
    with pytest.raises(ApplicationError) as caught:
        act(services.document_mark_archived, document_id=source.pk, actor=people.drafter)
    assert caught.value.code == "document.not_archivist"
    act(services.document_mark_archived, document_id=source.pk, actor=people.archivist)
    assert flow.refresh(source).status == "archived"
    with pytest.raises(DocumentInvalidTransition):
        act(services.document_mark_archived, document_id=source.pk, actor=people.archivist)

    copy = source.incoming_copies.get(recipient_organisation__name=BIG_DATA)
    with pytest.raises(NotFound):  # not finished yet: the archivist does not see it
        act(services.document_mark_archived, document_id=copy.pk, actor=people.other_org_archivist)
    for call in (
        lambda: act(services.document_receive, document_id=copy.pk, actor=people.office),
        lambda: act(services.document_register, document_id=copy.pk, actor=people.office),
        lambda: act(services.document_screen, document_id=copy.pk, actor=people.office, accept=True),
        lambda: act(services.document_propose, document_id=copy.pk, actor=people.office, opinion="请阅"),
        lambda: act(services.document_instruct, document_id=copy.pk, actor=people.bd_leader, opinion="阅",
                    reader_ids=[people.bd_head.pk]),
        lambda: act(services.document_conclude, document_id=copy.pk, actor=people.office, reply="已阅知"),
    ):
        call()
    act(services.document_mark_archived, document_id=copy.pk, actor=people.other_org_archivist)
    assert flow.refresh(copy).status == "archived"


def test_each_incoming_step_refuses_people_who_do_not_hold_it(people: Any) -> None:
    """At every incoming step: the sender's staff get 404, a colleague without the step 403."""
    document = incoming_copy(people)
    colleague = User.objects.get(username="qianlei")  # 大数据局 drafter: sees nothing until involved
    calls = {
        "receive": lambda actor: act(services.document_receive, document_id=document.pk, actor=actor),
        "register": lambda actor: act(services.document_register, document_id=document.pk, actor=actor),
        "screen": lambda actor: act(services.document_screen, document_id=document.pk, actor=actor, accept=True),
        "propose": lambda actor: act(services.document_propose, document_id=document.pk, actor=actor, opinion="拟办"),
        "instruct": lambda actor: act(services.document_instruct, document_id=document.pk, actor=actor, opinion="阅",
                                      lead_department_id=dept(BIG_DATA, "数据资源处").pk,
                                      assisting_department_ids=[dept(BIG_DATA, "办公室").pk]),
    }
    holders = {"receive": people.office, "register": people.office, "screen": people.office,
               "propose": people.office, "instruct": people.bd_leader}
    for step, call in calls.items():
        for stranger in (people.drafter, people.reviewer, colleague):
            with pytest.raises((NotFound, DocumentNotHolder)):
                call(stranger)
        if step == "instruct":  # the office still sees the copy, but 批办 is the leader's
            with pytest.raises(DocumentNotHolder):
                call(people.office)
        elif step != "receive":  # the leader is not involved before 批办: not even visible
            with pytest.raises(NotFound):
                call(people.bd_leader)
        call(holders[step])
    assert flow.refresh(document).status == "handle"
    # 协办 is for the assisting department (办公室: qianlei is a member), not the lead head
    with pytest.raises(DocumentNotHolder):
        act(services.document_handle, document_id=document.pk, actor=people.bd_head, opinion="x")
    act(services.document_handle, document_id=document.pk, actor=colleague, opinion="已提供数据")
    with pytest.raises(DocumentInvalidTransition):  # steps in the wrong state
        act(services.document_receive, document_id=document.pk, actor=people.office)
