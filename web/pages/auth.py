"""Signing in and out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED
from msgspec import Struct

from engine.kernel.accounts import password_matches
from web.areas import area, get, post
from web.common import casework_of
from web.rendering import page
from web.security import start_new_session


class Login(Struct):
    name: str = ""
    password: str = ""
    next: str = "/"


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@get("/login", sync_to_thread=False)
def login_page(request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template:
    return page(request, "login.html", next=_safe_next(next), error=None, name="")


@post("/login")
async def login(request: Request[Any, Any, Any],
                data: Annotated[Login, Body(media_type=RequestEncodingType.URL_ENCODED)]
                ) -> Template | Redirect:
    accounts = casework_of(request).accounts
    stored = await anyio.to_thread.run_sync(accounts.password_hash, data.name.strip())
    ok = await anyio.to_thread.run_sync(password_matches, stored, data.password)
    if not ok:
        return page(request, "login.html", status_code=HTTP_401_UNAUTHORIZED,
                    next=_safe_next(data.next), name=data.name,
                    error="Wrong name or password, or the account is disabled.")
    old = request.cookies.get("session")
    if old and old != "null":  # whatever was kept under the old key is dropped
        await request.app.stores.get("sessions").delete(old)
    # expired sessions are swept here, where sessions begin: no table grows without end
    await anyio.to_thread.run_sync(accounts.drop_sessions, None, datetime.now(UTC))
    start_new_session(request)
    request.set_session({"user": data.name.strip()})
    return Redirect(_safe_next(data.next))


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login")


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect("/queues")


ROUTER = area("/", None, [login_page, login, logout, home])
