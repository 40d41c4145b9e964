from __future__ import annotations

from django.urls import path

from oversight import views

urlpatterns = [
    path("", views.dashboard, name="oversight-dashboard"),
    path("export/<slug:key>.csv", views.export_csv, name="oversight-export"),
    path("overdue/<int:office_id>/", views.overdue_drill_down, name="oversight-overdue"),
    path("overdue/<int:office_id>/export.csv", views.overdue_drill_down_csv, name="oversight-overdue-export"),
]
