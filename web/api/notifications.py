"""/api/notifications: the token's user's own notifications: list them, count the unread, mark
one or all read. Nobody reads or marks another's (a notification of someone else's is 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request
from litestar.params import PathParameter, QueryParameter
from msgspec import Meta, Struct

from engine.cases.notifying import Notification
from engine.kernel.accounts import User
from engine.kernel.roles import Permission
from web.api.common import SECURITY, ApiOperation, errors
from web.areas import area, get, post
from web.common import casework_of, now_of

ApiRequest = Request[User, Any, Any]
Kind = Literal["assigned", "mentioned", "sla_warning", "sla_breach"]


class NotificationOut(Struct, kw_only=True):
    id: int
    kind: Annotated[Kind, Meta(description="assigned: a case given to you by someone else; "
                               "mentioned: an internal note naming you as @name; sla_warning, "
                               "sla_breach: a clock of your case, or of an escalation to you")]
    case_id: int | None
    title: str
    text: str
    created_at: datetime
    read_at: Annotated[datetime | None, Meta(description="When it was marked read; null: "
                                             "unread")] = None


class Unread(Struct, kw_only=True):
    unread: Annotated[int, Meta(description="How many of your notifications are unread")]


class Marked(Struct, kw_only=True):
    marked: Annotated[int, Meta(description="How many unread notifications were marked read")]


def notification_of(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, kind=n.kind.value, case_id=n.case_id, title=n.title,
                           text=n.text, created_at=n.created_at, read_at=n.read_at)


@get("/", summary="Your notifications", operation_class=ApiOperation, responses=errors())
def listing(request: ApiRequest,
            unread: Annotated[bool, QueryParameter(description="Only the unread ones")] = False,
            limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
            ) -> list[NotificationOut]:
    """The token's user's notifications, newest first."""
    found = casework_of(request).notifications.listing(request.user.name, unread, limit)
    return [notification_of(n) for n in found]


@get("/unread", summary="How many of your notifications are unread",
     operation_class=ApiOperation, responses=errors())
def unread_count(request: ApiRequest) -> Unread:
    """The number the pages' header shows: the token's user's unread notifications."""
    return Unread(unread=casework_of(request).notifications.unread(request.user.name))


@post("/{notification_id:int}/read", summary="Mark one of your notifications read",
      status_code=200, operation_class=ApiOperation, responses=errors(404))
def mark_read(request: ApiRequest, notification_id: Annotated[int, PathParameter(
        description="The notification's id")]) -> Marked:
    """Mark it read (marked: 0 if it was read already); 404 if it is not one of yours."""
    marked = casework_of(request).notifications.mark_read(request.user.name, [notification_id],
                                                          now_of(request))
    return Marked(marked=marked)


@post("/read", summary="Mark all your notifications read", status_code=200,
      operation_class=ApiOperation, responses=errors())
def mark_all_read(request: ApiRequest) -> Marked:
    """Mark every unread notification of the token's user read; how many there were."""
    marked = casework_of(request).notifications.mark_read(request.user.name, None,
                                                          now_of(request))
    return Marked(marked=marked)


ROUTER = area("/api/notifications", Permission.READ_CASES,
              [listing, unread_count, mark_read, mark_all_read], tags=["notifications"],
              security=SECURITY)
