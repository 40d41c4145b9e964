"""DRF parsers for the API: JSON through ``officehub.jsonsafe``, every refusal coded.

DRF imports the parser classes while ``rest_framework.views`` loads, which
``officehub.errors`` itself imports: the error classes are imported when a request is
parsed, not at module level, to keep that import order acyclic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json as drf_json

from officehub.jsonsafe import JSONNulCharacter, JSONTooDeep, loads


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser on top of ``loads``: every refusal is a coded 400 (413 when too big)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        from officehub.errors import ApplicationError

        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        request = parser_context.get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = _content_length(request)
        if limit is not None and length is not None and length > limit:
            raise _too_large(limit)
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise _too_large(limit)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ApplicationError(_("请求内容不是有效的 UTF-8 文本。"), code="json.invalid_encoding") from None
        try:
            return loads(text, parse_constant=drf_json.strict_constant if self.strict else None)
        except JSONTooDeep as exc:
            raise ApplicationError(
                _("JSON 嵌套层数过多（最多 %(depth)s 层）。") % {"depth": exc.max_depth},
                code="json.too_deep",
                extra={"max_depth": exc.max_depth},
            ) from None
        except JSONNulCharacter:
            raise ApplicationError(_("请求内容含有不允许的空字符（U+0000）。"), code="json.nul_character") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _content_length(request: Any) -> int | None:
    meta = getattr(request, "META", None) or {}
    try:
        return int(meta.get("CONTENT_LENGTH") or 0) or None
    except (TypeError, ValueError):
        return None


def _too_large(limit: int) -> Exception:
    from officehub.errors import RequestTooLarge

    return RequestTooLarge(
        _("请求内容过大（最大 %(size)s KB）。") % {"size": limit // 1024},
        extra={"max_bytes": limit},
    )
