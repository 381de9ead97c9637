"""Administration for admins: users (add, roles, disable and enable, a new password) and their
API tokens (create, shown once; revoke). Every change is made by engine.kernel.administration,
which logs it in the protection log; a password or token made here is shown in the answer to
the request that made it and never again (the answer is not cached)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from engine.kernel.accounts import User
from engine.kernel.administration import Secret, new_password
from engine.kernel.errors import CaseworkError, NotFound
from engine.kernel.roles import Permission, Role
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.rendering import page

Req = Request[User, Any, Any]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
ROLES = [str(r) for r in Role]
NO_STORE = {"Cache-Control": "no-store"}


def _roles(data: dict[str, Any]) -> list[str]:
    chosen = data.get("roles") or []
    return [chosen] if isinstance(chosen, str) else [str(r) for r in chosen]


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value[-1] if isinstance(value, list) else str(value or "")


def _user_link(name: str) -> str:
    return f"/admin/users/{quote(name, safe='')}"


def _users_page(request: Req, error: str | None = None, given: dict[str, Any] | None = None,
                status_code: int = 200) -> Template:
    return page(request, "admin_users.html", status_code=status_code, user=request.user,
                people=casework_of(request).accounts.users(), roles=ROLES, error=error,
                given=given or {}, given_roles=_roles(given or {}))


def _user_page(request: Req, name: str, secret: Secret | None = None,
               error: str | None = None, status_code: int = 200) -> Template:
    casework = casework_of(request)
    person = casework.accounts.user(name)
    if person is None:
        raise NotFound(f"there is no user '{name}'")
    template = page(request, "admin_user.html", status_code=status_code, user=request.user,
                    person=person, roles=ROLES, secret=secret, error=error,
                    tokens=casework.administration.tokens(name),
                    history=casework.administration.history(name),
                    sign_ins=casework.sign_ins.events(name, 20),
                    can_sign_in=casework.accounts.password_hash(name) is not None)
    if secret is not None:
        template.headers.update(NO_STORE)
    return template


@get("/users")
def users_page(request: Req) -> Template:
    return _users_page(request)


@post("/users")
def add_user(request: Req, data: FormBody) -> Template | Redirect:
    """A new user; with the password left empty, one is made and shown once."""
    name = _text(data, "name").strip()
    typed = _text(data, "password")
    password = typed or new_password()
    try:
        casework_of(request).administration.add_user(
            name, _roles(data), request.user.name, now_of(request),
            _text(data, "display_name"), _text(data, "email"), password)
        secret = None if typed else Secret(name, password)
    except CaseworkError as exc:
        return _users_page(request, str(exc), data, HTTP_422_UNPROCESSABLE_ENTITY)
    if secret is not None:
        return _user_page(request, name, secret)
    return Redirect(_user_link(name), status_code=HTTP_303_SEE_OTHER)


@get("/users/{name:str}")
def user_page(request: Req, name: FromPath[str]) -> Template:
    return _user_page(request, name)


def _changed(request: Req, name: str, change: Any) -> Template | Redirect:
    """Make a change; back to the user's page, or the page again with why it was refused."""
    try:
        change()
    except NotFound:
        raise
    except CaseworkError as exc:
        return _user_page(request, name, error=str(exc),
                          status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(_user_link(name), status_code=HTTP_303_SEE_OTHER)


@post("/users/{name:str}")
def change_user(request: Req, name: FromPath[str], data: FormBody) -> Template | Redirect:
    administration = casework_of(request).administration
    return _changed(request, name, lambda: administration.change_user(
        name, _roles(data), request.user.name, now_of(request), _text(data, "display_name"),
        _text(data, "email")))


@post("/users/{name:str}/disable")
def disable_user(request: Req, name: FromPath[str]) -> Template | Redirect:
    administration = casework_of(request).administration
    return _changed(request, name, lambda: administration.set_active(
        name, False, request.user.name, now_of(request)))


@post("/users/{name:str}/enable")
def enable_user(request: Req, name: FromPath[str]) -> Template | Redirect:
    administration = casework_of(request).administration
    return _changed(request, name, lambda: administration.set_active(
        name, True, request.user.name, now_of(request)))


@post("/users/{name:str}/password")
def set_password(request: Req, name: FromPath[str]) -> Template:
    """A new password made here, shown once; the user's sessions end."""
    secret = casework_of(request).administration.set_password(name, request.user.name,
                                                              now_of(request))
    return _user_page(request, name, secret)


@post("/users/{name:str}/tokens")
def create_token(request: Req, name: FromPath[str], data: FormBody) -> Template:
    try:
        secret = casework_of(request).administration.create_token(
            name, _text(data, "label"), request.user.name, now_of(request))
    except NotFound:
        raise
    except CaseworkError as exc:
        return _user_page(request, name, error=str(exc),
                          status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return _user_page(request, name, secret)


@post("/tokens/{token_id:int}/revoke")
def revoke_token(request: Req, token_id: FromPath[int]) -> Redirect:
    token = casework_of(request).administration.revoke_token(token_id, request.user.name,
                                                             now_of(request))
    return Redirect(_user_link(token.user_name), status_code=HTTP_303_SEE_OTHER)


@get("/")
def admin_index(request: Req) -> Redirect:
    return Redirect("/admin/users")


ROUTER = area("/admin", Permission.ADMINISTER, [
    admin_index, users_page, add_user, user_page, change_user, disable_user, enable_user,
    set_password, create_token, revoke_token])
