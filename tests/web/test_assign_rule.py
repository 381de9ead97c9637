"""One rule decides who may assign (engine.cases.desk.assignment_refusal): every role gets the
same answer for the same assignment from the case page, the queue's bulk form and the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.cases.runtime import Actor
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import PEOPLE, Auth, Client, csrf

ACTIONS = {"claim": lambda name: name, "give to bob": lambda name: "bob",
           "take from bob": lambda name: name}


def new_case(desk: Casework, held_by: str | None) -> int:
    case = desk.runtime.start("complaint", {"channel": "web", "summary": "Parcel late"},
                              Actor("ann", "agent"), T0, customer="C1")
    if held_by is not None:
        desk.desk.assign(case.id, held_by, Actor(held_by, "agent"), T0)
    return case.id


def answer(status: int) -> str:
    return "allowed" if status < 400 else "refused" if status == 403 else f"status {status}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_role_gets_one_answer_from_the_three_assign_routes(
        desk: Casework, client_as: Callable[[str], Client], api: Client, auth: Auth) -> None:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for name, role in PEOPLE.items():
        if name == "bob":
            continue
        page, token = client_as(name), auth(name)
        for action, target in ACTIONS.items():
            held = "bob" if action == "take from bob" else None
            assignee = target(name)
            one, bulk, api_case = (new_case(desk, held) for _ in range(3))
            found[(role, action)] = {
                "case page": answer(page.post(f"/cases/{one}/assign", data={
                    "assignee": assignee, **csrf(page)}, follow_redirects=False).status_code),
                "bulk form": answer(page.post("/queues/intake/assign", data={
                    "case": str(bulk), "assignee": assignee, **csrf(page)}).status_code),
                "api": answer(api.post(f"/api/cases/{api_case}/assign", headers=token,
                                       json={"assignee": assignee}).status_code)}
    differing = {key: routes for key, routes in found.items() if len(set(routes.values())) > 1}
    assert differing == {}
    verdict = {key: next(iter(routes.values())) for key, routes in found.items()}
    assert verdict[("agent", "claim")] == verdict[("account_manager", "claim")] == "allowed"
    assert verdict[("account_manager", "give to bob")] == "refused"
    assert verdict[("account_manager", "take from bob")] == "refused"
    assert verdict[("supervisor", "give to bob")] == verdict[("admin", "take from bob")] \
        == "allowed"
    assert {verdict[("auditor", action)] for action in ACTIONS} == {"refused"}
