from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from officehub.directory import selectors as directory_selectors
from officehub.directory.models import Department
from officehub.edges import request_user
from officehub.workbench.selectors import done_list, todo_list


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "officehub/workbench.html",
        {"todos": todo_list(user=user), "dones": done_list(user=user), "now": timezone.now()},
    )


@login_required
def directory_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    department_id = request.GET.get("department")
    members = None
    selected = None
    if query:
        members = directory_selectors.user_search(query=query)
    elif department_id and department_id.isdigit():
        selected = Department.objects.filter(pk=int(department_id)).first()
        if selected:
            members = directory_selectors.department_members(department_id=selected.pk, include_subtree=True)
    return render(
        request,
        "officehub/directory.html",
        {"tree": directory_selectors.department_tree(), "members": members, "query": query, "selected": selected},
    )


class TodoOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    step = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField()


class WorkbenchApi(APIView):
    @extend_schema(responses=inline_serializer("Workbench", {"todo": TodoOutput(many=True), "done": TodoOutput(many=True)}))
    def get(self, request: Request) -> Response:
        user = request_user(request)
        return Response(
            {
                "todo": TodoOutput(todo_list(user=user), many=True).data,
                "done": TodoOutput(done_list(user=user), many=True).data,
            }
        )
