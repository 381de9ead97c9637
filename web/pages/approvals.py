"""Four-eyes publishing in the browser: the publication requests waiting for a second manager,
and a page per request with its diff against the active version, its test results and, for a
table customers are tiered by, the simulation; approve, reject with a reason, or withdraw.

The rules (not one's own request, not a stale one) are engine/workflows/approvals.py's; a
refusal is shown on the request's page with the status its class calls for, nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_303_SEE_OTHER,
    HTTP_403_FORBIDDEN,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from engine.jobs.tiering import Simulation
from engine.kernel.accounts import User
from engine.kernel.errors import ApprovalRefused, CaseworkError, SelfApproval
from engine.kernel.records import DefinitionRecord
from engine.kernel.roles import Permission
from engine.rules.loading import load_table_text
from engine.rules.tables import TestResult, run_tests
from engine.workflows.approvals import PublicationRequest, RequestState
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.pages.rule_editing import not_offered
from web.pages.rules import DiffLine, diff_lines
from web.rendering import page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@dataclass(frozen=True)
class Review:
    """What a second manager sees of a request before deciding it."""

    request: PublicationRequest
    base: DefinitionRecord | None  # the version active when it was proposed
    active: DefinitionRecord | None  # the version active now
    lines: list[DiffLine]
    tests: list[TestResult]
    simulation: Simulation | None
    simulation_note: str | None

    @property
    def stale(self) -> bool:
        return (self.base.id if self.base else None) != (self.active.id if self.active else None)


def _active(request: Request[User, Any, Any], kind: str, name: str) -> DefinitionRecord | None:
    store = casework_of(request).store
    if kind == "table":
        published = store.publications("table", name)
        return published[0] if published else None
    newest = [d for d in store.definitions("workflow") if d.name == name]
    return newest[-1] if newest else None


def _review(request: Request[User, Any, Any], found: PublicationRequest) -> Review:
    casework = casework_of(request)
    p = found.proposal
    base = casework.store.definition_by_id(p.base_id) if p.base_id is not None else None
    proposed = DefinitionRecord(0, p.kind, p.name, p.version, p.content_hash, p.source,
                                p.source_path, p.proposed_at)
    tests: list[TestResult] = []
    simulation, note = None, None
    if p.kind == "table":
        spec = load_table_text(p.source, p.source_path)
        tests = run_tests(spec)
        if not not_offered(spec) and base is not None and found.state == RequestState.PENDING:
            now = now_of(request)
            try:
                simulation = casework.tiering.simulate(
                    spec, casework.tiering.figures_as_of(now), now, None)
            except CaseworkError as exc:  # no figures yet, too few buyers
                note = f"no simulation: {exc}"
    return Review(found, base, _active(request, p.kind, p.name),
                  diff_lines(base, proposed) if base else [], tests, simulation, note)


def _page(request: Request[User, Any, Any], found: PublicationRequest,
          message: str | None = None, status_code: int = HTTP_200_OK) -> Template:
    review = _review(request, found)
    axis = review.simulation.values if review.simulation else []
    return page(request, "approval.html", user=request.user, review=review, axis=axis,
                message=message, status_code=status_code, me=request.user.name)


def _refused(request: Request[User, Any, Any], request_id: int, exc: CaseworkError) -> Template:
    status = (HTTP_403_FORBIDDEN if isinstance(exc, SelfApproval) else HTTP_409_CONFLICT
              if isinstance(exc, ApprovalRefused) else HTTP_422_UNPROCESSABLE_ENTITY)
    return _page(request, casework_of(request).approvals.get(request_id), str(exc), status)


def _see(request: Request[User, Any, Any], target: str) -> Response[Any]:
    if getattr(request, "htmx", None):
        return Response("", status_code=HTTP_200_OK, headers={"HX-Redirect": target})
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


@get("/")
def approvals_index(request: Request[User, Any, Any]) -> Template:
    requests = casework_of(request).approvals.listing(limit=100)
    return page(request, "approvals.html", user=request.user, me=request.user.name,
                pending=[r for r in requests if r.state == RequestState.PENDING],
                decided=[r for r in requests if r.state != RequestState.PENDING][:30])


@get("/{request_id:int}")
def approval_page(request: Request[User, Any, Any], request_id: FromPath[int]) -> Template:
    return _page(request, casework_of(request).approvals.get(request_id))


@post("/{request_id:int}/approve")
def approve(request: Request[User, Any, Any], request_id: FromPath[int],
            data: FormBody) -> Template | Response[Any]:
    try:
        done = casework_of(request).registry.approve(request_id, request.user.name,
                                                     now_of(request))
    except CaseworkError as exc:
        return _refused(request, request_id, exc)
    return _see(request, f"/rules/{done.kind}s/{done.name}?published={done.version}")


@post("/{request_id:int}/reject")
def reject(request: Request[User, Any, Any], request_id: FromPath[int],
           data: FormBody) -> Template | Response[Any]:
    try:
        casework_of(request).registry.reject(request_id, request.user.name, now_of(request),
                                             str(data.get("reason") or ""))
    except CaseworkError as exc:
        return _refused(request, request_id, exc)
    return _see(request, f"/rules/approvals/{request_id}")


@post("/{request_id:int}/withdraw")
def withdraw(request: Request[User, Any, Any], request_id: FromPath[int],
             data: FormBody) -> Template | Response[Any]:
    try:
        casework_of(request).registry.withdraw(request_id, request.user.name, now_of(request))
    except CaseworkError as exc:
        return _refused(request, request_id, exc)
    return _see(request, f"/rules/approvals/{request_id}")


ROUTER = area("/rules/approvals", Permission.EDIT_RULES, [
    approvals_index, approval_page, approve, reject, withdraw])
