from __future__ import annotations

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "officehub.directory"
    label = "directory"
    verbose_name = "通讯录"
