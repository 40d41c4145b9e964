from __future__ import annotations

from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "disclosure"
    label = "disclosure"
    verbose_name = "政务公开"
