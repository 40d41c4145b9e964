"""URL wiring. Feature apps are included by dotted path, so the core imports none of them."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from officehub import views
from officehub.accounts.apis import MeApi, TokenObtainApi
from officehub.accounts.forms import LockoutAuthenticationForm
from officehub.directory import apis as directory_apis

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("me/", MeApi.as_view(), name="api-me"),
    path("directory/tree/", directory_apis.DepartmentTreeApi.as_view(), name="api-directory-tree"),
    path("directory/departments/", directory_apis.DepartmentCreateApi.as_view(), name="api-department-create"),
    path(
        "directory/departments/<int:department_id>/members/",
        directory_apis.DepartmentMembersApi.as_view(),
        name="api-department-members",
    ),
    path(
        "directory/departments/<int:department_id>/move/",
        directory_apis.DepartmentMoveApi.as_view(),
        name="api-department-move",
    ),
    path("directory/users/", directory_apis.UserSearchApi.as_view(), name="api-user-search"),
    path("workbench/", views.WorkbenchApi.as_view(), name="api-workbench"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its start-up script as a file: no inline script (CSP).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="officehub/swagger_ui.html"),
        name="api-docs",
    ),
    path("documents/", include("documents.api_urls")),
    path("seals/", include("seals.api_urls")),
    path("messaging/", include("messaging.api_urls")),
    path("archives/", include("search.api_urls")),
    path("disclosure/", include("disclosure.api_urls")),
    path("gk/", include("disclosure.public_api_urls")),
    path("search/", include("search.global_api_urls")),
    path("oversight/", include("oversight.api_urls")),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.workbench, name="workbench"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="officehub/login.html",
            authentication_form=LockoutAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("manifest.webmanifest", views.web_app_manifest, name="web-app-manifest"),
    # Browsers ask for /favicon.ico on pages that name no icon (downloads, error pages).
    path("favicon.ico", views.favicon, name="favicon"),
    path("directory/", views.directory_page, name="directory"),
    path("api/", include(api_urlpatterns)),
    path("admin/", admin.site.urls),
    path("documents/", include("documents.urls")),
    path("seals/", include("seals.urls")),
    path("messages/", include("messaging.urls")),
    path("archives/", include("search.urls")),
    path("disclosure/", include("disclosure.urls")),
    # 政务公开: the public portal, no login.
    path("gk/", include("disclosure.portal_urls")),
    path("search/", include("search.global_urls")),
    path("oversight/", include("oversight.urls")),
]

# Chinese error pages in the page shell; {code, message, extra} JSON under /api/.
handler400 = "officehub.error_pages.bad_request"
handler403 = "officehub.error_pages.permission_denied"
handler404 = "officehub.error_pages.page_not_found"
handler500 = "officehub.error_pages.server_error"
