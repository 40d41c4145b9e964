from __future__ import annotations

from django.apps import AppConfig


class OfficehubConfig(AppConfig):
    """The platform shell: templates, static files and project-wide commands."""

    name = "officehub"
    label = "officehub"
    verbose_name = "OfficeHub"
