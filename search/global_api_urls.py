"""/api/search/: 全局搜索."""

from __future__ import annotations

from django.urls import path

from search import apis

urlpatterns = [
    path("", apis.GlobalSearchApi.as_view(), name="api-global-search"),
]
