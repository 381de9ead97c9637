"""Domain errors at the edge: JSON for /api, a page (or an HTMX fragment) for people."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from engine.errors import (
    CaseworkError,
    Conflict,
    DefinitionError,
    InvalidInput,
    NotFound,
    TransitionRefused,
)
from web.security import API


def status_of(exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, TransitionRefused) and exc.reason == "role":
        return HTTP_403_FORBIDDEN
    for kind, status in ((Conflict, HTTP_409_CONFLICT), (NotFound, HTTP_404_NOT_FOUND),
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
    if isinstance(exc, Conflict):
        body.update(case=exc.case_id, expected_version=exc.expected, version=exc.actual)
    if isinstance(exc, DefinitionError):
        body["problems"] = [{"line": p.line, "message": p.message} for p in exc.problems]
    extra = getattr(exc, "extra", None)
    if isinstance(exc, HTTPException) and extra:
        body["details"] = extra
    return body


def _message(exc: Exception, status: int) -> str:
    if status == HTTP_500_INTERNAL_SERVER_ERROR:
        return "casework failed to answer this request; the server log has the details"
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    return str(exc)


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = status_of(exc)
    if status == HTTP_500_INTERNAL_SERVER_ERROR:
        request.logger.exception("unhandled error on %s %s", request.method, request.url.path)
    if request.url.path.startswith(API) or request.url.path.startswith("/schema"):
        return Response(error_json(exc, status), status_code=status,
                        media_type=MediaType.JSON)
    if isinstance(exc, NotAuthorizedException) and status == HTTP_401_UNAUTHORIZED:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if getattr(request, "htmx", None):  # a fragment cannot show a login page: reload
            return Response("", status_code=status, headers={"HX-Redirect": "/login"})
        return Redirect(f"/login?next={target}" if target != "/" else "/login")
    user = request.scope.get("user")
    context = {"status": status, "message": _message(exc, status), "user": user,
               "forbidden": isinstance(exc, PermissionDeniedException),
               "missing": isinstance(exc, NotFound | NotFoundException)}
    return Template(template_name="error.html", context=context, status_code=status)
