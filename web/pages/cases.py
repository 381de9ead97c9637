"""The case page: fields, customer, SLA clocks, the steps this user may take now, comments
and the history told as one entry per step (engine/cases/story.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from engine.cases.offers import offers
from engine.cases.story import newest_first, story
from engine.cases.submissions import fire_once
from engine.kernel.accounts import User
from engine.kernel.errors import Busy, CaseworkError, Conflict, NotFound, TransitionRefused
from engine.kernel.personal import refs_in_texts
from engine.kernel.roles import Permission
from engine.kernel.specs import TransitionSpec, WorkflowSpec
from web.areas import area, get, post
from web.common import acting, assignment, casework_of, now_of
from web.errors import status_of
from web.rendering import page
from web.security import allow

Form = Mapping[str, Any]
ALREADY_APPLIED = "This step was already applied: this is the case as it is now."
# what the case page's conversation box offers, in this order
KIND_CHOICES = (("to_customer", "Reply to the customer"), ("note", "Internal note"),
                ("from_customer", "The customer's message (from a call or a visit)"))
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def case_page_with(request: Request[User, Any, Any], case_id: int, status_code: int = 200,
               error: dict[str, str] | None = None, notice: str | None = None,
               given: dict[str, str] | None = None) -> Template:
    casework = casework_of(request)
    case = casework.store.get_case(case_id)
    spec = casework.registry.get(case.definition_id).spec
    now = now_of(request)
    reckoner = casework.runtime.scheduler.reckoner
    clocks = [(c, reckoner.spent(c, now)) for c in casework.timers.clocks(case.id)]
    customer = None
    if case.customer:
        try:
            customer = casework.customers.customer(case.customer).record
        except NotFound:
            customer = None
    events = casework.store.case_events(case.id)
    told = story(events, spec, casework.personal_data.values(
        refs_in_texts(e.payload for e in events)))
    return page(request, "case.html", "case", status_code=status_code, user=request.user,
                case=case, spec=spec, clocks=clocks, customer=customer,
                history=newest_first(told),
                conversation=casework.conversation.entries(case.id), kinds=KIND_CHOICES,
                responses=casework.responses,
                fireable=offers(casework.runtime, case, request.user.name, request.user.roles,
                                now),
                error=error or {}, notice=notice, given=given or {}, now=now,
                may_work=request.user.may(Permission.WORK_CASES),
                holds=casework.holds.on_case(case.id))


@get("/{case_id:int}")
def case_page(request: Request[User, Any, Any], case_id: FromPath[int]) -> Template:
    return case_page_with(request, case_id)


def form_inputs(spec: WorkflowSpec, transition: TransitionSpec,
                form: Form) -> dict[str, Any]:
    """The fields a form gave for a fire: blanks are left out (not given), a ticked box is
    true, a list field takes one item per line."""
    given: dict[str, Any] = {}
    for name in transition.inputs:
        field = spec.fields[name]
        if field.type == "bool":
            raw = form.get(name)
            if raw is not None:
                given[name] = raw
            continue
        raw = (form.get(name) or "").strip()
        if not raw:
            continue
        given[name] = [x.strip() for x in raw.splitlines() if x.strip()] \
            if field.type == "list" else raw
    return given


def after_change(request: Request[User, Any, Any], case_id: int) -> Response[Any]:
    if getattr(request, "htmx", None):  # fetch the case block into #case; keep the page frame
        where = {"path": f"/cases/{case_id}", "target": "#case", "swap": "outerHTML"}
        return Response("", headers={"HX-Location": json.dumps(where)})
    return Redirect(f"/cases/{case_id}", status_code=HTTP_303_SEE_OTHER)


def refused_page(request: Request[User, Any, Any], case_id: int, where: str, exc: CaseworkError,
             given: dict[str, str]) -> Template:
    if isinstance(exc, Conflict):  # show the case as it is now, and say why
        return case_page_with(request, case_id, status_code=status_of(exc), notice=(
            "Someone else changed this case while you had it open. This is the case as it "
            "is now: check it, then try again."))
    said = exc.detail if isinstance(exc, TransitionRefused) else str(exc)  # in words
    shown = case_page_with(request, case_id, status_code=status_of(exc),
                           error={where: said}, given=given)
    if isinstance(exc, Busy):  # the form as it was, and when to send it again
        shown.headers["Retry-After"] = str(exc.retry_after)
    return shown


@post("/{case_id:int}/fire/{trigger:str}", guards=[allow(Permission.WORK_CASES)])
def fire(request: Request[User, Any, Any], case_id: FromPath[int], trigger: FromPath[str],
         data: FormBody) -> Any:
    form = data
    casework = casework_of(request)
    given = {k: v for k, v in form.items() if k not in ("version", "_csrf_token", "form_key")}
    try:
        case = casework.store.get_case(case_id)
        spec = casework.registry.get(case.definition_id).spec
        transition = spec.transition(trigger, case.state)
        allowed = transition.roles if transition is not None else frozenset()
        inputs = form_inputs(spec, transition, form) if transition is not None else {}
        applied = fire_once(casework.runtime, form.get("form_key"), case_id, trigger,
                            acting(request.user, allowed), now_of(request), inputs,
                            expected_version=form_version(form))
    except CaseworkError as exc:
        return refused_page(request, case_id, trigger, exc, given)
    if applied.again:  # the same form sent twice: say so, with the case as it is
        return case_page_with(request, case_id, notice=ALREADY_APPLIED)
    return after_change(request, case_id)


@post("/{case_id:int}/comments", guards=[allow(Permission.WORK_CASES)])
def comment(request: Request[User, Any, Any], case_id: FromPath[int],
            data: FormBody) -> Any:
    form = data
    try:
        casework_of(request).desk.comment(case_id, form.get("text") or "",
                                          acting(request.user), now_of(request),
                                          expected_version=form_version(form))
    except CaseworkError as exc:
        return refused_page(request, case_id, "comment", exc, {"text": form.get("text") or ""})
    return after_change(request, case_id)


@post("/{case_id:int}/assign", guards=[allow(Permission.WORK_CASES)])
def assign(request: Request[User, Any, Any], case_id: FromPath[int],
           data: FormBody) -> Any:
    form = data
    wanted = (form.get("assignee") or "").strip()
    target, actor = assignment(request.user, wanted)
    try:
        casework_of(request).desk.assign(case_id, target, actor, now_of(request),
                                         expected_version=form_version(form))
    except CaseworkError as exc:
        return refused_page(request, case_id, "assign", exc, {})
    return after_change(request, case_id)


def form_version(form: Form) -> int | None:
    text = form.get("version")
    return int(text) if text and text.isdigit() else None


ROUTER = area("/cases", Permission.READ_CASES, [case_page, fire, comment, assign])
