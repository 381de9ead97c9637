"""Signing in and out: each attempt decided and recorded by engine.kernel.sign_ins (throttled
per client address and account name, in the database), the session started under a new key
with a CSRF token of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.middleware.csrf import generate_csrf_token
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_429_TOO_MANY_REQUESTS
from msgspec import Struct

from engine.kernel.accounts import User
from engine.kernel.sign_ins import Attempt, SignInRefused, SignInThrottled
from web.areas import area, get, post
from web.clients import client_address
from web.common import casework_of, now_of
from web.rendering import page
from web.security import CSRF_KEY, start_new_session


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
    casework = casework_of(request)
    attempt = _attempt(request, data.name.strip())
    try:
        await anyio.to_thread.run_sync(casework.sign_ins.sign_in, attempt, data.password)
    except SignInThrottled as throttled:
        refused = page(request, "login.html", status_code=HTTP_429_TOO_MANY_REQUESTS,
                       next=_safe_next(data.next), name=data.name, error=str(throttled))
        refused.headers["Retry-After"] = str(throttled.retry_after)
        return refused
    except SignInRefused:
        return page(request, "login.html", status_code=HTTP_401_UNAUTHORIZED,
                    next=_safe_next(data.next), name=data.name,
                    error="Wrong name or password, or the account is disabled.")
    old = request.cookies.get("session")
    if old and old != "null":  # whatever was kept under the old key is dropped
        await request.app.stores.get("sessions").delete(old)
    # expired sessions are swept here, where sessions begin: no table grows without end
    await anyio.to_thread.run_sync(casework.accounts.drop_sessions, None, datetime.now(UTC))
    start_new_session(request)
    # a CSRF token of this session's own: one from before signing in (perhaps planted) or of
    # another session is refused from now on (web.security.csrf_bound_to_session)
    config = request.app.csrf_config
    assert config is not None  # web.app.create_app always configures CSRF
    token = generate_csrf_token(config.secret)
    request.set_session({"user": attempt.name, CSRF_KEY: token})
    signed_in = Redirect(_safe_next(data.next))
    signed_in.set_cookie(Cookie(key=config.cookie_name, value=token, path=config.cookie_path,
                                secure=config.cookie_secure, httponly=config.cookie_httponly,
                                samesite=config.cookie_samesite, domain=config.cookie_domain))
    return signed_in


def _attempt(request: Request[Any, Any, Any], name: str) -> Attempt:
    web = casework_of(request).settings.web
    return Attempt(name, client_address(request, web.trusted_proxies),
                   request.headers.get("user-agent"), now_of(request))


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    user: User = request.user
    await anyio.to_thread.run_sync(casework_of(request).sign_ins.signed_out,
                                   _attempt(request, user.name))
    request.clear_session()
    return Redirect("/login")


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect("/queues")


ROUTER = area("/", None, [login_page, login, logout, home])
