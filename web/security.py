"""Who is asking: sessions for people, tokens for systems, and the role guards of routes.

Pages read the signed-in user from the server-side session (kept in the database, so every
server process sees it); /api reads `Authorization: Bearer <token>`. The API takes no cookies,
so cross-site requests cannot ride on a session there, and CSRF protection covers the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from secrets import compare_digest
from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from engine.kernel.accounts import Accounts, User, token_digest
from engine.kernel.roles import Permission, holders, may

API = "/api"
SCHEMA = "/schema"  # the OpenAPI schema: a session or a token, unless CASEWORK_PUBLIC_SCHEMA
# Paths anyone may open without signing in.
# /survey and /contact are the customers' pages (web/pages/public.py): no account, no session.
# /readyz is for load balancers; /metrics checks its own token (web/observability.py).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = ["/login", "/static", "/healthz", "/readyz", "/metrics", "/favicon.ico", "/survey",
          "/contact"]
CSRF_KEY = "csrf"  # the session's own CSRF token (web/pages/auth.py sets it at sign-in)


class Authentication(AbstractAuthenticationMiddleware):
    """Sets `request.user` from the session (pages) or the bearer token (/api)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]
                                   ) -> AuthenticationResult:
        accounts: Accounts = connection.app.state.casework.accounts
        path = connection.scope["path"]
        if path.startswith(API) or (path.startswith(SCHEMA)
                                    and "authorization" in connection.headers):
            header = connection.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthorizedException("send an API token: Authorization: Bearer <token> "
                                             "(casework tokens create NAME makes one)")
            user = await anyio.to_thread.run_sync(accounts.token_user,
                                                  token_digest(token.strip()))
            if user is None:
                raise NotAuthorizedException("this API token is unknown or revoked")
            return AuthenticationResult(user=user, auth="token")
        session = connection.scope.get("session")
        name = session.get("user") if isinstance(session, dict) else None
        user = await anyio.to_thread.run_sync(accounts.user, name) if name else None
        if user is None or not user.active:
            raise NotAuthorizedException("sign in first")
        return AuthenticationResult(user=user, auth="session")


def allow(permission: Permission) -> Callable[[ASGIConnection[Any, Any, Any, Any],
                                               BaseRouteHandler], None]:
    """A guard: the user must hold `permission` (engine.kernel.roles.PERMISSIONS says which
    roles do; admin holds every one)."""
    allowed = holders(permission)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's own answer (204 and Allow), which runs no handler; authentication
            # lets OPTIONS through without a user, so without this a 500 (issue 20)
            return
        user: User = connection.user
        if not may(user.roles, permission):
            raise PermissionDeniedException(
                f"this needs the role {' or '.join(sorted(allowed))}; "
                f"{user.name} holds {', '.join(user.roles) or 'none'}")

    guard.__name__ = f"allow_{permission}"
    return guard


def csrf_bound_to_session(connection: ASGIConnection[Any, Any, Any, Any],
                          _: BaseRouteHandler) -> None:
    """A guard of every route: a change sent in a signed-in session must carry that session's
    own CSRF token. Litestar's CSRF check only compares the form's token with the cookie's,
    so a token and cookie pair of another session (an attacker's own, planted in the victim's
    browser) would pass it; the session's token cannot be planted."""
    if connection.scope.get("method", "GET") in SAFE_METHODS \
            or connection.scope["path"].startswith(API):
        return
    session = connection.scope.get("session")
    if not isinstance(session, dict) or "user" not in session:
        return  # not signed in (the sign-in form, the public pages): the cookie check only
    sent = ScopeState.from_scope(connection.scope).csrf_token
    own = session.get(CSRF_KEY)
    if not isinstance(sent, str) or not isinstance(own, str) or not compare_digest(sent, own):
        raise PermissionDeniedException("this form was not sent from this session's own page; "
                                        "reload the page and send it again (if this repeats, "
                                        "sign out and in)")


NEW_SESSION = "casework_new_session"


LOADED = "casework_loaded_session"


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, with two changes:

    - signing in starts a session under a new key: a key planted in a browser before sign-in
      (session fixation) never becomes one that is signed in;
    - a session is written only when it changed: a page view costs no database write (and no
      SQLite write lock), and an anonymous request (a health check, the sign-in form) leaves
      no row behind. A session therefore ends SESSION_HOURS after sign-in, however busy."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        if state.get(NEW_SESSION) is True:
            state[NEW_SESSION] = self.generate_session_id()
        if isinstance(state.get(NEW_SESSION), str):
            return str(state[NEW_SESSION])
        return super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]
                                   ) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope.setdefault("state", {})[LOADED] = dict(data)
        return data

    async def store_in_message(self, scope_session: Any, message: Any,
                               connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        state = connection.scope.setdefault("state", {})
        unchanged = scope_session is not Empty and NEW_SESSION not in state \
            and scope_session == state.get(LOADED, {})
        if not unchanged:
            await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def start_new_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Make the session written by this response one under a new key."""
    connection.scope.setdefault("state", {})[NEW_SESSION] = True


class SqlSessionStore(Store):
    """Litestar's session store on the `web_sessions` table."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
                  ) -> None:
        data = value.encode() if isinstance(value, str) else value
        seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
        expires = datetime.now(UTC) + timedelta(seconds=seconds) if seconds else None
        await anyio.to_thread.run_sync(self.accounts.save_session, key, data, expires)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await anyio.to_thread.run_sync(self.accounts.session, key, datetime.now(UTC))

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self.accounts.drop_sessions, [key])

    async def delete_all(self) -> None:
        await anyio.to_thread.run_sync(self.accounts.drop_sessions)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        expires = await anyio.to_thread.run_sync(self.accounts.session_expiry, key)
        if expires is None:
            return None
        return max(0, int((expires - datetime.now(UTC)).total_seconds()))
