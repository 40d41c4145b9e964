"""Coded errors of the 督办 dashboard (see officehub/errors.py)."""

from __future__ import annotations

from officehub.errors import InvalidInput, NotFound, PermissionDeniedError


class OversightForbidden(PermissionDeniedError):
    """The viewer holds none of the dashboard's roles (HTTP 403)."""

    default_code = "oversight.forbidden"


class OversightInvalidFilter(InvalidInput):
    """A date or organisation filter that cannot be read or lies outside the viewer's scope."""

    default_code = "oversight.invalid_filter"


class OversightOfficeNotFound(NotFound):
    """An office outside the viewer's scope, or none: the same 404 either way."""

    default_code = "oversight.office_not_found"
