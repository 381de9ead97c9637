"""What pages and the API both parse from a request: text holding NUL, which no database of
casework can keep (PostgreSQL refuses it in text and JSON, SQLite would store what the other
cannot), refused at the edge by name before a handler or the database sees it; and the keyset
cursor of a queue page."""

from __future__ import annotations

from datetime import UTC, datetime
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


def parse_after(text: str | None) -> tuple[datetime, int] | None:
    """The keyset cursor `ISO-instant~case-id` of the page before."""
    if not text:
        return None
    moment, _, number = text.rpartition("~")
    try:  # every cursor this site makes has a time zone and a case number the store can hold
        at, case_id = datetime.fromisoformat(moment), int(number)
        if at.tzinfo is None or not 0 <= case_id < 2**63:
            raise ValueError(text)
        return at.astimezone(UTC), case_id
    except (ValueError, OverflowError):
        raise ValidationException(f"the page cursor {text!r} is not one this site made; "
                                  "open the queue from its first page") from None
