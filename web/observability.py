"""What a server tells its operator: an access log line per request, request counts and
latency by route for Prometheus, /metrics and /readyz.

`Observed` wraps the whole application (outside Litestar's router), so that every request is
seen, those no route serves (404, 405) and those a middleware refused (401, 403, 429) too.
The route is the matched path template (`/cases/{case_id}`), never the raw path: a label
per case number, or per path a scanner tries, would grow the metrics without end.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from typing import Any

import anyio
from litestar import MediaType, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from engine.jobs.metrics import exposition
from engine.kernel.logs import FIELDS
from web.clients import client_address
from web.common import casework_of

log = logging.getLogger("casework.access")

REQUESTS = Counter("casework_http_requests", "HTTP requests answered, by method, route and "
                   "status", ["method", "route", "status"])
LATENCY = Histogram("casework_http_request_duration_seconds", "Time to answer a request, by "
                    "method and route", ["method", "route"],
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # what a proxy's request id looks like
# generate_latest's text format (Litestar adds the charset)
EXPOSITION = "text/plain; version=0.0.4"
UNMATCHED = "unmatched"  # the route label of a request no route serves


class Observed:
    """The application, with each HTTP request timed, counted and logged when it is answered."""

    def __init__(self, app: ASGIApp, proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.proxies = proxies  # CASEWORK_TRUSTED_PROXIES: whose X-Forwarded-For is believed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given and REQUEST_ID.match(given) else uuid.uuid4().hex
        status = 500  # what the log says if the app fails before it answers

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            _record(scope, status, time.perf_counter() - began, request_id, self.proxies)


def _record(scope: HTTPScope, status: int, seconds: float, request_id: str,
            proxies: tuple[str, ...]) -> None:
    route = scope.get("path_template") or UNMATCHED
    method = scope["method"]
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if log.isEnabledFor(logging.INFO):
        user = scope.get("user")
        log.info("%s %s %s", method, scope["path"], status, extra={FIELDS: {
            "method": method, "path": scope["path"], "route": route, "status": status,
            "ms": round(seconds * 1000, 2), "user": getattr(user, "name", None),
            "client": client_address(ASGIConnection(scope), proxies),
            "request_id": request_id}})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus's scrape: needs `Authorization: Bearer <CASEWORK_METRICS_TOKEN>`."""
    casework = casework_of(request)
    token = casework.settings.metrics_token
    sent = request.headers.get("authorization", "").partition(" ")[2].strip()
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        return Response(b"metrics need Authorization: Bearer <the CASEWORK_METRICS_TOKEN>; "
                        b"set CASEWORK_METRICS_TOKEN on the server to turn them on\n",
                        status_code=HTTP_403_FORBIDDEN, media_type=MediaType.TEXT)
    body = await anyio.to_thread.run_sync(exposition, casework.operating,
                                          casework.settings.clock)
    return Response(body, media_type=EXPOSITION)


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """For a load balancer: 200 when the database answers and its schema is this casework's;
    503 with the reason otherwise (/healthz only says the process runs)."""
    reason = await anyio.to_thread.run_sync(casework_of(request).operating.ready)
    if reason is None:
        return Response({"status": "ready"})
    return Response({"status": "not ready", "reason": reason},
                    status_code=HTTP_503_SERVICE_UNAVAILABLE)
