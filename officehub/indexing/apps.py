from __future__ import annotations

from django.apps import AppConfig


class IndexingConfig(AppConfig):
    name = "officehub.indexing"
    label = "indexing"
    verbose_name = "索引变更"
