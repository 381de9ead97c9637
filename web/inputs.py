"""Input that no database of casework can keep: text holding NUL (PostgreSQL refuses it in
text and JSON, SQLite would store what the other cannot). Refused at the edge, by name, before
a handler or the database sees it: a path or query parameter, or a form field."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """A before-request hook: 400 (422 on /api) naming the first parameter or field with NUL."""
    sources: list[tuple[str, Any]] = [("path parameter", request.path_params.items()),
                                      ("query parameter", request.query_params.items())]
    if request.method in ("POST", "PUT", "PATCH") and \
            request.headers.get("content-type", "").startswith(_FORMS):
        sources.append(("form field", (await request.form()).multi_items()))
    for source, values in sources:
        for name, value in values:
            if isinstance(value, str) and "\x00" in value:
                raise ValidationException(f"{source} '{name}' holds a NUL character (%00), "
                                          "which casework cannot store")
