from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "officehub.accounts"
    label = "accounts"
    verbose_name = "登录与账号"
