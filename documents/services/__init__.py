"""Every write to documents, one module per part of the flow:

- ``flow``: the one table of allowed moves (``DOCUMENT_FLOW``), opening and closing steps
  and their 待办, the shared input checks, and 归档 (the end of both flows);
- ``drafting``: 拟稿, edits at 拟稿/核稿/复核, sharing, 批注;
- ``attachments``: 附件 files on a draft (upload, remove, reorder) and their copies;
- ``outgoing``: 送审, 核稿, 会签, 签发, 复核, 编号, 分发;
- ``sealing``: the 用印申请 step and its door into the seals app;
- ``incoming``: 签收, 登记, 初审, 拟办, 批办, 承办, 传阅, 办结;
- ``reminders``: 催办, by hand and overdue.

Every service runs inside the entry point's transaction (``require_transaction()``,
officehub/transactions.py) and takes its row locks in the order of docs/locking.md. The
public names are re-exported here: ``from documents import services`` then
``services.document_submit(...)``.
"""

from __future__ import annotations

from documents.services.attachments import attachment_remove, attachment_reorder, attachment_upload
from documents.services.drafting import (
    DraftFields,
    document_comment_add,
    document_create_draft,
    document_share,
    document_update,
)
from documents.services.flow import DOCUMENT_FLOW, AttachmentText, document_mark_archived, document_url
from documents.services.incoming import (
    document_conclude,
    document_handle,
    document_instruct,
    document_propose,
    document_read,
    document_receive,
    document_register,
    document_screen,
)
from documents.services.outgoing import (
    document_assign_number,
    document_countersign,
    document_distribute,
    document_recheck,
    document_review,
    document_sign_off,
    document_submit,
    format_doc_number,
)
from documents.services.reminders import document_remind, document_remind_overdue
from documents.services.sealing import SEAL_REQUEST_FLOW, seal_request_create, seal_request_decide

__all__ = [
    "DOCUMENT_FLOW",
    "SEAL_REQUEST_FLOW",
    "AttachmentText",
    "DraftFields",
    "attachment_remove",
    "attachment_reorder",
    "attachment_upload",
    "document_assign_number",
    "document_comment_add",
    "document_conclude",
    "document_countersign",
    "document_create_draft",
    "document_distribute",
    "document_handle",
    "document_instruct",
    "document_mark_archived",
    "document_propose",
    "document_read",
    "document_receive",
    "document_recheck",
    "document_register",
    "document_remind",
    "document_remind_overdue",
    "document_review",
    "document_screen",
    "document_share",
    "document_sign_off",
    "document_submit",
    "document_update",
    "document_url",
    "format_doc_number",
    "seal_request_create",
    "seal_request_decide",
]
