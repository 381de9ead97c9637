"""A legal hold shown where people look: a line on the case and customer pages (since when,
why), and `held` in the API's case and customer JSON."""

from __future__ import annotations

from collections.abc import Callable

from engine.cases.context import Actor
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import Auth, Client

MANAGER = Actor("max", "manager")


def test_a_held_case_and_customer_say_so(desk: Casework, client_as: Callable[[str], Client],
                                         api: Client, auth: Auth) -> None:
    case = desk.runtime.start("complaint", {"channel": "email", "summary": "Damaged"},
                              Actor("ann", "agent"), T0, customer="C1")
    ann = auth("ann")
    assert api.get(f"/api/cases/{case.id}", headers=ann).json()["held"] is False
    assert api.get("/api/customers/C1", headers=ann).json()["held"] is False
    agent = client_as("ann")
    assert "legal hold" not in agent.get(f"/cases/{case.id}").text
    desk.holds.place(MANAGER, "C1", None, "Claim <17> pending", T0)
    page = agent.get(f"/cases/{case.id}").text
    assert "Under a legal hold on customer C1 since" in page
    assert "Claim &lt;17&gt; pending" in page
    assert "Under a legal hold on customer C1" in agent.get("/customers/C1").text
    assert api.get(f"/api/cases/{case.id}", headers=ann).json()["held"] is True
    assert api.get("/api/customers/C1", headers=ann).json()["held"] is True
    assert api.get("/api/customers/C7", headers=ann).json()["held"] is False
