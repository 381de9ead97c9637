"""The Litestar application: pages for people (Jinja2 + HTMX) and /api for systems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router

from engine.kernel.roles import Permission
from engine.kernel.settings import get_settings
from engine.kernel.signing import secret_key
from engine.wiring import Casework, open_casework
from web import api, pages
from web.api.closed_bodies import ClosedBodies
from web.errors import handle
from web.inputs import refuse_nul
from web.rendering import template_config
from web.security import (
    API,
    PUBLIC,
    Authentication,
    SessionConfig,
    SqlSessionStore,
)

STATIC = Path(__file__).parent / "static"
SESSION_HOURS = 10  # a working day and a bit: a desk signs in once a day
SIGN_INS_PER_MINUTE = 10  # per client address and server process: slows password guessing
# The menu: each area's page, its label, and the permission that opens it.
MENU = [("/queues", "Queues", Permission.READ_CASES),
        ("/my-cases", "My cases", Permission.WORK_CASES),
        ("/search", "Search", Permission.READ_CASES),
        ("/new/complaint", "New complaint", Permission.WORK_CASES),
        ("/customers", "Customers", Permission.READ_CUSTOMERS),
        ("/rules", "Rules", Permission.READ_RULES),
        ("/audit", "Audit", Permission.AUDIT),
        ("/dashboards", "Dashboards", Permission.VIEW_DASHBOARDS)]


def _is_sign_in(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path == "/login"


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(casework: Casework, secure_cookies: bool = False) -> Litestar:
    """The app over a running casework; the caller keeps and closes `casework`."""
    sessions = SessionConfig(max_age=SESSION_HOURS * 3600, secure=secure_cookies,
                             samesite="lax", exclude=[API])
    authentication = DefineMiddleware(Authentication, exclude=PUBLIC)
    csrf = CSRFConfig(secret=secret_key(casework.settings.home), cookie_secure=secure_cookies,
                      exclude=[API], cookie_samesite="strict")
    app = Litestar(
        # the schema at /schema describes the API for systems; the pages are for people
        route_handlers=[healthz, Router("/", route_handlers=pages.ROUTERS,
                                        include_in_schema=False),
                        *api.ROUTERS,
                        create_static_files_router(path="/static", directories=[STATIC],
                                                   include_in_schema=False)],
        middleware=[sessions.middleware, authentication,
                    RateLimitConfig(rate_limit=("minute", SIGN_INS_PER_MINUTE),
                                    check_throttle_handler=_is_sign_in).middleware],
        stores={"sessions": SqlSessionStore(casework.accounts)},
        csrf_config=csrf,
        template_config=template_config(),
        plugins=[HTMXPlugin(), ClosedBodies()],
        exception_handlers={Exception: handle},
        before_request=refuse_nul,  # text with NUL, which no database here can keep
        openapi_config=OpenAPIConfig(title="casework", version="1", path="/schema",
                                     # the schema as JSON and YAML only: the HTML viewers
                                     # would load their scripts from CDNs
                                     render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
                                     description="Cases, customers, decision tables and audit "
                                     "for other systems. Authenticate with an API token: "
                                     "Authorization: Bearer <token>.",
                                     use_handler_docstrings=True,
                                     components=Components(
                                         security_schemes=api.SECURITY_SCHEMES)),
    )
    app.state.casework = casework
    # the menu links to the areas this app serves that the user may open
    served = {route.path for route in app.routes}
    app.template_engine.engine.globals["menu"] = [  # type: ignore[union-attr]
        item for item in MENU if item[0] in served]
    # the header's unread count: one indexed count per signed-in page
    app.template_engine.engine.globals["unread"] = (  # type: ignore[union-attr]
        casework.notifications.unread)
    return app


def app_from_environment() -> Litestar:
    """For `uvicorn --factory web.app:app_from_environment` (each server process opens its
    own casework from CASEWORK_* settings)."""
    casework = open_casework(get_settings())
    app = create_app(casework)
    app.on_shutdown.append(casework.close)
    return app
