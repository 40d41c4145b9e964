"""``mark_for_index``: record, in the caller's transaction, that an object must be
(re)indexed. See ``officehub/indexing/__init__.py``."""

from __future__ import annotations

from django.utils import timezone

from officehub.indexing.models import IndexChange, IndexKind
from officehub.transactions import require_transaction


def mark_for_index(kind: IndexKind | str, object_id: int) -> None:
    """Queue a (re)index of one object; it leaves for Elasticsearch only if the caller's
    transaction commits (then the search app's worker job, ``change_drain``, picks it up).

    Precondition: the object's row is locked by this transaction, or the object was
    created in it — so one object's rows are in commit order (see ``IndexChange``).
    Calling it several times in one transaction is harmless: the drain writes the object
    once. One INSERT; no query of the object and no Elasticsearch call here.
    """
    require_transaction()
    IndexChange.objects.create(kind=IndexKind(kind), object_id=object_id, available_at=timezone.now())
