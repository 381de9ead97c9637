"""A person's notifications: the list (newest first, each linking to its case), marking one or
all read, the header's unread count, and which kinds reach them by email. Everything here acts
on the signed-in user's own notifications only."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from engine.kernel.accounts import User
from engine.kernel.notifications import TITLES, NotificationKind
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.rendering import page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Req = Request[User, Any, Any]
# an HTMX response that marked something read tells the header's count to look again
READ_EVENT = {"HX-Trigger": "notifications-read"}


@get("/notifications")
def notifications(request: Req) -> Template:
    """The user's notifications, newest first (`?unread=1`: the unread ones only)."""
    unread_only = request.query_params.get("unread") == "1"
    found = casework_of(request).notifications.listing(request.user.name, unread_only)
    return page(request, "notifications.html", "items", user=request.user, items=found,
                unread_only=unread_only)


@get("/notifications/badge")
def badge(request: Req) -> Template:
    """The header's link with the unread count (the header fetches it again now and then)."""
    return page(request, "_bell.html", user=request.user)


@post("/notifications/{notification_id:int}/read")
def mark_read(request: Req, notification_id: FromPath[int]) -> Template | Redirect:
    """Mark one of the user's notifications read (404 if it is not theirs)."""
    casework_of(request).notifications.mark_read(request.user.name, [notification_id],
                                                 now_of(request))
    return _listed(request)


@post("/notifications/read")
def mark_all_read(request: Req) -> Template | Redirect:
    casework_of(request).notifications.mark_read(request.user.name, None, now_of(request))
    return _listed(request)


def _listed(request: Req) -> Template | Redirect:
    """After marking: the list block for HTMX (and a nudge to the header's count), else back
    to the list."""
    if getattr(request, "htmx", None):
        found = casework_of(request).notifications.listing(request.user.name)
        response = page(request, "notifications.html", "items", user=request.user,
                        items=found, unread_only=False)
        response.headers.update(READ_EVENT)
        return response
    return Redirect("/notifications", status_code=HTTP_303_SEE_OTHER)


@get("/me/notifications")
def choices(request: Req) -> Template:
    """Which kinds of notification reach the user by email as well as in the app."""
    chosen = casework_of(request).notifications.email_choices(request.user.name)
    return page(request, "notification_choices.html", user=request.user, chosen=chosen,
                titles=TITLES, saved=request.query_params.get("saved") == "1")


@post("/me/notifications")
def choose(request: Req, data: FormBody) -> Redirect:
    """Keep the form's choices: a kind ticked reaches the user by email, one not ticked does
    not."""
    wanted = {kind: data.get(kind.value) == "on" for kind in NotificationKind}
    casework_of(request).notifications.choose_email(request.user.name, wanted)
    return Redirect("/me/notifications?saved=1", status_code=HTTP_303_SEE_OTHER)


ROUTER = area("/", Permission.READ_CASES, [notifications, badge, mark_read, mark_all_read,
                                           choices, choose])
