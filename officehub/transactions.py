"""One transaction convention for every state change.

The transaction is opened at the entry point — the API view, page view, socket handler,
management command or worker job — with ``transaction.atomic()``; services never open
their own. (One function is an entry point itself: ``user_login_check``, shared by the
login page and the token API, must commit the failed attempt it records before it
refuses, so it opens its own.) A service starts with ``require_transaction()``, so calling it outside one is
a programming error caught at once (as ``audit()`` does), not a half-written change:

    class DocumentSubmitApi(APIView):
        def post(self, request, document_id):
            with transaction.atomic():
                document = services.document_submit(document_id=document_id, actor=request.user)
            return Response(...)

    def document_submit(*, document_id: int, actor: User) -> Document:
        require_transaction()
        document = access_document(actor, document_id, lock=True)
        ...

Why at the entry point: the caller knows what belongs together (a page that records an
opinion and moves the document does both or neither), nested services join the one
transaction without savepoints, and side effects registered with ``on_commit`` leave
only when the whole request succeeded. Slow external work (signing, PDF conversion,
Elasticsearch) runs before the transaction is opened or after it commits, never while
row locks are held.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")


def require_transaction(using: str | None = None) -> None:
    """Raise unless the caller runs inside ``transaction.atomic()``."""
    if not transaction.get_connection(using).in_atomic_block:
        raise transaction.TransactionManagementError(
            "services run inside the entry point's transaction.atomic() (officehub/transactions.py)"
        )


def in_transaction(function: Callable[P, R]) -> Callable[P, R]:
    """For entry points that are plain functions (worker jobs, socket handlers): run the
    whole call in one transaction."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic():
            return function(*args, **kwargs)

    return wrapper
