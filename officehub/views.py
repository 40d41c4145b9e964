from __future__ import annotations

from typing import TypedDict

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_safe
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


class ManifestIcon(TypedDict):
    src: str
    sizes: str
    type: str
    purpose: str


class WebAppManifest(TypedDict):
    id: str
    name: str
    short_name: str
    description: str
    lang: str
    dir: str
    start_url: str
    scope: str
    display: str
    orientation: str
    theme_color: str
    background_color: str
    icons: list[ManifestIcon]


APP_NAME = "OfficeHub 协同办公"  # the shell's own name (base.html's title and brand)
THEME_COLOR = "#c8102e"  # --red in app.css; base.html's theme-color meta says the same


@require_safe
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """/favicon.ico, which browsers ask for on their own: the app icon (resolved per
    request, as the static manifest exists only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("officehub/icons/icon-192.png"))


@require_safe
def web_app_manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest that makes OfficeHub installable on a phone's home screen.

    Public (the login page links it too) and the same for everyone: it names no user. A
    view rather than a static file so the icons carry their hashed static URLs. Each
    icon serves as ``any`` and as ``maskable``: it is drawn full-bleed with its picture
    inside the safe zone (``manage.py make_app_icons``).
    """
    icons: list[ManifestIcon] = [
        {"src": static(f"officehub/icons/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
        for size in (192, 512)
        for purpose in ("any", "maskable")
    ]
    manifest: WebAppManifest = {
        "id": "/",
        "name": APP_NAME,
        "short_name": "OfficeHub",
        "description": "公文流转 · 电子印章 · 即时消息 · 视频会议 · 档案检索",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOR,
        "background_color": "#f5f6f8",
        "icons": icons,
    }
    response = JsonResponse(manifest, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=3600"
    return response


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
