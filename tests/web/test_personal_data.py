"""A customer's personal data on the customer's page and through the API: managers and admins
download everything held and erase it; others may not."""

from __future__ import annotations

import html
import json
from collections.abc import Callable

from engine.cases.runtime import Actor
from engine.wiring import Casework
from tests.web_fixtures import NOW, Auth, Client, csrf

SUMMARY = "Li Wei's router 88-LW died again"


def _held(desk: Casework) -> int:
    desk.customer_editor.create("P1", {"name": "Li Wei", "email": "li.wei@example.cn"},
                                "max", "manager", NOW)
    return desk.runtime.start("complaint", {"channel": "web", "summary": SUMMARY},
                              Actor("ann", "agent"), NOW, customer="P1").id


def test_a_manager_downloads_and_erases_on_the_customer_page(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    case_id = _held(desk)
    manager = client_as("max")
    shown = manager.get("/customers/P1")
    assert "Download everything held about this customer" in shown.text
    download = manager.get("/customers/P1/personal-data")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="customer-P1-personal-data.json"')
    assert json.loads(download.content)["cases"][0]["fields"]["summary"] == SUMMARY
    unconfirmed = manager.post("/customers/P1/erase", data={
        "reason": "asked by phone", "confirm": "P2", **csrf(manager)}, follow_redirects=False)
    assert unconfirmed.status_code == 422
    assert "type the customer's id (P1)" in html.unescape(unconfirmed.text)
    assert desk.customers.customer("P1").record.name == "Li Wei"  # nothing erased
    erased = manager.post("/customers/P1/erase", data={
        "reason": "asked by phone", "confirm": "P1", **csrf(manager)})
    assert erased.status_code == 200 and "personal data was erased" in erased.text
    assert desk.customers.customer("P1").record.name is None
    case_page = manager.get(f"/cases/{case_id}").text
    assert SUMMARY not in case_page and "erased" in case_page
    assert desk.verify_history()[2] == []


def test_an_agent_sees_neither_the_download_nor_the_erasure(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    _held(desk)
    agent = client_as("ann")
    assert "Download everything held" not in agent.get("/customers/P1").text
    assert agent.get("/customers/P1/personal-data").status_code == 403
    refused = agent.post("/customers/P1/erase", data={"reason": "x", "confirm": "P1",
                                                     **csrf(agent)})
    assert refused.status_code == 403
    assert desk.customers.customer("P1").record.name == "Li Wei"


def test_the_api_exports_and_erases_for_managers_only(desk: Casework, api: Client,
                                                      auth: Auth) -> None:
    case_id = _held(desk)
    assert api.get("/api/customers/P1/personal-data", headers=auth("ann")).status_code == 403
    exported = api.get("/api/customers/P1/personal-data", headers=auth("max")).json()
    assert exported["customer"]["email"] == "li.wei@example.cn"
    history = api.get(f"/api/cases/{case_id}/history", headers=auth("ann")).json()
    marker = history[0]["payload"]["fields"]["summary"]["$personal"]
    assert history[0]["personal"] == {marker: SUMMARY}
    done = api.post("/api/customers/P1/erasure", json={"reason": "request 2026-12-01"},
                    headers=auth("root"))
    assert done.status_code == 200, done.text
    assert done.json()["cases"] == [case_id]
    again = api.post("/api/customers/P1/erasure", json={"reason": "again"},
                     headers=auth("root"))
    assert again.status_code == 422 and "erased already" in again.text
    assert api.post("/api/customers/nobody/erasure", json={"reason": "x"},
                    headers=auth("root")).status_code == 404
    history = api.get(f"/api/cases/{case_id}/history", headers=auth("ann")).json()
    assert history[0]["personal"][marker]["erased"]["by"] == "root"
