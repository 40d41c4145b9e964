"""What messaging's HTTP front ends (API views and pages) share."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from officehub.directory.models import User


def actor_of(request: HttpRequest | Request) -> User:
    """The signed-in user of a request. Every messaging view sits behind
    ``IsAuthenticated`` or ``login_required``, so an anonymous user never gets here; if
    one did, the answer is a refusal, not a service call with an anonymous actor."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
