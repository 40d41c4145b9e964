"""factory_boy factories for the objects most tests need: variety without hand-built rows.

Objects with invariants a row alone cannot keep are created through their services, each
call in its own ``transaction.atomic()`` as an entry point would: departments (the
materialised path), users (roles, password validation), documents (a document at a
step got there by the real transitions) and archive records (gapless item numbers, the
归档章, the outbox row). Conversations are plain rows (a group and its memberships).

    from tests.factories import ArchiveRecordFactory, ConversationFactory, DocumentFactory, UserFactory

    drafter = UserFactory(roles=[Role.DRAFTER])                    # in a new 处室 of a new 机关
    drafter = UserFactory.create(roles=[Role.DRAFTER])             # the same, typed User for mypy
    reviewer = UserFactory(roles=[Role.REVIEWER], department=drafter.department)
    document = DocumentFactory(at="sign_off")                      # the demo personas move it there
    group = ConversationFactory(owner=drafter, members=[reviewer])
    record = ArchiveRecordFactory(title="关于…的通知", retention="D30")

Documents and archive records use the demo organisation (tests/conftest.py seeds it once
per session): request the ``demo`` or ``personas`` fixture in tests that use them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.db import transaction

from documents.models import Document
from messaging.models import Conversation, Membership
from officehub.demo import DEMO_PASSWORD
from officehub.directory.models import Clearance, Department, DepartmentKind, Role, User
from officehub.directory.services import department_create, user_create
from search.models import ArchiveRecord


class OrganisationFactory(factory.Factory[Department]):
    """An issuing organisation (机关) at the root of its own tree, with its 机关代字 and 全宗号."""

    class Meta:
        model = Department

    # Declarations typed Any: DepartmentFactory overrides them with plain values.
    name: Any = factory.Sequence(lambda n: f"测试市第{n}局")
    kind = DepartmentKind.BUREAU
    parent: Any = None
    is_organisation = True
    issuer_code: Any = factory.Sequence(lambda n: f"测{n}发")
    issuer_mark: Any = factory.LazyAttribute(lambda o: f"{o.name}文件")
    fonds_code: Any = factory.Sequence(lambda n: f"T{n:03d}")
    unit_code: Any = factory.Sequence(lambda n: f"U{n}")

    @classmethod
    def _create(cls, model_class: type[Department], **fields: Any) -> Department:
        with transaction.atomic():
            return department_create(actor=None, check_permission=False, **fields)


class DepartmentFactory(OrganisationFactory):
    """A 处室 inside an organisation (a new one unless ``parent`` is given)."""

    name = factory.Sequence(lambda n: f"第{n}处")
    kind = DepartmentKind.DIVISION
    parent = factory.SubFactory(OrganisationFactory)
    is_organisation = False
    issuer_code = ""
    issuer_mark = ""
    fonds_code = ""


class UserFactory(factory.Factory[User]):
    """A person with ``roles`` (``Role`` values) in ``department``; the demo password."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    department = factory.SubFactory(DepartmentFactory)
    roles: Any = ()
    clearance = Clearance.INTERNAL
    password = DEMO_PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], **fields: Any) -> User:
        with transaction.atomic():
            return user_create(actor=None, check_permission=False, **fields)


# The outgoing flow's stops, in order, and the helper of tests/documents/flow.py that
# takes a new draft there through the real services (as the demo personas).
DOCUMENT_STEPS = {
    "draft": "draft",
    "review": "to_review",
    "sign_off": "to_sign_off",
    "recheck": "to_recheck",
    "assign_number": "to_numbering",
    "seal": "to_seal",
    "distribute": "to_distribute",
    "distributed": "distributed",
}


class DocumentFactory(factory.django.DjangoModelFactory[Document]):
    """An outgoing 公文 drafted by the demo drafter and moved to the step ``at`` by the
    real services; other keyword arguments override the draft's fields."""

    class Meta:
        model = "documents.Document"

    at = "draft"
    title = factory.Sequence(lambda n: f"关于做好第{n}批政务数据共享工作的通知")
    doc_type = "notice"

    @classmethod
    def _create(cls, model_class: type[Document], *, at: str, **fields: Any) -> Document:
        from tests.conftest import Personas
        from tests.documents import flow

        if at not in DOCUMENT_STEPS:
            raise ValueError(f"at={at!r}: one of {', '.join(DOCUMENT_STEPS)}")
        document: Document = getattr(flow, DOCUMENT_STEPS[at])(Personas(), **fields)
        return document


class ConversationFactory(factory.django.DjangoModelFactory[Conversation]):
    """A group chat owned by ``owner`` (role owner) with ``members`` (role member)."""

    class Meta:
        model = "messaging.Conversation"
        skip_postgeneration_save = True  # the memberships are rows of their own

    kind = "group"
    title = factory.Sequence(lambda n: f"第{n}工作群")
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def members(self, create: bool, extracted: Any, **kwargs: Any) -> None:

        if not create:
            return
        conversation: Conversation = self  # type: ignore[assignment]  # post_generation runs on the object
        people = [conversation.owner, *(extracted or ())]
        Membership.objects.bulk_create(
            Membership(conversation=conversation, user=user, role="owner" if index == 0 else "member")
            for index, user in enumerate(people)
        )


class ArchiveRecordFactory(factory.django.DjangoModelFactory[ArchiveRecord]):
    """A legacy DOCX filed by an archivist (default: the demo 办公厅 archivist) through
    the archiving service: numbered, stamped, with its outbox row. Index it with
    ``search.services.index_drain`` (or the ``archive`` fixture of tests/search)."""

    class Meta:
        model = "search.ArchiveRecord"

    title = factory.Sequence(lambda n: f"关于加强第{n}批档案数字化工作的通知")
    body = "一、总体要求\n各单位要高度重视。"
    record_date = dt.date(2026, 3, 1)
    retention = "Y"
    classification = Clearance.PUBLIC

    @classmethod
    def _create(
        cls, model_class: type[ArchiveRecord], *, body: str, actor: User | None = None, **fields: Any
    ) -> ArchiveRecord:
        from search.services import archive_legacy_upload
        from tests.search.conftest import make_docx

        archivist = actor or User.objects.get(username="xuhui")
        fields.setdefault("file_name", "doc.docx")
        fields.setdefault("file_bytes", make_docx(fields["title"], body))
        with transaction.atomic():
            return archive_legacy_upload(actor=archivist, **fields)


__all__ = [
    "DOCUMENT_STEPS",
    "ArchiveRecordFactory",
    "ConversationFactory",
    "DepartmentFactory",
    "DocumentFactory",
    "OrganisationFactory",
    "Role",
    "UserFactory",
]
