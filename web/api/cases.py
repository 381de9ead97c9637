"""/api/cases: start a case, read it and its history, fire its triggers, comment, assign, and
list a queue's open cases."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from engine.cases.queues import PAGE, QueueQuery
from engine.cases.submissions import MAX_KEY, fire_once
from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.personal import refs_in_texts
from engine.kernel.records import CaseRecord
from engine.kernel.roles import Permission
from web.api.case_models import (
    Assign,
    Case,
    Comment,
    Fire,
    HistoryEvent,
    QueuePage,
    StartCase,
    case_of,
    clock_of,
    event_of,
    queued_of,
)
from web.api.common import SECURITY, ApiOperation, errors
from web.areas import area, get, post
from web.common import acting, assigning, casework_of, now_of
from web.inputs import parse_after
from web.security import allow

MAX_PAGE = 200
CaseId = Annotated[int, PathParameter(description="The case number")]
Trigger = Annotated[str, PathParameter(description="The trigger to fire, e.g. triage")]
ApiRequest = Request[User, Any, Any]
IdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", required=False, max_length=MAX_KEY,
    description="Any unique text per request (a UUID): the request applies once, however "
                "often it is sent with this key (kept for a day)")]


def case_json(request: ApiRequest, case: CaseRecord) -> Case:
    """The case as the API shows it: with its SLA clocks and what this user may fire."""
    casework, now = casework_of(request), now_of(request)
    reckoner = casework.runtime.scheduler.reckoner
    clocks = [clock_of(c, reckoner.spent(c, now)) for c in casework.timers.clocks(case.id)]
    fireable = casework.runtime.triggers_for(case, request.user.roles)
    return case_of(case, clocks, [t.trigger for t in fireable],
                   held=bool(casework.holds.on_case(case.id)))


@post("/", guards=[allow(Permission.WORK_CASES)], status_code=HTTP_201_CREATED,
      summary="Start a case", operation_class=ApiOperation, responses=errors(403, 422),
      response_description="The new case")
def start_case(request: ApiRequest, data: JSONBody[StartCase]) -> Case:
    """Open a case on the newest version of a workflow, as the token's user."""
    casework = casework_of(request)
    try:
        casework.registry.active(data.workflow)
    except NotFound as exc:  # a name in the body, not the resource asked for
        raise InvalidInput("workflow", str(exc)) from None
    case = casework.runtime.start(data.workflow, data.fields, acting(request.user),
                                  now_of(request), customer=data.customer)
    return case_json(request, case)


@get("/{case_id:int}", summary="Read a case",
     operation_class=ApiOperation, responses=errors(403, 404))
def read_case(request: ApiRequest, case_id: CaseId) -> Case:
    """A case with its fields, lock_version, SLA clocks and the triggers you may fire."""
    return case_json(request, casework_of(request).store.get_case(case_id))


@post("/{case_id:int}/fire/{trigger:str}", guards=[allow(Permission.WORK_CASES)],
      status_code=HTTP_200_OK, summary="Fire a trigger", operation_class=ApiOperation,
      responses=errors(403, 404, 409, 422), response_description="The case after the fire")
def fire(request: ApiRequest, case_id: CaseId, trigger: Trigger, data: JSONBody[Fire],
         key: IdempotencyKey = None) -> Response[Case]:
    """Fire a trigger on a case with the fields it takes; all or nothing: a refusal (role 403,
    state, guard or field 422, version 409) changes nothing. With an Idempotency-Key, a
    request sent again with the same key fires nothing and answers with the case as it is,
    marked `Idempotent-Replayed: true`."""
    casework = casework_of(request)
    case = casework.store.get_case(case_id)
    transition = casework.registry.get(case.definition_id).spec.transition(trigger, case.state)
    allowed = transition.roles if transition is not None else frozenset()
    applied = fire_once(casework.runtime, key, case_id, trigger,
                        acting(request.user, allowed), now_of(request), data.fields,
                        expected_version=data.expected_version)
    return Response(case_json(request, applied.case),
                    headers={"Idempotent-Replayed": "true"} if applied.again else None)


@post("/{case_id:int}/comments", guards=[allow(Permission.WORK_CASES)],
      status_code=HTTP_200_OK, summary="Comment on a case", operation_class=ApiOperation,
      responses=errors(403, 404, 409, 422), response_description="The case after the comment")
def comment(request: ApiRequest, case_id: CaseId, data: JSONBody[Comment]) -> Case:
    """Add a comment to the case's history (event case.commented)."""
    case = casework_of(request).desk.comment(case_id, data.text, acting(request.user),
                                             now_of(request), data.expected_version)
    return case_json(request, case)


@post("/{case_id:int}/assign", guards=[allow(Permission.WORK_CASES)],
      status_code=HTTP_200_OK, summary="Assign a case", operation_class=ApiOperation,
      responses=errors(403, 404, 409, 422), response_description="The case after the change")
def assign(request: ApiRequest, case_id: CaseId, data: JSONBody[Assign]) -> Case:
    """Claim a case, give it back, or (supervisor, manager) give it to someone."""
    user = request.user
    case = casework_of(request).desk.assign(case_id, data.assignee,
                                            assigning(user, data.assignee), now_of(request),
                                            data.expected_version)
    return case_json(request, case)


@get("/{case_id:int}/history",
     summary="A case's history", operation_class=ApiOperation, responses=errors(403, 404))
def history(request: ApiRequest, case_id: CaseId) -> list[HistoryEvent]:
    """Every event of the case, oldest first, each with the hashes that chain it."""
    casework = casework_of(request)
    casework.store.get_case(case_id)  # an unknown case is 404, not an empty history
    events = casework.store.case_events(case_id)
    values = casework.personal_data.values(refs_in_texts(e.payload for e in events))
    return [event_of(e, values) for e in events]


@get("/", summary="A queue's open cases",
     operation_class=ApiOperation, responses=errors(403, 422))
def queue(request: ApiRequest,
          queue: Annotated[str, QueryParameter(description="The queue, e.g. intake")],
          limit: Annotated[int, QueryParameter(description="Cases per page", ge=1,
                                               le=MAX_PAGE)] = PAGE,
          after: Annotated[str | None, QueryParameter(
              description="The `next` of the page before")] = None) -> QueuePage:
    """One page of the queue's open cases, soonest SLA due first; follow `next` for more."""
    found = casework_of(request).views.queue(QueueQuery(queue=queue, after=parse_after(after),
                                                        limit=limit))
    cursor = None
    if found.next_after is not None:
        moment, last = found.next_after
        cursor = f"{moment.isoformat()}~{last}"
    return QueuePage(queue=queue, cases=[queued_of(r) for r in found.rows], next=cursor)


ROUTER = area("/api/cases", Permission.READ_CASES, [
    start_case, read_case, fire, comment, assign, history, queue],
              tags=["cases"], security=SECURITY)
