"""How an area of the site is declared, once: a Router per area sets the permission all its
handlers need (a handler that changes things adds the stricter one), and handlers run on a
worker thread, since they call the engine, which blocks on the database.

Each pages or API module ends with `ROUTER = area("/queues", Permission.READ_CASES, [...])` and
decorates its handlers with `get`/`post` from here rather than Litestar's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import litestar
from litestar import Router
from litestar.handlers import HTTPRouteHandler

from engine.kernel.roles import Permission
from web.security import allow


def area(path: str, permission: Permission | None, handlers: Sequence[HTTPRouteHandler],
         **options: Any) -> Router:
    """The Router of one area: every handler under `path` needs `permission` (None: public)."""
    guards = [allow(permission)] if permission is not None else []
    return Router(path, route_handlers=list(handlers), guards=guards, **options)


Handler = Callable[..., Any]


def _threaded(verb: type[HTTPRouteHandler], path: str | Sequence[str] | None,
              options: dict[str, Any]) -> Callable[[Handler], HTTPRouteHandler]:
    def decorate(handler: Handler) -> HTTPRouteHandler:
        if not inspect.iscoroutinefunction(handler):
            options.setdefault("sync_to_thread", True)
        return verb(path, **options)(handler)

    return decorate


def get(path: str | Sequence[str] | None = None,
        **options: Any) -> Callable[[Handler], HTTPRouteHandler]:
    """litestar.get; a plain function runs on a worker thread unless `sync_to_thread=False`."""
    return _threaded(litestar.get, path, options)


def post(path: str | Sequence[str] | None = None,
         **options: Any) -> Callable[[Handler], HTTPRouteHandler]:
    """litestar.post; a plain function runs on a worker thread unless `sync_to_thread=False`."""
    return _threaded(litestar.post, path, options)


def patch(path: str | Sequence[str] | None = None,
          **options: Any) -> Callable[[Handler], HTTPRouteHandler]:
    """litestar.patch; a plain function runs on a worker thread unless `sync_to_thread=False`."""
    return _threaded(litestar.patch, path, options)
