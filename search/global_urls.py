"""/search/: the 全局搜索 page."""

from __future__ import annotations

from django.urls import path

from search import views

urlpatterns = [
    path("", views.global_search_page, name="global-search"),
]
