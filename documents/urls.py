from __future__ import annotations

from django.urls import path

from officehub.views import section_placeholder

urlpatterns = [path("", section_placeholder, name="documents-index")]
