"""The Litestar application: pages for people (Jinja2 + HTMX) and /api for systems."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router

from engine.jobs.metrics import count_fire
from engine.kernel.logs import configure_logging
from engine.kernel.roles import Permission
from engine.kernel.settings import get_settings
from engine.kernel.signing import secret_key
from engine.wiring import Casework, open_casework
from web import api, pages
from web.api.closed_bodies import ClosedBodies
from web.errors import handle
from web.headers import security_headers
from web.inputs import refuse_nul
from web.observability import Observed, metrics, readyz
from web.rendering import template_config
from web.security import (
    API,
    PUBLIC,
    SCHEMA,
    Authentication,
    SessionConfig,
    SqlSessionStore,
    csrf_bound_to_session,
)

STATIC = Path(__file__).parent / "static"
SESSION_HOURS = 10  # a working day and a bit: a desk signs in once a day
# The menu: each area's page, its label, and the permission that opens it.
MENU = [("/queues", "Queues", Permission.READ_CASES),
        ("/my-cases", "My cases", Permission.WORK_CASES),
        ("/search", "Search", Permission.READ_CASES),
        ("/new/complaint", "New complaint", Permission.WORK_CASES),
        ("/customers", "Customers", Permission.READ_CUSTOMERS),
        ("/rules", "Rules", Permission.READ_RULES),
        ("/jobs", "Jobs", Permission.EDIT_RULES),
        ("/audit", "Audit", Permission.AUDIT),
        ("/dashboards", "Dashboards", Permission.VIEW_DASHBOARDS),
        ("/admin/users", "Admin", Permission.ADMINISTER)]


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(casework: Casework) -> Litestar:
    """The app over a running casework; the caller keeps and closes `casework`.
    Cookies carry `Secure` as CASEWORK_SECURE_COOKIES says (web.headers)."""
    sessions = SessionConfig(max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax",
                             exclude=[API])
    public = PUBLIC + ([SCHEMA] if casework.settings.web.public_schema else [])
    authentication = DefineMiddleware(Authentication, exclude=public)
    csrf = CSRFConfig(secret=secret_key(casework.settings.home), exclude=[API],
                      cookie_httponly=True, cookie_samesite="lax")
    app = Litestar(
        # the schema at /schema describes the API for systems; the pages are for people
        route_handlers=[healthz, readyz, metrics,
                        Router("/", route_handlers=pages.ROUTERS, include_in_schema=False),
                        *api.ROUTERS,
                        create_static_files_router(path="/static", directories=[STATIC],
                                                   include_in_schema=False)],
        middleware=[sessions.middleware, authentication],
        # sign-ins are throttled in the database, per address and name (engine.kernel.sign_ins)
        guards=[csrf_bound_to_session],
        before_send=[security_headers],  # on every response, errors and 404s too
        stores={"sessions": SqlSessionStore(casework.accounts)},
        csrf_config=csrf,
        template_config=template_config(),
        plugins=[HTMXPlugin(), ClosedBodies()],
        exception_handlers={Exception: handle},
        # the processes' logging is casework's (engine.kernel.logs, set up by `casework serve`):
        # Litestar's own would replace it with its format
        logging_config=None,
        before_request=refuse_nul,  # text with NUL, which no database here can keep
        openapi_config=OpenAPIConfig(title="casework", version="1", path=SCHEMA,
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
    # every request, answered or refused, is timed, counted and logged
    app.asgi_handler = Observed(app.asgi_handler, casework.settings.web.trusted_proxies)
    if count_fire not in casework.runtime.observers:
        casework.runtime.observers.append(count_fire)
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
    settings = get_settings()
    configure_logging(settings.log_format)  # a process of its own: it logs as its parent
    casework = open_casework(settings)
    app = create_app(casework)
    app.on_shutdown.append(casework.close)
    return app
