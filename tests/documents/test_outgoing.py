"""Outgoing flow (发文) through the services: every transition, by whom, and every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from documents import selectors, services
from documents.errors import DocumentInvalidTransition, DocumentNotHolder
from documents.models import Document, SealRequest, Step, StepKind, StepState
from officehub.audit.models import AuditEntry
from officehub.directory.models import User
from officehub.errors import ApplicationError, NotFound
from officehub.workbench.models import TodoItem
from tests.documents import flow
from tests.documents.flow import act, dept, org

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def open_todo_users(document: Document) -> set[str]:
    step_ids = [str(pk) for pk in document.steps.values_list("pk", flat=True)]
    return set(
        TodoItem.objects.filter(target_type="documents.step", target_id__in=step_ids, done_at__isnull=True)
        .values_list("user__username", flat=True)
    )


def actions(document: Document) -> list[str]:
    return list(AuditEntry.objects.filter(target_type="documents.document", target_id=str(document.pk))
                .order_by("seq").values_list("action", flat=True))


# --- drafting ---------------------------------------------------------------------------


def test_drafter_creates_draft_with_first_version_and_own_todo(personas: Any) -> None:
    document = flow.draft(personas)
    assert document.status == "draft"
    assert document.direction == "outgoing"
    assert document.issuer.name == "浙江省人民政府办公厅"
    assert document.drafting_department.name == "秘书处"
    assert document.classification == 1
    assert list(document.versions.values_list("number", "author__username")) == [(1, "wangfang")]
    assert open_todo_users(document) == {"wangfang"}
    todo = TodoItem.objects.get(user=personas.drafter, done_at__isnull=True)
    assert todo.url == f"/documents/{document.pk}/"
    assert actions(document) == ["document.drafted"]


def test_minutes_need_no_seal_and_others_do(personas: Any) -> None:
    assert flow.draft(personas).needs_seal is True
    assert flow.draft(personas, doc_type="minutes", title="专题会议纪要").needs_seal is False


def test_staff_without_drafter_role_cannot_draft(personas: Any) -> None:
    with pytest.raises(DocumentNotHolder) as caught:
        flow.draft(personas, actor=personas.staff.__class__.objects.get(username="machao"))
    assert caught.value.code == "document.not_drafter"
    assert Document.objects.count() == 0


@pytest.mark.parametrize("level", [2, 3, 4])
def test_classified_document_is_refused_without_secret_network(personas: Any, level: int) -> None:
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, classification=level)
    assert caught.value.code == "document.classified_refused"
    assert "涉密网络" in caught.value.message
    assert Document.objects.count() == 0
    assert AuditEntry.objects.filter(action="document.drafted").count() == 0


@override_settings(CLASSIFIED_NETWORK=True)
def test_classified_minutes_allowed_on_secret_network_for_cleared_user(personas: Any) -> None:
    document = flow.draft(personas, actor=personas.leader, doc_type="minutes", title="办公会议纪要", classification=2)
    assert document.classification == 2
    # even there, nobody drafts above their own clearance
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, classification=2)
    assert caught.value.code == "document.clearance_too_low"


def test_unknown_or_non_organisation_recipients_are_refused_without_partial_change(personas: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, primary_recipient_ids=[999999])
    assert caught.value.code == "document.unknown_recipient"
    assert caught.value.extra["ids"] == [999999]
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, cc_recipient_ids=[dept("浙江省人民政府办公厅", "综合处").pk])
    assert caught.value.code == "document.unknown_recipient"
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, primary_recipient_ids=[org("浙江省人民政府办公厅").pk])
    assert caught.value.code == "document.unknown_recipient"
    assert Document.objects.count() == 0
    assert TodoItem.objects.count() == 0


def test_empty_title_and_bad_copy_number_are_refused(personas: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, title="   ")
    assert caught.value.code == "document.title_required"
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, copy_number="12345")
    assert caught.value.extra["field"] == "copy_number"
    assert Document.objects.count() == 0


# --- submit -----------------------------------------------------------------------------


def test_submit_moves_to_review_for_every_reviewer_of_the_office(personas: Any) -> None:
    document = flow.to_review(personas)
    assert document.status == "review"
    assert open_todo_users(document) == {"zhaomin", "sunli"}
    assert TodoItem.objects.get(user=personas.drafter).done_at is not None
    assert actions(document) == ["document.drafted", "document.submitted"]


def test_submit_refuses_incomplete_document_and_changes_nothing(personas: Any) -> None:
    document = flow.draft(personas, body="", primary_recipient_ids=[])
    with pytest.raises(ApplicationError) as caught:
        act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    assert caught.value.code == "document.incomplete"
    assert len(caught.value.extra["problems"]) == 2
    assert flow.refresh(document).status == "draft"
    assert document.steps.get().state == "open"


def test_a_request_carries_one_primary_recipient(personas: Any) -> None:
    document = flow.draft(personas, doc_type="request", title="关于追加预算的请示",
                          primary_recipient_ids=[org("浙江省人民政府").pk, org("浙江省财政厅").pk])
    with pytest.raises(ApplicationError) as caught:
        act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    assert caught.value.code == "document.incomplete"
    assert "请示只能有一个主送机关" in caught.value.message


def test_a_recipient_nobody_could_receive_is_refused_at_submit(personas: Any) -> None:
    from officehub.directory.services import department_create

    empty = act(department_create, actor=None, name="某新设机关", kind="bureau", parent=org("浙江省人民政府"),
                is_organisation=True, issuer_code="浙新发", fonds_code="Z999", check_permission=False)
    document = flow.draft(personas, cc_recipient_ids=[empty.pk])
    with pytest.raises(ApplicationError) as caught:
        act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    assert caught.value.code == "document.incomplete"
    assert "某新设机关" in caught.value.message
    assert flow.refresh(document).status == "draft"


def test_only_the_drafter_may_submit(personas: Any) -> None:
    document = flow.draft(personas)
    # a colleague of the same division may read it, but does not hold the step
    with pytest.raises(DocumentNotHolder):
        act(services.document_submit, document_id=document.pk, actor=personas.drafter2)
    # the outsider gets the same answer as for a missing document
    with pytest.raises(NotFound):
        act(services.document_submit, document_id=document.pk, actor=personas.outsider)
    with pytest.raises(NotFound):
        act(services.document_submit, document_id=999999, actor=personas.outsider)
    assert flow.refresh(document).status == "draft"


# --- review -----------------------------------------------------------------------------


def test_review_approval_without_countersign_goes_to_the_signing_leaders(personas: Any) -> None:
    document = flow.to_sign_off(personas)
    assert document.status == "sign_off"
    review = document.steps.get(kind="review")
    assert (review.state, review.actor, review.opinion, review.outcome) == ("done", personas.reviewer, "同意", "approved")
    assert open_todo_users(document) == {"liuyang", "zhengwei"}


def test_review_return_needs_a_reason_and_goes_back_to_the_drafter(personas: Any) -> None:
    document = flow.to_review(personas)
    with pytest.raises(ApplicationError) as caught:
        act(services.document_review, document_id=document.pk, actor=personas.reviewer, approve=False, opinion=" ")
    assert caught.value.code == "document.reason_required"
    assert flow.refresh(document).status == "review"

    act(services.document_review, document_id=document.pk, actor=personas.reviewer, approve=False, opinion="标题不规范")
    document = flow.refresh(document)
    assert document.status == "draft"
    assert document.return_reason == "标题不规范"
    redraft = document.steps.get(kind="draft", state="open")
    assert redraft.round == 2
    assert open_todo_users(document) == {"wangfang"}
    # the drafter fixes it and submits again
    act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    assert flow.refresh(document).status == "review"


def test_people_who_are_not_reviewers_cannot_review(personas: Any) -> None:
    document = flow.to_review(personas)
    with pytest.raises(DocumentNotHolder):
        act(services.document_review, document_id=document.pk, actor=personas.drafter, approve=True)
    with pytest.raises(NotFound):
        act(services.document_review, document_id=document.pk, actor=personas.city_reviewer, approve=True)
    with pytest.raises(NotFound):
        act(services.document_review, document_id=document.pk, actor=personas.other_org_custodian, approve=True)
    assert flow.refresh(document).status == "review"


# --- countersign ------------------------------------------------------------------------


def countersigned(personas: Any) -> Document:
    departments = [dept("浙江省人民政府办公厅", "综合处").pk, dept("浙江省人民政府办公厅", "督查处").pk]
    return flow.to_sign_off(personas, countersign_department_ids=departments)


def test_countersign_is_parallel_and_completes_when_every_department_concurs(personas: Any) -> None:
    document = countersigned(personas)
    assert document.status == "countersign"
    assert open_todo_users(document) == {"zhouqiang", "wuhao"}
    # either order; both may act at once
    act(services.document_countersign, document_id=document.pk, actor=personas.head3, approve=True, opinion="同意")
    document = flow.refresh(document)
    assert document.status == "countersign"
    assert open_todo_users(document) == {"zhouqiang"}
    act(services.document_countersign, document_id=document.pk, actor=personas.head2, approve=True, opinion="无意见")
    document = flow.refresh(document)
    assert document.status == "sign_off"
    rows = sorted(document.steps.filter(kind="countersign").values_list("department__name", "actor__username", "opinion"))
    assert rows == [("督查处", "wuhao", "同意"), ("综合处", "zhouqiang", "无意见")]
    assert all(step.finished_at for step in document.steps.filter(kind="countersign"))


def test_any_countersigning_department_may_return_and_the_others_are_closed(personas: Any) -> None:
    document = countersigned(personas)
    with pytest.raises(ApplicationError) as caught:
        act(services.document_countersign, document_id=document.pk, actor=personas.head2, approve=False)
    assert caught.value.code == "document.reason_required"
    act(
        services.document_countersign, document_id=document.pk, actor=personas.head2, approve=False,
        opinion="涉及我处职责表述有误",
    )
    document = flow.refresh(document)
    assert document.status == "draft"
    states = dict(document.steps.filter(kind="countersign").values_list("department__name", "state"))
    assert states == {"综合处": "returned", "督查处": "cancelled"}
    assert open_todo_users(document) == {"wangfang"}


def test_a_head_whose_department_was_not_asked_cannot_countersign(personas: Any) -> None:
    document = countersigned(personas)
    with pytest.raises(DocumentNotHolder):  # 秘书处 head: sees it (drafting division) but holds no step
        act(services.document_countersign, document_id=document.pk, actor=personas.head, approve=True)
    with pytest.raises(NotFound):  # a document his division was never asked about
        act(services.document_countersign, document_id=flow.to_review(personas).pk, actor=personas.head2, approve=True)
    act(services.document_countersign, document_id=document.pk, actor=personas.head2, approve=True)
    act(services.document_countersign, document_id=document.pk, actor=personas.head3, approve=True)
    with pytest.raises(DocumentInvalidTransition):  # acting twice, after the step completed
        act(services.document_countersign, document_id=document.pk, actor=personas.head2, approve=True)


def test_countersign_department_without_head_is_refused_at_submit(personas: Any) -> None:
    document = flow.draft(personas, countersign_department_ids=[dept("浙江省人民政府办公厅", "档案室").pk])
    with pytest.raises(ApplicationError) as caught:
        act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    assert caught.value.code == "document.no_handler"
    assert flow.refresh(document).status == "draft"


def test_countersign_departments_must_belong_to_the_issuer(personas: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        flow.draft(personas, countersign_department_ids=[dept("浙江省财政厅", "预算处").pk])
    assert caught.value.code == "document.unknown_department"


def test_a_department_reached_by_countersign_may_read_but_not_low_clearance_staff(personas: Any) -> None:
    document = countersigned(personas)
    assert selectors.can_view_document(personas.staff, document)  # 综合处 member
    assert not selectors.can_view_document(personas.low_clearance, document)  # 综合处, clearance 公开
    assert not selectors.can_view_document(personas.outsider, document)
    with pytest.raises(NotFound):
        selectors.access_document(personas.low_clearance, document.pk)


# --- sign-off and recheck -----------------------------------------------------------------


def test_sign_off_records_signer_and_full_date_and_circle_reading_counts(personas: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 5, 0, 30, tzinfo=SHANGHAI)):  # 00:30 local: still Jan 5
        document = flow.to_sign_off(personas)
        act(services.document_sign_off, document_id=document.pk, actor=personas.leader, approve=True, opinion="")
    document = flow.refresh(document)
    assert document.status == "recheck"
    assert document.signer == personas.leader
    assert document.issued_on == dt.date(2026, 1, 5)
    assert document.steps.get(kind="sign_off").opinion == "圈阅"


def test_only_signing_leaders_may_sign_off(personas: Any) -> None:
    document = flow.to_sign_off(personas)
    for person in (personas.reviewer, personas.drafter, personas.head):
        with pytest.raises((DocumentNotHolder, NotFound)):
            act(services.document_sign_off, document_id=document.pk, actor=person, approve=True)
    weidong = User.objects.get(username="weidong")  # signing leader of another organisation
    with pytest.raises(NotFound):
        act(services.document_sign_off, document_id=document.pk, actor=weidong, approve=True)


def test_sign_off_may_return_to_the_drafter(personas: Any) -> None:
    document = flow.to_sign_off(personas)
    act(services.document_sign_off, document_id=document.pk, actor=personas.leader, approve=False, opinion="再斟酌")
    assert flow.refresh(document).status == "draft"


def test_substantive_edit_at_recheck_goes_back_to_the_signer(personas: Any) -> None:
    document = flow.to_recheck(personas)
    act(services.document_update, document_id=document.pk, actor=personas.reviewer,
        fields=services.DraftFields(body=document.body + "\n三、加强值班值守"))
    document = flow.refresh(document)
    assert document.status == "sign_off"
    step = document.steps.get(kind="sign_off", state="open")
    assert [holder.username for holder in step.holders.all()] == ["liuyang"]  # the signer, not every leader
    assert document.version == 2
    assert document.steps.get(kind="recheck").outcome == "resign"


def test_non_substantive_edit_at_recheck_stays(personas: Any) -> None:
    document = flow.to_recheck(personas)
    act(services.document_update, document_id=document.pk, actor=personas.reviewer,
        fields=services.DraftFields(note="此件公开发布"))
    document = flow.refresh(document)
    assert (document.status, document.note, document.version) == ("recheck", "此件公开发布", 1)


def test_recheck_passes_to_numbering_or_returns(personas: Any) -> None:
    document = flow.to_numbering(personas)
    assert document.status == "assign_number"
    other = flow.to_recheck(personas)
    act(services.document_recheck, document_id=other.pk, actor=personas.reviewer, approve=False, opinion="附件缺失")
    assert flow.refresh(other).status == "draft"


# --- numbering --------------------------------------------------------------------------


def test_numbers_are_consecutive_per_issuer_and_year_without_leading_zeros(personas: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI)):
        first = flow.to_seal(personas)
        second = flow.to_seal(personas)
    with time_machine.travel(dt.datetime(2027, 1, 2, 10, 0, tzinfo=SHANGHAI)):
        third = flow.to_seal(personas)
    assert first.doc_number == "浙政办发\u30142026\u30151号"
    assert second.doc_number == "浙政办发\u30142026\u30152号"
    assert third.doc_number == "浙政办发\u30142027\u30151号"
    assert "第" not in first.doc_number


def test_a_rolled_back_numbering_leaves_no_gap(personas: Any) -> None:
    from django.db import transaction

    first, second = flow.to_numbering(personas), flow.to_numbering(personas)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.document_assign_number(document_id=first.pk, actor=personas.reviewer)
        raise RuntimeError("a later step of the same request failed")
    assert flow.refresh(first).doc_number == ""
    act(services.document_assign_number, document_id=second.pk, actor=personas.reviewer)
    act(services.document_assign_number, document_id=first.pk, actor=personas.reviewer)
    assert flow.refresh(second).doc_serial == 1 and flow.refresh(first).doc_serial == 2


def test_numbering_in_the_wrong_state_is_refused(personas: Any) -> None:
    document = flow.draft(personas)
    with pytest.raises(DocumentInvalidTransition) as caught:
        act(services.document_assign_number, document_id=document.pk, actor=personas.drafter)
    assert caught.value.code == "document.invalid_transition"
    assert caught.value.status == 409
    assert flow.refresh(document).doc_number == ""


def test_minutes_skip_the_seal_after_numbering(personas: Any) -> None:
    document = flow.to_seal(personas, doc_type="minutes", title="省政府办公厅专题会议纪要")
    assert document.status == "distribute"


# --- seal -------------------------------------------------------------------------------


def test_seal_request_goes_to_the_custodian_who_approves(personas: Any) -> None:
    document = flow.to_seal(personas)
    assert document.status == "seal"
    request = act(
        services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=flow.office_seal_id(),
        reason="对外印发",
    )
    assert open_todo_users(flow.refresh(document)) == {"huangyan"}
    todo = TodoItem.objects.get(user=personas.custodian, done_at__isnull=True)
    assert todo.kind == "seal_request"
    # another organisation's custodian is refused like a stranger
    with pytest.raises(NotFound):
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.other_org_custodian, approve=True)
    with pytest.raises(DocumentNotHolder):
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.drafter, approve=True)
    act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    document = flow.refresh(document)
    assert document.status == "distribute"
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", personas.custodian)


def test_seal_rejection_needs_a_reason_and_returns_to_the_requesters(personas: Any) -> None:
    document = flow.to_seal(personas)
    request = act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=flow.office_seal_id())
    with pytest.raises(ApplicationError) as caught:
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=False)
    assert caught.value.code == "document.reason_required"
    act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=False, reason="用印事由不清")
    request.refresh_from_db()
    assert (request.status, request.decision_reason) == ("rejected", "用印事由不清")
    document = flow.refresh(document)
    assert document.status == "seal"
    assert "wangfang" in open_todo_users(document)
    # a decided request cannot be decided again
    with pytest.raises(ApplicationError):
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    assert SealRequest.objects.filter(document=document).count() == 1


def test_seal_cannot_be_requested_before_numbering(personas: Any) -> None:
    document = flow.to_recheck(personas)
    with pytest.raises(DocumentInvalidTransition):
        act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=flow.office_seal_id())
    assert SealRequest.objects.count() == 0


# --- distribute -------------------------------------------------------------------------


def test_distribute_creates_an_incoming_copy_for_each_primary_and_cc_recipient(personas: Any) -> None:
    document = flow.distributed(personas)
    assert document.status == "distributed"
    assert document.printed_on is not None
    copies = {c.recipient_organisation.name: c for c in document.incoming_copies.all()}
    assert set(copies) == {"浙江省大数据发展管理局", "浙江省财政厅"}
    assert copies["浙江省财政厅"].is_cc and not copies["浙江省大数据发展管理局"].is_cc
    for copy in copies.values():
        assert (copy.direction, copy.status, copy.doc_number) == ("incoming", "receive", document.doc_number)
    receive = copies["浙江省大数据发展管理局"].steps.get()
    assert [u.username for u in receive.holders.all()] == ["fengxue"]
    assert [u.username for u in copies["浙江省财政厅"].steps.get().holders.all()] == ["hanmei"]
    # the outsider (a 大数据局 drafter, not its office) does not see the incoming copy
    assert not selectors.can_view_document(personas.outsider, copies["浙江省大数据发展管理局"])


def test_the_whole_outgoing_flow_leaves_a_complete_step_trail(personas: Any) -> None:
    document = flow.distributed(personas)
    kinds = list(document.steps.order_by("started_at", "pk").values_list("kind", "state"))
    assert kinds == [
        ("draft", "done"), ("review", "done"), ("sign_off", "done"), ("recheck", "done"),
        ("assign_number", "done"), ("seal", "done"), ("seal", "done"), ("distribute", "done"),
    ]
    assert not Step.objects.filter(document=document, state=StepState.OPEN).exists()
    assert actions(document)[-1] == "document.distributed"
    assert TodoItem.objects.filter(target_type="documents.step", done_at__isnull=True).count() == 2  # 签收 for each recipient


def test_sharing_gives_an_explicit_reader_access(personas: Any) -> None:
    document = flow.draft(personas)
    assert not selectors.can_view_document(personas.staff, document)
    act(services.document_share, document_id=document.pk, actor=personas.drafter, user_ids=[personas.staff.pk])
    assert selectors.can_view_document(personas.staff, document)
    with pytest.raises(ApplicationError) as caught:
        act(services.document_share, document_id=document.pk, actor=personas.drafter, user_ids=[personas.low_clearance.pk])
    assert caught.value.code == "document.clearance_too_low"
    with pytest.raises(DocumentNotHolder):
        act(services.document_share, document_id=document.pk, actor=personas.staff, user_ids=[personas.reviewer.pk])


def test_side_effects_fire_only_after_commit(personas: Any, django_capture_on_commit_callbacks: Any) -> None:
    document = flow.draft(personas)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(services.document_submit, document_id=document.pk, actor=personas.drafter)
    assert len(callbacks) == 2  # one live 待办 push per reviewer
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(ApplicationError):
            act(services.document_review, document_id=document.pk, actor=personas.reviewer, approve=False)
    assert callbacks == []


def test_step_kinds_cover_the_outgoing_glossary() -> None:
    outgoing_steps = {"draft", "review", "countersign", "sign_off", "recheck", "assign_number", "seal", "distribute"}
    assert outgoing_steps <= set(StepKind.values)
