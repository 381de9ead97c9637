"""Domain errors at the edge: JSON for /api, a page (or an HTMX fragment) for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from engine.kernel.errors import (
    Busy,
    CaseworkError,
    Conflict,
    DefinitionError,
    InvalidInput,
    NotFound,
    RoleRefused,
    TransitionRefused,
)
from web.security import API

log = logging.getLogger("casework.web")


def status_of(exc: Exception, api: bool = False) -> int:
    """The HTTP status of an error; on /api (`api`), a request Litestar could not read or
    validate is invalid input (422) rather than a bad request (400)."""
    if api and isinstance(exc, ClientException) and exc.status_code == HTTP_400_BAD_REQUEST:
        return HTTP_422_UNPROCESSABLE_ENTITY
    if isinstance(exc, HTTPException):
        return exc.status_code
    for kind, status in ((RoleRefused, HTTP_403_FORBIDDEN), (Conflict, HTTP_409_CONFLICT),
                         (Busy, HTTP_503_SERVICE_UNAVAILABLE),
                         (NotFound, HTTP_404_NOT_FOUND),
                         (CaseworkError, HTTP_422_UNPROCESSABLE_ENTITY)):
        if isinstance(exc, kind):
            return status
    return HTTP_500_INTERNAL_SERVER_ERROR


def error_json(exc: Exception, status: int) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "error": _message(exc, status)}
    if isinstance(exc, InvalidInput):
        body["field"] = exc.field
    if isinstance(exc, TransitionRefused):
        body.update(trigger=exc.trigger, reason=exc.reason)
        if exc.condition is not None:
            body["condition"] = exc.condition
    if isinstance(exc, Conflict):
        body.update(case=exc.case_id, expected_version=exc.expected, version=exc.actual)
    if isinstance(exc, Busy):
        body["retry_after"] = exc.retry_after
    if isinstance(exc, DefinitionError):
        body["problems"] = [{"line": p.line, "message": p.message} for p in exc.problems]
    extra = getattr(exc, "extra", None)
    if isinstance(exc, HTTPException) and extra:
        body["details"] = extra
    return body


def _message(exc: Exception, status: int) -> str:
    if status == HTTP_500_INTERNAL_SERVER_ERROR:
        return "casework failed to answer this request; the server log has the details"
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        return "invalid request: " + "; ".join(_problem(item) for item in exc.extra)
    if isinstance(exc, HTTPException) and isinstance(exc.__cause__, SerializationException):
        # the body did not decode
        return f"the request body could not be read: {exc.detail}"
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    return str(exc)


def _problem(item: Any) -> str:
    """One item of Litestar's validation report: where, and what is wrong there."""
    if not isinstance(item, dict):
        return str(item)
    source, key, message = item.get("source"), item.get("key"), item.get("message")
    if source == "body" and key == "data" and message == "'data'":  # Litestar's KeyError
        return "the request needs a JSON body"
    where = "the body" if source == "body" and key == "data" else \
        f"{source or 'request'} {'field' if source == 'body' else 'parameter'} '{key}'"
    return f"{where}: {message}"


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The answer to an error, with the headers the error carries (a 405's Allow)."""
    response = _answer(request, exc)
    if isinstance(exc, HTTPException) and exc.headers:
        for name, value in exc.headers.items():
            response.headers.setdefault(name, value)
    return response


def _answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    api = request.url.path.startswith(API)
    status = status_of(exc, api=api)
    if status == HTTP_500_INTERNAL_SERVER_ERROR:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
    # a busy database is a refusal for now: say when to come back (RFC 9110 Retry-After)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else {}
    if api or request.url.path.startswith("/schema"):
        return Response(error_json(exc, status), status_code=status,
                        media_type=MediaType.JSON, headers=headers)
    if isinstance(exc, NotAuthorizedException) and status == HTTP_401_UNAUTHORIZED:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if getattr(request, "htmx", None):  # a fragment cannot show a login page: reload
            return Response("", status_code=status, headers={"HX-Redirect": "/login"})
        return Redirect(f"/login?next={quote(target, safe='/')}" if target != "/" else "/login")
    user = request.scope.get("user")
    # (no unread count: the error may be the database's)
    context = {"status": status, "message": _message(exc, status), "user": user, "unread": None,
               "forbidden": isinstance(exc, PermissionDeniedException),
               "missing": isinstance(exc, NotFound | NotFoundException)}
    return Template(template_name="error.html", context=context, status_code=status,
                    headers=headers)
