from __future__ import annotations

from django.apps import AppConfig


class OversightConfig(AppConfig):
    """督办 dashboard: read-only figures over documents, seals and messaging."""

    name = "oversight"
    label = "oversight"
    verbose_name = "督办"
