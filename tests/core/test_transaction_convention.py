"""Core services run only inside the entry point's transaction (officehub/transactions.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from officehub.audit.models import AuditEntry
from officehub.demo import seed_demo
from officehub.directory.models import Department, DepartmentKind, User
from officehub.directory.services import department_create, department_delete, department_move, user_changed, user_create
from officehub.workbench.models import TodoItem
from officehub.workbench.services import todo_close, todo_open


@pytest.mark.django_db(transaction=True)
def test_directory_and_workbench_services_refuse_to_run_outside_a_transaction(personas: Any) -> None:
    office = Department.objects.get(name="浙江省人民政府办公厅")
    entries = AuditEntry.objects.count()
    refused = [
        lambda: department_create(actor=personas.admin, name="新处室", kind=DepartmentKind.DIVISION, parent=office),
        lambda: department_move(actor=personas.admin, department_id=office.pk, new_parent_id=None),
        lambda: department_delete(actor=personas.admin, department_id=office.pk),
        lambda: user_create(actor=personas.admin, username="newcomer", full_name="新人", department=office, password=None),
        lambda: user_changed(actor=personas.admin, user=personas.staff, fields={"is_active"}),
        lambda: todo_open(user=personas.staff, kind="document", target=office, step="read", title="t", url="/"),
        lambda: todo_close(target=office),
        seed_demo,
    ]
    for call in refused:
        with pytest.raises(transaction.TransactionManagementError):
            call()
    # Nothing was half written.
    assert not Department.objects.filter(name="新处室").exists()
    assert not User.objects.filter(username="newcomer").exists()
    assert not TodoItem.objects.filter(user=personas.staff).exists()
    assert AuditEntry.objects.count() == entries
    # The same call inside the entry point's transaction goes through.
    with transaction.atomic():
        created = department_create(actor=personas.admin, name="新处室", kind=DepartmentKind.DIVISION, parent=office)
    assert created.path == f"{office.path}{created.pk}/"
