"""What an agent works from across queues: My cases (their open cases, soonest SLA due first),
one search over every case, and their saved views (a page with its filters, by name)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from engine.kernel.accounts import User
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.queue_lines import queue_lines
from web.rendering import page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Req = Request[User, Any, Any]


@get("/my-cases")
def my_cases(request: Req) -> Template:
    mine = casework_of(request).case_search.my_cases(request.user.name)
    lines = queue_lines([m.row for m in mine], now_of(request))
    return page(request, "my_cases.html", "rows", user=request.user,
                rows=list(zip([m.queue for m in mine], lines, strict=True)),
                here=_here(request))


@get("/search")
def search(request: Req) -> Template:
    query = request.query_params.get("q") or ""
    found = casework_of(request).case_search.search(query)
    return page(request, "search.html", "results", user=request.user, q=query, found=found,
                here=_here(request))


def _here(request: Req) -> str:
    """This page's path and query: what a saved view made here keeps."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@get("/views")
def views(request: Req) -> Template:
    """The user's saved views, each with a Delete button (the menu lists them too)."""
    found = casework_of(request).saved_views.views(request.user.name)
    return page(request, "views.html", user=request.user, views=found)


@get("/views/menu")
def views_menu(request: Req) -> Template:
    """The menu's list of the user's saved views (fetched by the menu as the page loads)."""
    found = casework_of(request).saved_views.views(request.user.name)
    return page(request, "views_menu.html", user=request.user, views=found)


@post("/views")
def save_view(request: Req, data: FormBody) -> Redirect:
    """Keep the page `link` (path and filters) under `name`, and show it."""
    link = urlsplit(str(data.get("link") or ""))
    filters = dict(parse_qsl(link.query))
    kept = casework_of(request).saved_views.save(request.user.name, str(data.get("name") or ""),
                                                 unquote(link.path), filters, now_of(request))
    return Redirect(kept.link, status_code=HTTP_303_SEE_OTHER)


@post("/views/{view_id:int}/delete")
def delete_view(request: Req, view_id: FromPath[int]) -> Redirect:
    if not casework_of(request).saved_views.delete(request.user.name, view_id):
        raise NotFoundException(f"you have no saved view {view_id}; see /views for yours")
    return Redirect("/views", status_code=HTTP_303_SEE_OTHER)


ROUTER = area("/", Permission.READ_CASES, [my_cases, search, views, views_menu, save_view,
                                           delete_view])
