"""Chat REST API: parse, authorise via selectors, one service call, serialise.

Every write opens its transaction here (``transaction.atomic()``, officehub/transactions.py)
around one service call. Every conversation-scoped endpoint answers 404 ``not_found``
both for a missing id and for one the caller is not a member of.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.chat import announcements, attachments, dings, forwarding, previews, reactions, selectors, services
from messaging.chat.payloads import message_payload
from messaging.errors import InvalidInput, NotFound, PermissionDeniedError
from messaging.http import actor_of
from officehub.uploads import read_upload

# ------------------------------------------------------------------------------ serializers


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    url = serializers.CharField()
    thumbnail_url = serializers.CharField(allow_null=True, help_text="图片：内嵌缩略图")
    thumb_width = serializers.IntegerField(allow_null=True)
    thumb_height = serializers.IntegerField(allow_null=True)
    preview_url = serializers.CharField(allow_null=True, help_text="PDF/DOCX：服务器渲染的页面预览")


class ReplyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    sender_id = serializers.IntegerField(allow_null=True)
    sender_name = serializers.CharField()
    kind = serializers.CharField()
    snippet = serializers.CharField(allow_blank=True, help_text="被引用消息的摘要；已撤回时为“原消息已撤回”")
    recalled = serializers.BooleanField()


class ReactionOutput(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField())


class BundleInfoOutput(serializers.Serializer):
    count = serializers.IntegerField()
    preview = serializers.ListField(child=serializers.CharField())


class DingInfoOutput(serializers.Serializer):
    id = serializers.IntegerField()
    recipient_ids = serializers.ListField(child=serializers.IntegerField())
    cancelled = serializers.BooleanField()


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    client_id = serializers.CharField()
    sender_id = serializers.IntegerField(allow_null=True)
    sender_name = serializers.CharField()
    kind = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    created_at = serializers.CharField()
    recalled = serializers.BooleanField()
    mentions = serializers.ListField(child=serializers.IntegerField())
    mention_all = serializers.BooleanField()
    attachment = AttachmentOutput(allow_null=True)
    document_id = serializers.IntegerField(allow_null=True)
    ding = DingInfoOutput(allow_null=True)
    reply_to = ReplyOutput(allow_null=True)
    forwarded_from = serializers.CharField(allow_null=True, help_text="逐条转发：原发送人")
    reactions = ReactionOutput(many=True)
    bundle = BundleInfoOutput(allow_null=True, help_text="合并转发的聊天记录")
    hidden = serializers.BooleanField(help_text="本人已删除（仅对本人隐藏）")
    read_count = serializers.IntegerField(required=False, help_text="仅本人发送的消息：已读人数")
    unread_count = serializers.IntegerField(required=False, help_text="仅本人发送的消息：未读人数")


class HistoryOutput(serializers.Serializer):
    messages = MessageOutput(many=True)
    next_before = serializers.IntegerField(allow_null=True, help_text="下一页的游标（before=）；null 表示已到最早")
    last_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()


class ConversationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    role = serializers.CharField()
    last_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField()
    mentions = serializers.IntegerField()
    last_message_at = serializers.CharField(allow_null=True)
    last_message = serializers.CharField(allow_blank=True)
    peer_id = serializers.IntegerField(allow_null=True)
    member_count = serializers.IntegerField()
    pinned = serializers.BooleanField(help_text="置顶")
    pinned_at = serializers.CharField(allow_null=True)
    muted = serializers.BooleanField(help_text="免打扰：不计入未读角标，不提醒")
    announcement_unread = serializers.BooleanField(help_text="有未读的群公告")


class MemberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    username = serializers.CharField()
    department = serializers.CharField(allow_blank=True)
    role = serializers.CharField()
    last_read_seq = serializers.IntegerField()


class AnnouncementOutput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField()
    set_by = serializers.IntegerField(allow_null=True)
    set_by_name = serializers.CharField(allow_blank=True)
    set_at = serializers.CharField(allow_null=True)


class ConversationDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    last_seq = serializers.IntegerField()
    my_role = serializers.CharField()
    members = MemberOutput(many=True)
    recall_seconds = serializers.IntegerField()
    history_visible = serializers.BooleanField(help_text="新成员可查看历史消息（群聊）")
    pinned = serializers.BooleanField()
    muted = serializers.BooleanField()
    announcement = AnnouncementOutput()
    announcement_read_version = serializers.IntegerField(help_text="本人已读的群公告版本；小于 version 时进入会话应显示公告")


class ReaderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    department = serializers.CharField(allow_blank=True)


class ReceiptsOutput(serializers.Serializer):
    message_id = serializers.IntegerField()
    read_count = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    read = ReaderOutput(many=True)
    unread = ReaderOutput(many=True)


class SendInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    body = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    mentions = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    mention_all = serializers.BooleanField(required=False, default=False)
    document_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    reply_to = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="引用（回复）的消息编号，须在本会话"
    )


class SendOutput(serializers.Serializer):
    duplicate = serializers.BooleanField()
    message = MessageOutput()


class DingInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    body = serializers.CharField()
    recipient_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class ReadInput(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


class ReadOutput(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField()


class GroupCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    member_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class DirectInput(serializers.Serializer):
    user_id = serializers.IntegerField()


class IdOutput(serializers.Serializer):
    id = serializers.IntegerField()


class MembersAddInput(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class MembersAddOutput(serializers.Serializer):
    added = serializers.ListField(child=serializers.IntegerField())


class RoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=["admin", "member"])


class DocumentCardOutput(serializers.Serializer):
    document_id = serializers.IntegerField()
    title = serializers.CharField(allow_blank=True)
    doc_number = serializers.CharField(allow_blank=True)
    url = serializers.CharField()


class DingStatusEntry(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DingStatusOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    sender_id = serializers.IntegerField()
    cancelled = serializers.BooleanField()
    confirmed = DingStatusEntry(many=True)
    pending = DingStatusEntry(many=True)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _send_response(result: services.SendResult) -> Response:
    body = {"duplicate": not result.created, "message": message_payload(result.message)}
    return Response(SendOutput(body).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


# ------------------------------------------------------------------------------ conversations


class ConversationListApi(APIView):
    @extend_schema(responses=ConversationOutput(many=True), summary="我的会话（含未读数、@我数）")
    def get(self, request: Request) -> Response:
        # Read-only: department groups follow the directory through the worker's job and
        # the directory's change hook (messaging.chat.department_groups.department_groups_sync_for_user).
        return Response(ConversationOutput(selectors.conversation_list(actor_of(request)), many=True).data)

    @extend_schema(request=GroupCreateInput, responses={201: IdOutput}, summary="创建群聊")
    def post(self, request: Request) -> Response:
        data = _valid(GroupCreateInput, request.data)
        with transaction.atomic():
            conversation = services.conversation_group_create(
                actor=actor_of(request), title=data["title"], member_ids=data["member_ids"]
            )
        return Response({"id": conversation.pk}, status=status.HTTP_201_CREATED)


class UnreadOutput(serializers.Serializer):
    unread = serializers.IntegerField(help_text="所有会话（免打扰的除外）的未读消息数")
    conversations = serializers.IntegerField(help_text="有未读消息的会话数（免打扰的除外）")
    muted_conversation_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="设为免打扰的会话：它们的新消息不计数、不提醒"
    )


class UnreadApi(APIView):
    @extend_schema(responses=UnreadOutput, summary="未读消息总数（页面“消息”角标）")
    def get(self, request: Request) -> Response:
        return Response(UnreadOutput(selectors.unread_summary(actor_of(request))).data)


class DirectConversationApi(APIView):
    @extend_schema(request=DirectInput, responses={200: IdOutput}, summary="打开（必要时创建）与某人的单聊")
    def post(self, request: Request) -> Response:
        data = _valid(DirectInput, request.data)
        with transaction.atomic():
            conversation = services.conversation_direct_open(actor=actor_of(request), peer_id=data["user_id"])
        return Response({"id": conversation.pk})


class ConversationDetailApi(APIView):
    @extend_schema(responses=ConversationDetailOutput, summary="会话详情与成员")
    def get(self, request: Request, conversation_id: int) -> Response:
        membership = selectors.membership_of(actor_of(request), conversation_id)
        conversation = membership.conversation
        title = conversation.title
        members = selectors.conversation_members(conversation.pk)
        if conversation.kind == "direct":
            title = next((m["name"] for m in members if m["id"] != actor_of(request).pk), "单聊")
        return Response(
            ConversationDetailOutput(
                {
                    "id": conversation.pk,
                    "kind": conversation.kind,
                    "title": title,
                    "last_seq": conversation.last_seq,
                    "my_role": membership.role,
                    "members": members,
                    "recall_seconds": settings.MESSAGE_RECALL_SECONDS,
                    "history_visible": conversation.history_visible,
                    "pinned": membership.pinned_at is not None,
                    "muted": membership.muted,
                    "announcement": selectors.announcement_info(conversation),
                    "announcement_read_version": membership.announcement_read_version,
                }
            ).data
        )


class ConversationMembersApi(APIView):
    @extend_schema(request=MembersAddInput, responses=MembersAddOutput, summary="添加群成员（群主/管理员）")
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(MembersAddInput, request.data)
        with transaction.atomic():
            added = services.conversation_members_add(
                actor=actor_of(request), conversation_id=conversation_id, user_ids=data["user_ids"]
            )
        return Response({"added": added})


class ConversationMemberApi(APIView):
    @extend_schema(responses={204: None}, summary="移除成员或退出群聊")
    def delete(self, request: Request, conversation_id: int, user_id: int) -> Response:
        with transaction.atomic():
            services.conversation_member_remove(actor=actor_of(request), conversation_id=conversation_id, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RoleInput, responses={200: MemberOutput}, summary="设置管理员（群主）")
    def patch(self, request: Request, conversation_id: int, user_id: int) -> Response:
        data = _valid(RoleInput, request.data)
        with transaction.atomic():
            services.conversation_member_set_role(
                actor=actor_of(request), conversation_id=conversation_id, user_id=user_id, role=data["role"]
            )
        member = next(m for m in selectors.conversation_members(conversation_id) if m["id"] == user_id)
        return Response(MemberOutput(member).data)


# ------------------------------------------------------------------------------ messages


class MessageListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="游标：只返回 seq 小于此值的消息（向前翻页）"),
            OpenApiParameter("limit", int, description="每页条数，最多 100，默认 30"),
        ],
        responses=HistoryOutput,
        summary="历史消息（游标分页，按 seq 升序返回一页）",
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        membership = selectors.membership_of(actor_of(request), conversation_id)
        try:
            before = int(request.query_params["before"]) if request.query_params.get("before") else None
            limit = int(request.query_params.get("limit") or 30)
        except ValueError:
            raise InvalidInput("before 和 limit 必须是整数。", code="invalid") from None
        if limit < 1 or (before is not None and before < 1):
            raise InvalidInput("before 和 limit 必须是正整数。", code="invalid")
        floor = selectors.history_floor(membership)
        messages = selectors.messages_before(conversation_id=conversation_id, before_seq=before, limit=limit, floor=floor)
        payloads = selectors.history_payloads(user=actor_of(request), conversation_id=conversation_id, messages=messages)
        next_before = messages[0].seq if messages and messages[0].seq > floor + 1 else None
        return Response(
            HistoryOutput(
                {
                    "messages": payloads,
                    "next_before": next_before,
                    "last_seq": membership.conversation.last_seq,
                    "last_read_seq": membership.last_read_seq,
                }
            ).data
        )

    @extend_schema(request=SendInput, responses={201: SendOutput, 200: SendOutput}, summary="发送消息（client_id 幂等）")
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(SendInput, request.data)
        with transaction.atomic():
            result = services.message_send(actor=actor_of(request), conversation_id=conversation_id, **data)
        return _send_response(result)


class AroundOutput(serializers.Serializer):
    messages = MessageOutput(many=True)
    seq = serializers.IntegerField(help_text="所定位的消息的 seq")
    next_before = serializers.IntegerField(allow_null=True, help_text="更早一页的游标（before=）；null 表示已到最早")
    next_after = serializers.IntegerField(allow_null=True, help_text="更新的消息从此 seq 之后开始；null 表示已到最新")
    last_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()


class MessagesAroundApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="之前的消息条数，最多 50，默认 15"),
            OpenApiParameter("after", int, description="之后的消息条数，最多 50，默认 15"),
        ],
        responses=AroundOutput,
        summary="定位到某条消息：该消息及其前后的消息（按 seq 升序）",
    )
    def get(self, request: Request, conversation_id: int, seq: int) -> Response:
        membership = selectors.membership_of(actor_of(request), conversation_id)
        try:
            before = int(request.query_params.get("before") or 15)
            after = int(request.query_params.get("after") or 15)
        except ValueError:
            raise InvalidInput("before 和 after 必须是整数。", code="invalid") from None
        if before < 0 or after < 0:
            raise InvalidInput("before 和 after 不能为负数。", code="invalid")
        floor = selectors.history_floor(membership)
        last_seq = membership.conversation.last_seq
        if seq <= floor or seq > last_seq:
            raise NotFound()  # like a missing message: hidden history is not probed by seq
        messages = selectors.messages_around(conversation_id=conversation_id, seq=seq, before=before, after=after, floor=floor)
        payloads = selectors.history_payloads(user=actor_of(request), conversation_id=conversation_id, messages=messages)
        first, last = messages[0].seq, messages[-1].seq
        return Response(
            AroundOutput(
                {
                    "messages": payloads,
                    "seq": seq,
                    "next_before": first if first > floor + 1 else None,
                    "next_after": last if last < last_seq else None,
                    "last_seq": last_seq,
                    "last_read_seq": membership.last_read_seq,
                }
            ).data
        )


class HistoryVisibilityInput(serializers.Serializer):
    history_visible = serializers.BooleanField()


class HistoryVisibilityApi(APIView):
    @extend_schema(
        request=HistoryVisibilityInput, responses=HistoryVisibilityInput, summary="设置“新成员可查看历史消息”（群主/管理员）"
    )
    def put(self, request: Request, conversation_id: int) -> Response:
        data = _valid(HistoryVisibilityInput, request.data)
        with transaction.atomic():
            conversation = services.conversation_set_history_visible(
                actor=actor_of(request), conversation_id=conversation_id, visible=data["history_visible"]
            )
        return Response({"history_visible": conversation.history_visible})


class ReadApi(APIView):
    @extend_schema(request=ReadInput, responses=ReadOutput, summary="标记已读到 seq")
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(ReadInput, request.data)
        with transaction.atomic():
            membership = services.conversation_mark_read(
                actor=actor_of(request), conversation_id=conversation_id, seq=data["seq"]
            )
        last_seq = membership.conversation.last_seq
        return Response(
            {
                "conversation_id": conversation_id,
                "last_read_seq": membership.last_read_seq,
                "unread": max(0, last_seq - membership.last_read_seq),
            }
        )


class ReceiptsApi(APIView):
    @extend_schema(responses=ReceiptsOutput, summary="已读回执：已读 n / 未读 m 及名单（仅发送人）")
    def get(self, request: Request, message_id: int) -> Response:
        message = selectors.access_message(actor_of(request), message_id)
        if message.sender_id != actor_of(request).pk:
            raise PermissionDeniedError("只有发送人可以查看已读详情。", code="receipt.not_sender")
        receipts = selectors.message_receipts(message)
        return Response(
            ReceiptsOutput(
                {
                    "message_id": message.pk,
                    "read_count": len(receipts.read),
                    "unread_count": len(receipts.unread),
                    "read": receipts.read,
                    "unread": receipts.unread,
                }
            ).data
        )


class RecallApi(APIView):
    @extend_schema(request=None, responses=MessageOutput, summary="撤回消息")
    def post(self, request: Request, message_id: int) -> Response:
        with transaction.atomic():
            message = services.message_recall(actor=actor_of(request), message_id=message_id)
        return Response(MessageOutput(message_payload(message)).data)


class DocumentCardApi(APIView):
    @extend_schema(responses=DocumentCardOutput, summary="打开公文卡片（按公文权限再次校验）")
    def get(self, request: Request, message_id: int) -> Response:
        message = selectors.access_message(actor_of(request), message_id)
        if message.recalled_at or message.document_id is None:
            raise NotFound()
        document = selectors.document_for_card(actor_of(request), message.document_id)
        if document is None:
            raise NotFound("公文不存在，或您无权查看。", code="message.document_unavailable")
        url = selectors.document_card_url(document)
        return Response(
            DocumentCardOutput(
                {
                    "document_id": document.pk,
                    "title": document.title or "",
                    "doc_number": document.doc_number or "",
                    "url": url,
                }
            ).data
        )


# ------------------------------------------------------------------------------ attachments


class AttachmentUploadApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}, "client_id": {"type": "string"}},
            }
        },
        responses={201: SendOutput, 200: SendOutput},
        summary="发送附件（成员可下载；大小与类型受限）",
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        # Membership first, so a non-member learns nothing from the size/type checks.
        selectors.access_conversation(actor_of(request), conversation_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("请选择要发送的文件。", code="attachment.missing")
        data = read_upload(upload, limit=settings.ATTACHMENT_MAX_BYTES, code="attachment.too_large")
        # No transaction here: attachment_send writes the file first and opens its own
        # (it deletes the file again if the database part does not commit).
        result = attachments.attachment_send(
            actor=actor_of(request),
            conversation_id=conversation_id,
            client_id=request.data.get("client_id"),
            name=upload.name or "",
            data=data,
        )
        return _send_response(result)


class AttachmentDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes}, summary="下载附件（仅会话成员）")
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        attachment = selectors.access_attachment(actor_of(request), attachment_id)
        response = FileResponse(
            attachment.file.open("rb"), as_attachment=True, filename=attachment.name, content_type=attachment.content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


# ------------------------------------------------------------------------------ DING


class DingSendApi(APIView):
    @extend_schema(request=DingInput, responses={201: SendOutput, 200: SendOutput}, summary="发送 DING")
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(DingInput, request.data)
        with transaction.atomic():
            result = services.ding_send(actor=actor_of(request), conversation_id=conversation_id, **data)
        return _send_response(result)


class DingApi(APIView):
    @extend_schema(responses=DingStatusOutput, summary="DING 确认情况")
    def get(self, request: Request, ding_id: int) -> Response:
        ding = selectors.access_ding(actor_of(request), ding_id)
        return Response(DingStatusOutput(selectors.ding_status(ding)).data)


class DingConfirmApi(APIView):
    @extend_schema(request=None, responses=DingStatusOutput, summary="确认 DING")
    def post(self, request: Request, ding_id: int) -> Response:
        with transaction.atomic():
            dings.ding_confirm(actor=actor_of(request), ding_id=ding_id)
        return Response(DingStatusOutput(selectors.ding_status(selectors.access_ding(actor_of(request), ding_id))).data)


class DingCancelApi(APIView):
    @extend_schema(request=None, responses=DingStatusOutput, summary="取消 DING（发送人）")
    def post(self, request: Request, ding_id: int) -> Response:
        with transaction.atomic():
            dings.ding_cancel(actor=actor_of(request), ding_id=ding_id)
        return Response(DingStatusOutput(selectors.ding_status(selectors.access_ding(actor_of(request), ding_id))).data)


# ------------------------------------------------------------------------------ issue 14: chat features


class ForwardInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    message_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    conversation_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    user_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    mode = serializers.ChoiceField(choices=["single", "merged"], default="single", help_text="single 逐条转发；merged 合并转发")


class ForwardOutput(serializers.Serializer):
    duplicate = serializers.BooleanField()
    messages = MessageOutput(many=True)


class ForwardApi(APIView):
    @extend_schema(request=ForwardInput, responses={201: ForwardOutput, 200: ForwardOutput}, summary="转发消息（逐条或合并转发）")
    def post(self, request: Request) -> Response:
        data = _valid(ForwardInput, request.data)
        with transaction.atomic():
            result = forwarding.messages_forward(actor=actor_of(request), **data)
        messages = selectors.messages_for_payload([m.pk for m in result.messages])
        body = {"duplicate": not result.created, "messages": [message_payload(m) for m in messages]}
        return Response(ForwardOutput(body).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class BundleItemOutput(serializers.Serializer):
    position = serializers.IntegerField()
    sender_name = serializers.CharField()
    kind = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    sent_at = serializers.CharField()
    attachment = AttachmentOutput(allow_null=True)
    document_id = serializers.IntegerField(allow_null=True)


class BundleOutput(serializers.Serializer):
    message_id = serializers.IntegerField()
    title = serializers.CharField()
    items = BundleItemOutput(many=True)


class BundleApi(APIView):
    @extend_schema(responses=BundleOutput, summary="打开合并转发的聊天记录")
    def get(self, request: Request, message_id: int) -> Response:
        message = selectors.access_message(actor_of(request), message_id)
        if message.kind != "bundle" or message.recalled_at is not None:
            raise NotFound()
        items = selectors.bundle_items(message)
        return Response(BundleOutput({"message_id": message.pk, "title": message.body, "items": items}).data)


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(max_length=32)


class ReactionToggleOutput(serializers.Serializer):
    message_id = serializers.IntegerField()
    emoji = serializers.CharField()
    on = serializers.BooleanField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField())


class ReactionDetailOutput(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = ReaderOutput(many=True)


class ReactionsApi(APIView):
    @extend_schema(responses=ReactionDetailOutput(many=True), summary="表情回应：每个表情的人数与名单")
    def get(self, request: Request, message_id: int) -> Response:
        message = selectors.access_message(actor_of(request), message_id)
        return Response(ReactionDetailOutput(selectors.reaction_details(message), many=True).data)

    @extend_schema(request=ReactionInput, responses=ReactionToggleOutput, summary="添加或取消表情回应（切换）")
    def post(self, request: Request, message_id: int) -> Response:
        data = _valid(ReactionInput, request.data)
        with transaction.atomic():
            event = reactions.reaction_toggle(actor=actor_of(request), message_id=message_id, emoji=data["emoji"])
        return Response(ReactionToggleOutput({**event}).data)


class SettingsInput(serializers.Serializer):
    pinned = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="置顶")
    muted = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="免打扰")


class SettingsOutput(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    pinned = serializers.BooleanField()
    pinned_at = serializers.CharField(allow_null=True)
    muted = serializers.BooleanField()


class ConversationSettingsApi(APIView):
    @extend_schema(request=SettingsInput, responses=SettingsOutput, summary="置顶 / 免打扰（仅本人）")
    def patch(self, request: Request, conversation_id: int) -> Response:
        data = _valid(SettingsInput, request.data)
        with transaction.atomic():
            membership = services.conversation_settings_set(
                actor=actor_of(request), conversation_id=conversation_id, pinned=data["pinned"], muted=data["muted"]
            )
        return Response(
            SettingsOutput(
                {
                    "conversation_id": conversation_id,
                    "pinned": membership.pinned_at is not None,
                    "pinned_at": membership.pinned_at.isoformat() if membership.pinned_at else None,
                    "muted": membership.muted,
                }
            ).data
        )


class HideInput(serializers.Serializer):
    message_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=services.HIDE_MAX)


class HideOutput(serializers.Serializer):
    hidden = serializers.ListField(child=serializers.IntegerField())


class HideApi(APIView):
    @extend_schema(request=HideInput, responses=HideOutput, summary="删除消息（仅对本人隐藏）")
    def post(self, request: Request) -> Response:
        data = _valid(HideInput, request.data)
        with transaction.atomic():
            hidden = services.messages_hide(actor=actor_of(request), message_ids=data["message_ids"])
        return Response({"hidden": hidden})


class AnnouncementInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="公告内容；空字符串表示清除")


class AnnouncementStateOutput(AnnouncementOutput):
    read_version = serializers.IntegerField(help_text="本人已读到的版本")


class AnnouncementApi(APIView):
    @extend_schema(responses=AnnouncementStateOutput, summary="群公告")
    def get(self, request: Request, conversation_id: int) -> Response:
        membership = selectors.membership_of(actor_of(request), conversation_id)
        info = selectors.announcement_info(membership.conversation)
        return Response(AnnouncementStateOutput({**info, "read_version": membership.announcement_read_version}).data)

    @extend_schema(
        request=AnnouncementInput, responses={201: SendOutput, 200: SendOutput}, summary="发布或清除群公告（群主/管理员）"
    )
    def put(self, request: Request, conversation_id: int) -> Response:
        data = _valid(AnnouncementInput, request.data)
        with transaction.atomic():
            result = announcements.announcement_set(actor=actor_of(request), conversation_id=conversation_id, **data)
        return _send_response(result)


class AnnouncementReadInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=0)


class AnnouncementReadApi(APIView):
    @extend_schema(request=AnnouncementReadInput, responses=AnnouncementStateOutput, summary="标记群公告已读")
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(AnnouncementReadInput, request.data)
        with transaction.atomic():
            membership = announcements.announcement_mark_read(
                actor=actor_of(request), conversation_id=conversation_id, version=data["version"]
            )
        info = selectors.announcement_info(membership.conversation)
        return Response(AnnouncementStateOutput({**info, "read_version": membership.announcement_read_version}).data)


class AnnouncementReadersOutput(serializers.Serializer):
    version = serializers.IntegerField()
    read_count = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    read = ReaderOutput(many=True)
    unread = ReaderOutput(many=True)


class AnnouncementReadersApi(APIView):
    @extend_schema(responses=AnnouncementReadersOutput, summary="群公告已读 / 未读名单（群主、管理员）")
    def get(self, request: Request, conversation_id: int) -> Response:
        membership = selectors.membership_of(actor_of(request), conversation_id)
        if membership.role not in services.MANAGER_ROLES:
            raise PermissionDeniedError("只有群主或管理员可以查看群公告的已读情况。", code="announcement.not_manager")
        readers = selectors.announcement_readers(membership.conversation)
        return Response(
            AnnouncementReadersOutput(
                {
                    "version": readers.version,
                    "read_count": len(readers.read),
                    "unread_count": len(readers.unread),
                    "read": readers.read,
                    "unread": readers.unread,
                }
            ).data
        )


def _image_response(name: str, content_type: str) -> FileResponse:
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response


class ThumbnailApi(APIView):
    @extend_schema(responses={(200, "image/jpeg"): bytes}, summary="图片缩略图（仅可读该附件的会话成员）")
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        attachment = selectors.access_attachment(actor_of(request), attachment_id)
        if not attachment.thumbnail:
            raise NotFound()
        content_type = "image/png" if attachment.thumbnail.name.endswith(".png") else "image/jpeg"
        return _image_response(attachment.thumbnail.name, content_type)


class PreviewOutput(serializers.Serializer):
    attachment_id = serializers.IntegerField()
    pages = serializers.IntegerField(help_text="已渲染的页数")
    total_pages = serializers.IntegerField(help_text="文件总页数（超过上限的页不预览）")
    page_urls = serializers.ListField(child=serializers.CharField())


class PreviewApi(APIView):
    @extend_schema(responses=PreviewOutput, summary="PDF/DOCX 在线预览：服务器渲染的页面图片")
    def get(self, request: Request, attachment_id: int) -> Response:
        attachment = selectors.access_attachment(actor_of(request), attachment_id)
        preview = previews.attachment_preview(attachment=attachment)
        base = f"/api/messaging/attachments/{attachment.pk}/preview"
        return Response(
            PreviewOutput(
                {
                    "attachment_id": attachment.pk,
                    "pages": preview.pages,
                    "total_pages": preview.total_pages,
                    "page_urls": [f"{base}/{n}/" for n in range(1, preview.pages + 1)],
                }
            ).data
        )


class PreviewPageApi(APIView):
    @extend_schema(
        operation_id="messaging_attachments_preview_page", responses={(200, "image/png"): bytes}, summary="预览的一页（PNG）"
    )
    def get(self, request: Request, attachment_id: int, page: int) -> FileResponse:
        attachment = selectors.access_attachment(actor_of(request), attachment_id)
        preview = previews.attachment_preview(attachment=attachment)
        name = previews.preview_page_name(preview, page)
        if name is None:
            raise NotFound()
        return _image_response(name, "image/png")
