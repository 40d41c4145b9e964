"""tests/factories.py makes valid objects: the invariants its services keep hold."""

from __future__ import annotations

from typing import Any

import pytest

from documents.models import DocumentStatus
from messaging.models import Membership
from officehub.directory.models import Role
from search.models import IndexOutbox
from tests.factories import ArchiveRecordFactory, ConversationFactory, DepartmentFactory, DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_gets_roles_in_a_division_of_a_new_organisation(demo: None) -> None:
    drafter = UserFactory.create(roles=[Role.DRAFTER, Role.REVIEWER])
    assert drafter.role_codes() == {Role.DRAFTER, Role.REVIEWER}
    division = drafter.department
    assert division is not None and not division.is_organisation
    organisation = division.organisation()
    assert organisation is not None and organisation.fonds_code
    assert division.path == f"{organisation.path}{division.pk}/" and division.depth == organisation.depth + 1
    colleague = UserFactory.create(department=division)
    assert colleague.department == division and not colleague.role_codes()
    assert DepartmentFactory.create(parent=division).depth == division.depth + 1


def test_a_document_arrives_at_the_step_asked_for(personas: Any) -> None:
    assert DocumentFactory.create().status == DocumentStatus.DRAFT
    document = DocumentFactory.create(at="sign_off", title="关于开展政务公开检查的通知")
    assert (document.status, document.title) == (DocumentStatus.SIGN_OFF, "关于开展政务公开检查的通知")
    with pytest.raises(ValueError, match="at='archived'"):
        DocumentFactory.create(at="archived")


def test_a_conversation_has_its_owner_and_members(personas: Any) -> None:
    group = ConversationFactory.create(owner=personas.drafter, members=[personas.head, personas.reviewer])
    roles = dict(Membership.objects.filter(conversation=group).values_list("user__username", "role"))
    assert roles == {"wangfang": "owner", "chenjie": "member", "zhaomin": "member"}


def test_archive_records_are_numbered_in_their_class_with_an_outbox_row(personas: Any) -> None:
    first, second = ArchiveRecordFactory.create(), ArchiveRecordFactory.create(retention="Y")
    assert (first.item_number, second.item_number) == (1, 2)
    assert first.archived_by == personas.archivist
    assert IndexOutbox.objects.filter(record__in=[first, second], done_at__isnull=True).count() == 2
