"""Signal-free hooks: a service names the moment, the settings name who follows it.

Some feature apps keep data that follows a change another app owns, and the owner must
not import them (the one-way dependencies of docs/architecture.md): the 政务公开 portal
(``disclosure``) publishes a 主动公开 document when ``documents`` distributes it. The
owner's service calls ``run_hooks(EVENT, ...)`` — one line — and ``settings.HOOKS`` lists,
per event, the functions to call by dotted path (like ``WORKER_JOBS`` and the URL
wiring), so the core and the owner import no follower.

Why not Django signals: a receiver connects itself at import time from wherever it
lives, so what runs on a change depends on which modules happen to be imported, and a
typo is silent. Here the list is in settings, and ``run_hooks`` fails loudly on a path
that does not import.

Why not a worker that polls for the change: a follower called here runs in the same
transaction as the change (``require_transaction``), so what it records commits or rolls
back with it — a distributed 主动公开 document always has its publication row, a
rolled-back distribution never has one. Followers must keep that part cheap (insert a
row, no files, no network) and leave slow work to an on-commit kick and a worker job,
as the archive index outbox does.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, Final

from django.conf import settings

from officehub.transactions import require_transaction

# documents.services.document_distribute, after the document is 已分发 and its incoming
# copies exist; followers get ``document`` (the locked outgoing row) and ``actor``.
DOCUMENT_DISTRIBUTED: Final = "document.distributed"


def _load(path: str) -> Callable[..., Any]:
    module_name, _dot, attribute = path.rpartition(".")
    function = getattr(import_module(module_name), attribute)
    if not callable(function):
        raise TypeError(f"settings.HOOKS: {path} is not callable")
    return function


def run_hooks(event: str, **kwargs: Any) -> None:
    """Call every follower of ``event`` (``settings.HOOKS``) inside the caller's transaction.

    An import error or a follower's error propagates: the change fails rather than
    leaving the followers' data silently behind."""
    require_transaction()
    for path in settings.HOOKS.get(event, ()):
        _load(path)(**kwargs)
