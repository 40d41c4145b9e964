from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from officehub.accounts.services import user_login_check
from officehub.edges import request_user


class TokenObtainInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token (same lockout as the login page)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=TokenObtainInput,
        responses={200: inline_serializer("TokenOutput", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = TokenObtainInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_login_check(request=request._request, **data.validated_data)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "full_name": serializers.CharField(),
                "department": serializers.CharField(allow_null=True),
                "roles": serializers.ListField(child=serializers.CharField()),
                "clearance": serializers.IntegerField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "full_name": user.display_name,
                "department": user.department.name if user.department is not None else None,
                "roles": sorted(user.role_codes()),
                "clearance": user.clearance,
            }
        )
