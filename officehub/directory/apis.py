from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from officehub.directory import selectors, services
from officehub.directory.models import Department, DepartmentKind, User
from officehub.edges import request_user


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    department_id = serializers.IntegerField(allow_null=True)
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    position = serializers.CharField(source="position.name", allow_null=True, default=None)
    phone = serializers.CharField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user: User) -> list[str]:
        return sorted(user.role_codes())


class DepartmentNodeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    is_organisation = serializers.BooleanField()
    issuer_code = serializers.CharField()
    member_count = serializers.IntegerField()
    children = serializers.ListField(child=serializers.DictField())


class DepartmentTreeApi(APIView):
    @extend_schema(responses=DepartmentNodeOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(selectors.department_tree())


class DepartmentMembersApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("subtree", bool, description="包含下级部门")],
        responses=UserOutput(many=True),
    )
    def get(self, request: Request, department_id: int) -> Response:
        get_object_or_404(Department, pk=department_id)
        subtree = request.query_params.get("subtree") in {"1", "true"}
        users = selectors.department_members(department_id=department_id, include_subtree=subtree)
        return Response(UserOutput(users, many=True).data)


class UserSearchApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description="姓名或用户名")], responses=UserOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        if len(query) > 50:
            raise serializers.ValidationError({"q": "搜索词不能超过 50 个字符。"})
        return Response(UserOutput(selectors.user_search(query=query), many=True).data)


class DepartmentCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=DepartmentKind.choices)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    short_name = serializers.CharField(max_length=50, required=False, default="")
    is_organisation = serializers.BooleanField(required=False, default=False)
    issuer_code = serializers.CharField(max_length=20, required=False, default="")
    issuer_mark = serializers.CharField(max_length=100, required=False, default="")
    fonds_code = serializers.CharField(max_length=20, required=False, default="")
    unit_code = serializers.CharField(max_length=10, required=False, default="")


class DepartmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)
    path = serializers.CharField()
    depth = serializers.IntegerField()


class DepartmentCreateApi(APIView):
    @extend_schema(request=DepartmentCreateInput, responses={201: DepartmentOutput})
    def post(self, request: Request) -> Response:
        data = DepartmentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        parent_id = values.pop("parent_id", None)
        with transaction.atomic(durable=True):
            parent = get_object_or_404(Department, pk=parent_id) if parent_id else None
            department = services.department_create(actor=request_user(request), parent=parent, **values)
        return Response(DepartmentOutput(department).data, status=201)


class DepartmentMoveInput(serializers.Serializer):
    parent_id = serializers.IntegerField(allow_null=True)


class DepartmentMoveApi(APIView):
    @extend_schema(request=DepartmentMoveInput, responses=DepartmentOutput)
    def post(self, request: Request, department_id: int) -> Response:
        data = DepartmentMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        get_object_or_404(Department, pk=department_id)
        if data.validated_data["parent_id"] is not None:
            get_object_or_404(Department, pk=data.validated_data["parent_id"])
        with transaction.atomic(durable=True):
            department = services.department_move(
                actor=request_user(request), department_id=department_id, new_parent_id=data.validated_data["parent_id"]
            )
        return Response(DepartmentOutput(department).data)
