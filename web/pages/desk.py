"""The service desk: queues with their counts, one queue's open cases, claim and assign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, FromPath
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_403_FORBIDDEN

from engine.cases.queues import SLA_STATES, SORTS, QueueQuery
from engine.kernel.accounts import User
from engine.kernel.errors import CaseworkError, RoleRefused
from engine.kernel.roles import PERMISSIONS, Permission
from web.areas import area, get, post
from web.common import assignment, casework_of, now_of
from web.inputs import parse_after
from web.queue_lines import queue_lines
from web.rendering import page
from web.security import allow

FILTERS = ("state", "severity", "tier", "assignee", "sla", "q", "sort")


@get("/")
def queues(request: Request[User, Any, Any]) -> Template:
    counts = casework_of(request).views.queue_counts()
    return page(request, "queues.html", "counts", user=request.user, counts=counts)


def queue_query(queue: str, params: Any, user: User) -> QueueQuery:
    sort = params.get("sort") or "due"
    if sort not in SORTS:
        raise ValidationException(f"sort {sort!r} is not one of {', '.join(SORTS)}")
    sla = params.get("sla") or None
    if sla is not None and sla not in SLA_STATES:
        raise ValidationException(f"SLA status {sla!r} is not one of {', '.join(SLA_STATES)}")
    assignee = params.get("assignee") or None
    return QueueQuery(queue=queue, state=params.get("state") or None,
                      severity=params.get("severity") or None, tier=params.get("tier") or None,
                      assignee=user.name if assignee == "me" else assignee, sla=sla,
                      search=params.get("q") or None, sort=sort,
                      after=parse_after(params.get("after")))


def _queue_page(request: Request[User, Any, Any], queue: str, params: Any,
                notes: list[str] | None = None, status_code: int = 200) -> Template:
    casework, now = casework_of(request), now_of(request)
    query = queue_query(queue, params, request.user)
    found = casework.views.queue(query)
    chosen = {k: params.get(k) or "" for k in FILTERS}
    following = {k: v for k, v in chosen.items() if v}
    next_link = None
    if found.next_after is not None:
        moment, last = found.next_after
        next_link = {**following, "after": f"{moment.isoformat()}~{last}"}
    titles = casework.registry.state_titles()
    shown = {**following, **({"after": params["after"]} if params.get("after") else {})}
    counts = next((c for c in casework.views.queue_counts() if c.queue == queue), None)
    people = [u.name for u in casework.accounts.users() if u.active
              and u.holds(*PERMISSIONS[Permission.WORK_CASES])]
    return page(request, "queue.html", "rows", status_code=status_code, user=request.user,
                queue=queue, page=found, chosen=chosen,
                lines=queue_lines(found.rows, now, titles),
                state_titles={state: title for (_, state), title in titles.items()},
                next_link=next_link, first=params.get("after") is None, sorts=SORTS,
                shown=shown, counts=counts,
                here=f"/queues/{quote(queue, safe='')}?{urlencode(following)}",
                sla_states=SLA_STATES, severities=casework.registry.severities(),
                tiers=casework.registry.tiers(now), people=people, notes=notes or [],
                may_assign=request.user.may(Permission.ASSIGN_CASES),
                may_claim=request.user.may(Permission.WORK_CASES))


@get("/{queue:str}")
def queue_page(request: Request[User, Any, Any], queue: FromPath[str]) -> Template:
    return _queue_page(request, queue, request.query_params)


@dataclass
class Assignment:
    """The queue page's claim and bulk-assign form: which cases (each at the version the
    page showed), to whom ("me" claims), and the filters to show the queue again with."""

    assignee: str = ""
    case: list[str] | str | None = None  # one ticked box comes as a plain string
    claim: str = ""  # a row's Claim button: this one case, to me
    state: str = ""
    severity: str = ""
    tier: str = ""
    sla: str = ""
    q: str = ""
    sort: str = ""
    filter_assignee: str = ""


@post("/{queue:str}/assign", guards=[allow(Permission.WORK_CASES)])
def assign_cases(request: Request[User, Any, Any], queue: FromPath[str],
                 data: Annotated[Assignment, Body(media_type=RequestEncodingType.URL_ENCODED)]
                 ) -> Template:
    """Claim or assign the ticked cases, each in its own transaction; say which could not be."""
    casework, user = casework_of(request), request.user
    if data.claim:
        data.assignee, data.case = "me", [data.claim]
    target, actor = assignment(user, data.assignee)
    notes: list[str] = []
    picked = [data.case] if isinstance(data.case, str) else [c for c in data.case or [] if c]
    if not picked:
        notes.append("Tick at least one case first.")
    forbidden = False
    for item in picked:
        number, _, version = item.partition("@")
        try:
            casework.desk.assign(int(number), target, actor, now_of(request),
                                 expected_version=int(version) if version else None)
            done = "claimed" if target == user.name else f"assigned to {target or 'nobody'}"
            notes.append(f"#{number}: {done}")
        except (CaseworkError, ValueError) as exc:
            # a role refusal answers 403, as the case page and the API do for the same case
            forbidden = forbidden or isinstance(exc, RoleRefused)
            notes.append(f"#{number}: {exc}")
    params = {"state": data.state, "severity": data.severity, "tier": data.tier,
              "sla": data.sla, "q": data.q, "sort": data.sort, "assignee": data.filter_assignee}
    return _queue_page(request, queue, params, notes,
                       status_code=HTTP_403_FORBIDDEN if forbidden else HTTP_200_OK)


ROUTER = area("/queues", Permission.READ_CASES, [queues, queue_page, assign_cases])
