from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from officehub.accounts.services import LoginFailed, LoginLocked, user_login_check


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's login form, authenticating through the lockout-aware service."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username and password:
            try:
                self.user_cache = user_login_check(request=self.request, username=username, password=password)
            except (LoginLocked, LoginFailed) as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
