from __future__ import annotations

from officehub.errors import ApplicationError, PermissionDeniedError


class DirectoryError(ApplicationError):
    default_code = "directory.invalid"


class DirectoryPermissionDenied(PermissionDeniedError):
    default_code = "directory.permission_denied"


class DepartmentCycle(DirectoryError):
    default_code = "directory.cycle"


class DepartmentNotEmpty(DirectoryError):
    default_code = "directory.not_empty"
    default_status = 409


class DivisionAtTop(DirectoryError):
    default_code = "directory.division_at_top"
