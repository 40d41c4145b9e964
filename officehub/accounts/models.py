from __future__ import annotations

from django.db import models


class LoginFailure(models.Model):
    """A failed login, kept in the database so lockout holds across every server process."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"]),
            # The per-address budget counts failures from one address across usernames.
            models.Index(fields=["ip_address", "at"], name="loginfailure_ip_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} @ {self.at:%Y-%m-%d %H:%M}"
