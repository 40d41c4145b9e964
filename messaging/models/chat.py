"""Chat data: conversations, memberships with a last-read pointer, messages, DING.

Invariants the database holds even if code is wrong:
- one direct conversation per pair of users (``direct_key`` = "<low id>:<high id>");
- one department group per department;
- one membership per (conversation, user);
- message ``seq`` unique and dense per conversation (allocated under the conversation
  row lock by ``messaging.chat.services.message_append``);
- ``(sender, client_id)`` unique, which makes a client's resend idempotent;
- one reaction per (message, user, emoji), one hide per (user, message), one bundle item
  per (bundle message, position).

Per-user state that is not part of a conversation's seq stream (pin, 免打扰, the 群公告
read pointer) lives on ``Membership``; clients re-read it on every (re)connect.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ConversationKind(models.TextChoices):
    DIRECT = "direct", _("单聊")
    GROUP = "group", _("群聊")
    DEPARTMENT = "department", _("部门群")


class MemberRole(models.TextChoices):
    OWNER = "owner", _("群主")
    ADMIN = "admin", _("管理员")
    MEMBER = "member", _("成员")


class MessageKind(models.TextChoices):
    TEXT = "text", _("文本")
    FILE = "file", _("附件")
    DOCUMENT = "document", _("公文卡片")
    SYSTEM = "system", _("系统消息")
    # A 合并转发 record: the forwarded messages are ``BundleItem`` rows of this message.
    BUNDLE = "bundle", _("聊天记录")
    # A 群公告 was set or cleared: the body is the new text (empty when cleared).
    ANNOUNCEMENT = "announcement", _("群公告")


class Conversation(models.Model):
    kind = models.CharField(_("类型"), max_length=20, choices=ConversationKind.choices)
    title = models.CharField(_("名称"), max_length=100, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("directory.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    direct_key = models.CharField(max_length=50, null=True, blank=True, editable=False)
    # The last allocated message sequence number; messages carry 1..last_seq.
    last_seq = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # 新成员可查看历史消息 (groups only; owner/admins set it). Off: a member sees only the
    # messages after their ``Membership.joined_seq`` — in history, resume and search.
    history_visible = models.BooleanField(_("新成员可查看历史消息"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # 群公告: the current text and a version that grows with every change (members keep a
    # read pointer to it, ``Membership.announcement_read_version``).
    announcement = models.TextField(_("群公告"), blank=True)
    announcement_version = models.PositiveIntegerField(default=0)
    announcement_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    announcement_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("会话")
        verbose_name_plural = _("会话")
        constraints = [
            models.UniqueConstraint(fields=["direct_key"], name="conversation_one_direct_per_pair"),
            models.UniqueConstraint(
                fields=["department"],
                condition=Q(kind="department"),
                name="conversation_one_group_per_department",
            ),
            models.CheckConstraint(
                condition=(Q(kind="direct") & Q(direct_key__isnull=False) & Q(department__isnull=True))
                | (Q(kind="group") & Q(direct_key__isnull=True) & Q(department__isnull=True))
                | (Q(kind="department") & Q(direct_key__isnull=True) & Q(department__isnull=False)),
                name="conversation_kind_fields",
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="conversation_last_seq_non_negative"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} {self.pk}"


class Membership(models.Model):
    """A member of a conversation. ``last_read_seq`` is the read pointer.

    Read state is one integer per member, not a row per reader per message: marking read
    is one UPDATE of one row, and "who has read seq n" is ``last_read_seq >= n``.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships")
    role = models.CharField(_("角色"), max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)
    last_read_seq = models.BigIntegerField(default=0)
    # The conversation's last seq when this member joined (0 for the founders): the
    # history floor when the conversation hides history from new members.
    joined_seq = models.BigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)
    # 置顶: set when pinned (the list shows pinned conversations first, newest pin first).
    pinned_at = models.DateTimeField(null=True, blank=True)
    # 免打扰: no unread count in badges, no alert; receipts are unchanged.
    muted = models.BooleanField(default=False)
    # The 群公告 version this member has seen (shown again on entry when it is behind).
    announcement_read_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("会话成员")
        verbose_name_plural = _("会话成员")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(last_read_seq__gte=0), name="membership_last_read_non_negative"),
        ]
        indexes = [
            models.Index(fields=["conversation", "last_read_seq"], name="membership_read_pointer"),
            models.Index(fields=["user"], name="membership_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.conversation_id}"


class Attachment(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="chat/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveBigIntegerField(_("大小"))
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # Images: a small re-encoded copy made on upload (no EXIF), shown inline.
    thumbnail = models.FileField(upload_to="chat/thumbs/%Y/%m/", blank=True)
    thumb_width = models.PositiveIntegerField(null=True, blank=True)
    thumb_height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Chosen by the sending client; a resend with the same id returns the stored message.
    # (Up to 64 characters from the client; a forward derives one id per message it
    # creates from the client's, hence the room.)
    client_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=MessageKind.choices, default=MessageKind.TEXT)
    body = models.TextField(blank=True)
    attachment = models.ForeignKey(Attachment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A 公文 card: the documents app's Document id (no FK: documents never depend on chat,
    # and the card is re-authorised against documents.selectors on every open).
    document_id = models.BigIntegerField(null=True, blank=True)
    mention_all = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recalled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # 回复: the quoted message, always of the same conversation. Message bodies never
    # change (a recall hides them), so the quote is read from it as it was.
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # 转发 (one by one): the display name of the original sender.
    forwarded_from = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(fields=["sender", "client_id"], name="message_idempotent_client_id"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
            models.CheckConstraint(
                condition=~Q(kind="document") | Q(document_id__isnull=False), name="message_document_card_has_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"


class Mention(models.Model):
    """One @-mention of one member; ``seq`` is denormalised so unread mentions are one
    indexed range count against the member's read pointer."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mention_rows")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="mention_unique")]
        indexes = [models.Index(fields=["user", "conversation", "seq"], name="mention_user_seq")]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.message_id}"


class Ding(models.Model):
    """An urgent message: every recipient must confirm it; re-notified until they do."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="ding")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("DING")
        verbose_name_plural = _("DING")

    def __str__(self) -> str:
        return f"DING {self.pk}"


class DingRecipient(models.Model):
    ding = models.ForeignKey(Ding, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    notify_count = models.PositiveIntegerField(default=1)
    last_notified_at = models.DateTimeField()
    # Due time of the next reminder; NULL once confirmed or cancelled (the worker's queue).
    next_notify_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ding", "user"], name="ding_recipient_unique"),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(next_notify_at__isnull=True),
                name="ding_confirmed_not_due",
            ),
        ]
        indexes = [
            models.Index(fields=["next_notify_at"], name="ding_due", condition=Q(next_notify_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"DING {self.ding_id} → {self.user_id}"


class Reaction(models.Model):
    """One member's emoji on one message (a toggle)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique")]

    def __str__(self) -> str:
        return f"{self.emoji} {self.user_id}@{self.message_id}"


class HiddenMessage(models.Model):
    """删除 (for me): the message stays for everyone else; this user no longer sees it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "message"], name="hidden_message_unique")]
        indexes = [models.Index(fields=["user", "conversation"], name="hidden_message_user_conv")]

    def __str__(self) -> str:
        return f"hidden {self.message_id} for {self.user_id}"


class BundleItem(models.Model):
    """One forwarded message inside a 合并转发 record (a ``bundle`` message): a copy of
    what it showed when forwarded. Its attachment is the original's (by reference): a
    file is readable by the members of any conversation whose live message carries it,
    directly or inside a bundle (``selectors.access_attachment``)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="bundle_items")
    position = models.PositiveIntegerField()
    source = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sender_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    body = models.TextField(blank=True)
    attachment = models.ForeignKey(Attachment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    document_id = models.BigIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "position"], name="bundle_item_unique")]
        indexes = [models.Index(fields=["attachment"], name="bundle_item_attachment")]

    def __str__(self) -> str:
        return f"{self.message_id}[{self.position}]"


class AttachmentPreview(models.Model):
    """The rendered pages of a PDF/DOCX attachment (PNG images in storage under
    ``directory``), made once on first preview and served to whoever may read the file."""

    attachment = models.OneToOneField(Attachment, on_delete=models.CASCADE, related_name="preview")
    directory = models.CharField(max_length=200)
    pages = models.PositiveIntegerField()
    total_pages = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"preview of {self.attachment_id}"
