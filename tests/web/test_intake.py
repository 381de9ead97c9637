"""Intake in the browser and the customer API: a new complaint (customer lookup by id, name,
phone or email, created inline when unknown), a new customer, and POST/PATCH /api/customers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import Auth, Client, csrf

HTMX = {"HX-Request": "true"}


def test_the_api_creates_and_changes_a_customer(api: Client, auth: Auth,
                                                desk: Casework) -> None:
    ann = auth("ann")
    made = api.post("/api/customers", headers=ann, json={
        "id": "N100", "name": "李娜", "phone": "+86 138 0013 8000", "type": "enterprise"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["id"], body["name"], body["type"], body["status"]) == \
        ("N100", "李娜", "enterprise", "active")
    assert [e["name"] for e in body["history"]] == ["customer.created"]
    changed = api.patch("/api/customers/N100", headers=ann,
                        json={"email": "li.na@example.com", "phone": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["email"], changed.json()["phone"], changed.json()["name"]) == \
        ("li.na@example.com", None, "李娜")  # left out: unchanged; null: cleared
    assert desk.customers.customer("N100").record.email == "li.na@example.com"


@pytest.mark.parametrize(("body", "field"), [
    ({"id": "C1"}, "id"),  # taken
    ({"id": "bad id"}, "id"),
    ({"id": "N5", "email": "nope"}, "email"),
    ({"id": "N5", "status": "asleep"}, "status"),
    ({"id": "N5", "owner": "nobody"}, "owner"),
])
def test_a_refused_customer_names_the_field_and_stores_nothing(
        api: Client, auth: Auth, desk: Casework, body: dict[str, str], field: str) -> None:
    refused = api.post("/api/customers", headers=auth("ann"), json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert desk.search.search("N5", 5) == []


def test_patch_refuses_unknown_fields_customers_and_roles(api: Client, auth: Auth) -> None:
    unknown = api.patch("/api/customers/C1", headers=auth("ann"), json={"tier": "strategic"})
    assert unknown.status_code == 422 and "tier" in unknown.text
    missing = api.patch("/api/customers/N404", headers=auth("ann"), json={"name": "x"})
    assert missing.status_code == 404
    auditor = api.patch("/api/customers/C1", headers=auth("ada"), json={"name": "x"})
    assert auditor.status_code == 403
    assert api.post("/api/customers", headers=auth("ada"), json={"id": "N9"}).status_code == 403


def test_the_schema_documents_customer_create_and_update(api: Client, auth: Auth) -> None:
    schema = api.get("/schema/openapi.json", headers=auth("ann")).json()
    operations = schema["paths"]["/api/customers"]["post"], \
        schema["paths"]["/api/customers/{customer_id}"]["patch"]
    for operation in operations:
        assert {"201", "200"} & set(operation["responses"])
        assert "422" in operation["responses"] and "400" not in operation["responses"]
    change = schema["components"]["schemas"]["CustomerChange"]
    assert "required" not in change or not change["required"]  # every key may be left out
    assert "id" in schema["components"]["schemas"]["NewCustomer"]["required"]


def test_the_lookup_finds_a_customer_by_id_name_phone_or_email(
        client_as: Callable[[str], Client], desk: Casework) -> None:
    desk.customer_editor.create("N7", {"name": "Wang Fang", "email": "wf@example.com",
                                       "phone": "+86 (10) 6552-9988"}, "ann", "agent", T0)
    ann = client_as("ann")
    for lookup in ("N7", "wang", "WF@EXAMPLE", "6552 9988", "+86 10 65529988"):
        found = ann.get("/new/complaint", params={"lookup": lookup},
                        headers={**HTMX, "HX-Target": "found"})
        assert found.status_code == 200
        assert "/new/complaint?customer=N7" in found.text, lookup
        assert "<h1>" not in found.text  # the block alone
    picked = ann.get("/new/complaint", params={"customer": "N7"},
                     headers={**HTMX, "HX-Target": "picked"})
    assert 'name="customer" value="N7" form="complaint"' in picked.text


def test_an_unknown_customer_is_created_inline_and_picked(
        client_as: Callable[[str], Client], desk: Casework) -> None:
    ann = client_as("ann")
    unknown = ann.get("/new/complaint", params={"lookup": "zhao.lei@example.com"},
                      headers={**HTMX, "HX-Target": "found"})
    assert "No customer matches" in unknown.text
    assert 'value="zhao.lei@example.com"' in unknown.text  # the form starts with the email
    bad = ann.post("/new/customer", headers={**HTMX, "HX-Target": "found"},
                   data={**csrf(ann), "then": "complaint", "id": "bad id", "type": "personal",
                         "email": "zhao.lei@example.com"})
    assert bad.status_code == 422 and "may hold letters, digits" in bad.text
    made = ann.post("/new/customer", headers={**HTMX, "HX-Target": "found"},
                    data={**csrf(ann), "then": "complaint", "id": "N8", "name": "Zhao Lei",
                          "type": "personal", "email": "zhao.lei@example.com"})
    assert made.status_code == 200, made.text
    assert 'id="picked" class="picked" hx-swap-oob="true"' in made.text
    assert 'name="customer" value="N8"' in made.text
    assert desk.customers.customer("N8").record.name == "Zhao Lei"
    # without JavaScript: back to the complaint page with the customer picked
    plain = ann.post("/new/customer", follow_redirects=False,
                     data={**csrf(ann), "then": "complaint", "id": "N9", "type": "personal"})
    assert plain.status_code == 303 and plain.headers["location"] == "/new/complaint?customer=N9"


def test_a_complaint_starts_and_lands_on_its_case_page(
        client_as: Callable[[str], Client], desk: Casework) -> None:
    ann = client_as("ann")
    page = ann.get("/new/complaint")
    assert page.status_code == 200 and "Open the complaint" in page.text
    missing = ann.post("/new/complaint", data={**csrf(ann), "channel": "phone",
                                               "summary": "No answer"})
    assert missing.status_code == 422 and "pick the customer" in missing.text
    started = ann.post("/new/complaint", follow_redirects=False, data={
        **csrf(ann), "customer": "C1", "channel": "phone", "category": "billing",
        "severity": "high", "summary": "账单重复扣款 客户投诉"})
    assert started.status_code == 303, started.text
    case_id = int(started.headers["location"].removeprefix("/cases/"))
    case = desk.store.get_case(case_id)
    assert (case.customer, case.fields["channel"], case.fields["summary"]) == \
        ("C1", "phone", "账单重复扣款 客户投诉")
    assert all(e.actor == "ann" for e in desk.store.case_events(case_id))


def test_a_refused_field_keeps_what_was_typed(client_as: Callable[[str], Client]) -> None:
    ann = client_as("ann")
    refused = ann.post("/new/complaint", data={**csrf(ann), "customer": "C1",
                                               "channel": "pigeon", "summary": "Kept text"})
    assert refused.status_code == 422
    assert "channel" in refused.text and "Kept text" in refused.text


def test_the_new_customer_page(client_as: Callable[[str], Client], desk: Casework) -> None:
    sam = client_as("sam")
    assert sam.get("/new/customer").status_code == 200
    refused = sam.post("/new/customer", data={**csrf(sam), "id": "N20", "type": "personal",
                                              "status": "active", "phone": "abc"})
    assert refused.status_code == 422 and "not a phone number" in refused.text
    assert 'value="N20"' in refused.text
    made = sam.post("/new/customer", follow_redirects=False, data={
        **csrf(sam), "id": "N20", "name": "Acme Ltd", "type": "enterprise", "status": "potential",
        "industry": "retail", "region": "north", "owner": "kim"})
    assert made.status_code == 303 and made.headers["location"] == "/customers/N20"
    record = desk.customers.customer("N20").record
    assert (record.type, record.status, record.owner, record.industry) == \
        ("enterprise", "potential", "kim", "retail")


def test_intake_pages_need_their_roles_and_a_csrf_token(
        client_as: Callable[[str], Client]) -> None:
    ada = client_as("ada")  # an auditor reads, changes nothing
    assert ada.get("/new/complaint").status_code == 403
    assert ada.get("/new/customer").status_code == 403
    ann = client_as("ann")
    forged = ann.post("/new/customer", data={"id": "N30", "type": "personal"})
    assert forged.status_code == 403
    menu = ann.get("/queues").text
    assert 'href="/new/complaint"' in menu and 'href="/my-cases"' in menu
    assert 'href="/new/complaint"' not in ada.get("/queues").text
