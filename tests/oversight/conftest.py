"""A realistic mix for the 督办 dashboard, made through the real services (as the demo
personas), plus raw-SQL counterparts of each figure for the tests to compare with.

The mix (all in the 省政府 tree the 督查 persona ``tangning`` oversees):
- outgoing 公文 of the 办公厅 at 核稿, 会签 (综合处 + 督查处), 签发, 复核, 用印 and two
  distributed ones (so two sealing records and four incoming copies at 大数据局 and
  财政厅, one of them moved on to 登记 at 大数据局);
- steps made overdue, the worker's automatic 催办 of every overdue step, then 催办 by
  the drafter of two documents;
- finished steps given spread-out durations, so averages and the P90 differ;
- chat messages from people of several departments;
- one outgoing document of 杭州市 (another tree), which must never be counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from documents import services
from documents.models import Document, Step
from officehub.directory.models import Department, User
from tests.documents import flow


@dataclass
class Seeded:
    documents: dict[str, Document] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=timezone.now)
    organisation_ids: list[int] = field(default_factory=list)  # the 省政府 tree's organisations


def _act(service: Any, **kwargs: Any) -> Any:
    with transaction.atomic():
        return service(**kwargs)


def seed_mix(p: Any) -> Seeded:
    from messaging.chat.services import conversation_group_create, message_send

    seeded = Seeded()
    office = flow.org("浙江省人民政府办公厅")
    general = flow.dept("浙江省人民政府办公厅", "综合处")
    supervision = flow.dept("浙江省人民政府办公厅", "督查处")
    d = seeded.documents
    d["review"] = flow.to_review(p, title="关于开展政务服务满意度调查的通知")
    d["countersign"] = flow.to_review(p, title="关于加强督查督办工作的意见")
    _act(services.document_review, document_id=d["countersign"].pk, actor=p.reviewer, approve=True,
         countersign_department_ids=[general.pk, supervision.pk])
    d["sign_off"] = flow.to_sign_off(p, title="关于印发年度工作要点的通知")
    d["recheck"] = flow.to_recheck(p, title="关于做好汛期安全工作的通知")
    d["seal"] = flow.to_seal(p, title="关于表彰先进集体的决定", doc_type="decision")
    d["distributed"] = flow.distributed(p, title="关于推进数字政府建设的意见", doc_type="opinion")
    d["distributed2"] = flow.distributed(p, title="关于规范公文处理的通知")
    d["hangzhou"] = flow.draft(p, actor=p.city_drafter, title="杭州市关于优化营商环境的通知",
                               primary_recipient_ids=[flow.org("西湖区人民政府").pk], cc_recipient_ids=[])
    _act(services.document_submit, document_id=d["hangzhou"].pk, actor=p.city_drafter)

    # One incoming copy moves on at the 大数据局 (签收 → 登记).
    big_data = flow.org("浙江省大数据发展管理局")
    incoming = Document.objects.get(source_document=d["distributed"], recipient_organisation=big_data)
    _act(services.document_receive, document_id=incoming.pk, actor=p.other_org_custodian)
    d["incoming"] = incoming

    # Spread the finished steps' durations (hours to days) so averages and P90 differ.
    finished = list(Step.objects.filter(finished_at__isnull=False).exclude(state="cancelled").order_by("pk"))
    for index, step in enumerate(finished):
        assert step.finished_at is not None
        Step.objects.filter(pk=step.pk).update(started_at=step.finished_at - dt.timedelta(hours=1 + 7 * (index % 9)))

    # Overdue: the 核稿, both 会签 steps and the 大数据局's 登记; then 催办.
    past = seeded.now - dt.timedelta(days=2)
    Step.objects.filter(document=d["review"], state="open").update(due_at=past)
    Step.objects.filter(document=d["countersign"], state="open").update(due_at=past - dt.timedelta(hours=5))
    Step.objects.filter(document=incoming, state="open").update(due_at=past)
    Step.objects.filter(document=d["hangzhou"], state="open").update(due_at=past)  # other tree: never counted
    with transaction.atomic():
        services.document_remind_overdue(now=seeded.now)
    _act(services.document_remind, document_id=d["countersign"].pk, actor=p.drafter, message="请尽快会签")
    _act(services.document_remind, document_id=d["review"].pk, actor=p.drafter)

    # Messages from several departments (counts only are ever read).
    group = _act(conversation_group_create, actor=p.drafter, title="督办联络群",
                 member_ids=[p.head.pk, p.head2.pk, p.reviewer.pk, p.staff.pk])
    for number, (sender, body) in enumerate([(p.drafter, "请各位关注"), (p.drafter, "已上报"), (p.head, "收到"),
                                             (p.head2, "综合处已阅"), (p.staff, "好的"), (p.reviewer, "核稿中")]):
        _act(message_send, actor=sender, conversation_id=group.pk, client_id=f"oversight-{number}", body=body)

    province = Department.objects.get(name="浙江省人民政府", parent__isnull=True)
    seeded.organisation_ids = list(
        Department.objects.filter(path__startswith=province.path, is_organisation=True).values_list("pk", flat=True)
    )
    assert office.pk in seeded.organisation_ids
    return seeded


@pytest.fixture
def mix(personas: Any) -> Seeded:
    return seed_mix(personas)


@pytest.fixture
def supervisor(personas: Any) -> User:
    """唐宁: 督查 at the 办公厅 督查处 — oversees the whole 省政府 tree."""
    return User.objects.get(username="tangning")


# --------------------------------------------------------------------------- raw SQL

HELD = """((d.direction = 'outgoing' AND d.issuer_id = ANY(%(orgs)s))
          OR (d.direction = 'incoming' AND d.recipient_organisation_id = ANY(%(orgs)s)))"""
OFFICE = """COALESCE(s.department_id, CASE WHEN d.direction = 'outgoing' THEN d.drafting_department_id
                                          ELSE d.recipient_organisation_id END)"""
IN_FLOW = ("review", "countersign", "sign_off", "recheck", "assign_number", "seal", "distribute",
           "receive", "register", "screen", "propose", "instruct", "handle")


def sql(query: str, **params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())
