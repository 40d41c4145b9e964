"""Department groups follow the directory: every active user of a department's subtree
is a member, the department's heads are its admins, nobody else is in it. Nobody edits
them by hand (``services`` refuses); the directory's change hook and the worker's job
(``messaging.chat.jobs``) keep them in step."""

from __future__ import annotations

from messaging.chat.services import publish_joined, publish_left
from messaging.errors import NotFound
from messaging.models import Conversation, ConversationKind, MemberRole, Membership
from officehub.audit.services import audit
from officehub.directory.models import Department, Role, User
from officehub.transactions import require_transaction


def department_group_eligible(department: Department) -> bool:
    """A department group never spans two issuing organisations: a department qualifies
    unless another organisation sits in its subtree (so 办公厅 has one, the provincial
    government above several bureaux does not)."""
    return (
        not Department.objects.filter(path__startswith=department.path, is_organisation=True).exclude(pk=department.pk).exists()
    )


def department_group_sync(*, department_id: int) -> Conversation | None:
    """Bring a department's group in step with the directory: every active user of the
    department's subtree is a member, department heads of the department are admins,
    nobody else is in it. Creates the group on first sync; returns None for departments
    that get no group. Idempotent; safe to run concurrently (conversation row lock)."""
    require_transaction()
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise NotFound()
    existing = Conversation.objects.filter(kind=ConversationKind.DEPARTMENT, department=department).first()
    eligible = department_group_eligible(department)
    if not eligible and existing is None:
        return None
    if existing is None:
        # ON CONFLICT DO NOTHING: two first syncs create one group.
        Conversation.objects.bulk_create(
            [Conversation(kind=ConversationKind.DEPARTMENT, department=department, title=department.name)],
            ignore_conflicts=True,
        )
    conversation = Conversation.objects.select_for_update(of=("self",)).get(
        kind=ConversationKind.DEPARTMENT, department=department
    )
    if conversation.title != department.name:
        conversation.title = department.name
        conversation.save(update_fields=["title"])
    desired: dict[int, str] = {}
    if eligible:
        users = User.objects.filter(is_active=True, department__path__startswith=department.path)
        heads = set(
            User.objects.filter(is_active=True, department=department, role_assignments__role=Role.DEPARTMENT_HEAD).values_list(
                "pk", flat=True
            )
        )
        desired = {uid: (MemberRole.ADMIN if uid in heads else MemberRole.MEMBER) for uid in users.values_list("pk", flat=True)}
    current = dict(Membership.objects.filter(conversation=conversation).values_list("user_id", "role"))
    added = sorted(set(desired) - set(current))
    removed = sorted(set(current) - set(desired))
    Membership.objects.bulk_create(
        [
            Membership(conversation=conversation, user_id=uid, role=desired[uid], last_read_seq=conversation.last_seq)
            for uid in added
        ],
        ignore_conflicts=True,
    )
    Membership.objects.filter(conversation=conversation, user_id__in=removed).delete()
    for role in (MemberRole.ADMIN, MemberRole.MEMBER):
        Membership.objects.filter(
            conversation=conversation, user_id__in=[uid for uid, r in desired.items() if r == role]
        ).exclude(role=role).update(role=role)
    if added or removed:
        audit(
            actor=None,
            action="conversation.department_synced",
            target=conversation,
            data={"department": department.pk, "added": added, "removed": removed},
        )
        publish_joined(conversation.pk, added)
        publish_left(conversation.pk, removed)
    return conversation


def department_groups_sync_for_user(*, user: User) -> None:
    """Directory hook (``officehub.directory.services.USER_CHANGED_HOOKS``), run in the
    transaction that changed the user's department, roles or active flag: sync every
    department group the user belongs to or should belong to — their department's and
    its ancestors' while active, and every one they are still a member of. Whoever leaves
    a group is told ``conversation.left`` after commit, so their open sockets stop
    receiving it at once; a new department head becomes admin of their group.
    O(tree depth) group syncs, each under the group's row lock."""
    require_transaction()
    user = User.objects.select_related("department").get(pk=user.pk)  # the saved state
    wanted: list[int] = []
    if user.is_active and user.department is not None:
        wanted = user.department.ancestor_ids or [user.department.pk]
    current = Membership.objects.filter(user=user, conversation__kind=ConversationKind.DEPARTMENT).values_list(
        "conversation__department_id", flat=True
    )
    for department_id in sorted(set(wanted) | {d for d in current if d is not None}):
        department_group_sync(department_id=department_id)
