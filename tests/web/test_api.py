"""The JSON API under /api: tokens, every operation, every error status, and that a refused
write stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.cases.runtime import Actor
from engine.demodata import CDNOW_SAMPLE
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import T0
from tests.web_fixtures import NOW, PEOPLE, Auth, Client

ANN = Actor("ann", "agent")
START = {"workflow": "complaint", "customer": "C1",
         "fields": {"channel": "email", "summary": "Parcel arrived damaged"}}
TRIAGE = {"category": "after_sales", "severity": "high"}
# a complaint's first events: its SLA targets are decided at intake
# a case opened for a customer without an email address: no acknowledgement, and it says so
STARTED = ["case.created", "rule.decided", "case.mail_skipped", "sla.started", "sla.started"]


def started(desk: Casework, summary: str = "Parcel arrived damaged") -> int:
    case = desk.runtime.start("complaint", {"channel": "email", "summary": summary}, ANN, T0,
                              customer="C1")
    return case.id


def event_names(desk: Casework, case_id: int) -> list[str]:
    return [e.name for e in desk.store.case_events(case_id)]


def test_start_read_and_history_of_a_case(api: Client, auth: Auth) -> None:
    ann = auth("ann")
    created = api.post("/api/cases", json=START, headers=ann)
    assert created.status_code == 201, created.text
    case = created.json()
    assert (case["workflow"], case["state"], case["queue"], case["customer"]) == \
        ("complaint", "received", "intake", "C1")
    assert case["fields"]["summary"] == "Parcel arrived damaged"
    assert case["fields"]["severity"] == "medium"  # the default
    assert case["lock_version"] == 1
    assert case["created_at"] == "2026-03-02T10:00:00Z"  # the app's clock
    assert "triage" in case["may_fire"]
    assert {c["name"]: c["status"] for c in case["sla"]} == \
        {"first_reply": "running", "resolution": "running"}

    read = api.get(f"/api/cases/{case['id']}", headers=auth("ada"))  # auditors read
    assert read.status_code == 200
    assert read.json()["lock_version"] == 1
    assert read.json()["may_fire"] == []  # but fire nothing

    history = api.get(f"/api/cases/{case['id']}/history", headers=ann).json()
    assert [(e["seq"], e["name"], e["actor"], e["role"]) for e in history] == [
        (1, "case.created", "ann", "agent"), (2, "rule.decided", "ann", "agent"),
        (3, "case.mail_skipped", "ann", "agent"), (4, "sla.started", "ann", "agent"),
        (5, "sla.started", "ann", "agent")]
    assert history[0]["prev_hash"] == "0" * 64
    assert history[0]["payload"]["workflow"] == "complaint"  # an object, not text
    assert history[0]["to_state"] == "received"


def test_fire_moves_the_case_and_reports_its_clocks(desk: Casework, api: Client,
                                                    auth: Auth) -> None:
    case_id = started(desk)
    fired = api.post(f"/api/cases/{case_id}/fire/triage",
                     json={"fields": TRIAGE, "expected_version": 1}, headers=auth("ann"))
    assert fired.status_code == 200, fired.text
    case = fired.json()
    assert (case["state"], case["queue"], case["assignee"]) == \
        ("in_progress", "after_sales", "ann")
    assert case["lock_version"] == 2
    assert case["fields"]["resolution_hours"] == "40"  # ordinary-high, a decimal as text
    clocks = {c["name"]: c for c in case["sla"]}
    assert clocks["first_reply"]["target_hours"] == 8
    assert clocks["resolution"]["elapsed_hours"] == 1.0  # 09:00 to the app's 10:00
    assert clocks["resolution"]["due_at"] is not None
    history = api.get(f"/api/cases/{case_id}/history", headers=auth("ann")).json()
    decided = [e["payload"] for e in history if e["name"] == "rule.decided"]
    assert [(d["table"], d["matched"]) for d in decided] == \
        [("complaint_sla", ["ordinary-normal"]), ("complaint_routing", ["after-sales"]),
         ("complaint_sla", ["ordinary-high"])]
    assert history[-1]["prev_hash"] == history[-2]["hash"]


def test_a_stale_version_is_a_conflict_and_changes_nothing(desk: Casework, api: Client,
                                                          auth: Auth) -> None:
    case_id = started(desk)
    desk.desk.comment(case_id, "someone else was quicker", ANN, T0)  # now at version 2
    before = event_names(desk, case_id)
    for path, body in [("fire/triage", {"fields": TRIAGE, "expected_version": 1}),
                       ("comments", {"text": "hello", "expected_version": 1}),
                       ("assign", {"assignee": "ann", "expected_version": 1})]:
        refused = api.post(f"/api/cases/{case_id}/{path}", json=body, headers=auth("ann"))
        assert refused.status_code == 409, path
        assert refused.json() == {
            "status": 409, "case": case_id, "expected_version": 1, "version": 2,
            "error": f"case {case_id} was changed by someone else (expected version 1, now at "
                     "version 2); reload the case and try again"}
    assert event_names(desk, case_id) == before
    assert desk.store.get_case(case_id).state == "received"


@pytest.mark.parametrize(("trigger", "fields", "reason", "says"), [
    ("triaje", TRIAGE, "trigger", "has no trigger 'triaje'; did you mean 'triage'?"),
    ("resolve", {}, "state", "where 'resolve' does not apply"),
    ("triage", {"category": "after_sales", "severity": "critical"}, "guard",
     "'triage' refused (guard): Only a supervisor triages a critical complaint"),
])
def test_a_refused_fire_is_422_with_its_reason_and_stores_nothing(
        desk: Casework, api: Client, auth: Auth, trigger: str, fields: dict[str, Any],
        reason: str, says: str) -> None:
    case_id = started(desk)
    refused = api.post(f"/api/cases/{case_id}/fire/{trigger}", json={"fields": fields},
                       headers=auth("ann"))
    assert refused.status_code == 422
    body = refused.json()
    assert (body["trigger"], body["reason"]) == (trigger, reason)
    assert says in body["error"]
    assert body.get("condition") == ('case.severity != "critical" || actor.role == '
                                     '"supervisor"' if reason == "guard" else None)
    assert event_names(desk, case_id) == STARTED


def test_a_fire_sent_again_with_its_idempotency_key_applies_once(
        desk: Casework, api: Client, auth: Auth) -> None:
    case_id = started(desk)
    headers = {**auth("ann"), "Idempotency-Key": "4f6c1d2e-retry"}
    body = {"fields": TRIAGE, "expected_version": 1}
    first = api.post(f"/api/cases/{case_id}/fire/triage", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    history = event_names(desk, case_id)
    again = api.post(f"/api/cases/{case_id}/fire/triage", json=body, headers=headers)
    assert again.status_code == 200, again.text  # not 409, though version 1 is stale now
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert event_names(desk, case_id) == history
    reused = api.post(f"/api/cases/{case_id}/fire/respond", headers=headers,
                      json={"fields": {"first_response": "On it"}})
    assert reused.status_code == 422
    assert "was used by another request" in reused.json()["error"]
    too_long = api.post(f"/api/cases/{case_id}/fire/respond", json={"fields": {}},
                        headers={**auth("ann"), "Idempotency-Key": "k" * 101})
    assert too_long.status_code in (400, 422)


def test_a_field_of_the_wrong_type_is_422_naming_the_field(desk: Casework, api: Client,
                                                           auth: Auth) -> None:
    case_id = started(desk)
    for fields, field in [({"category": "after_sales", "severity": 5}, "severity"),
                          ({"category": "gardening", "severity": "high"}, "category"),
                          ({**TRIAGE, "csat": 4}, "csat")]:  # not one triage takes
        refused = api.post(f"/api/cases/{case_id}/fire/triage", json={"fields": fields},
                           headers=auth("ann"))
        assert refused.status_code == 422, fields
        assert refused.json().get("field", field) == field
        assert field in refused.json()["error"]
    assert event_names(desk, case_id) == STARTED
    assert desk.store.get_case(case_id).lock_version == 1


def test_roles_a_transition_does_not_allow_are_403(desk: Casework, api: Client,
                                                   auth: Auth) -> None:
    case_id = started(desk)
    by_admin = api.post(f"/api/cases/{case_id}/fire/triage", json={"fields": TRIAGE},
                        headers=auth("root"))
    assert by_admin.status_code == 403
    assert (by_admin.json()["reason"], by_admin.json()["trigger"]) == ("role", "triage")
    for path, body in [("fire/triage", {"fields": TRIAGE}), ("comments", {"text": "hi"}),
                       ("assign", {"assignee": "ada"})]:
        by_auditor = api.post(f"/api/cases/{case_id}/{path}", json=body, headers=auth("ada"))
        assert by_auditor.status_code == 403, path
        assert "ada holds auditor" in by_auditor.json()["error"]
    refused = api.post("/api/cases", json=START, headers=auth("ada"))
    assert refused.status_code == 403
    assert event_names(desk, case_id) == STARTED
    assert [c.id for c in desk.views.queue(_intake()).rows] == [case_id]


def _intake() -> Any:
    from engine.cases.queues import QueueQuery

    return QueueQuery(queue="intake")


def test_starting_with_bad_input_is_422_and_opens_no_case(desk: Casework, api: Client,
                                                           auth: Auth) -> None:
    ann = auth("ann")
    for body, field in [({**START, "workflow": "complain"}, "workflow"),
                        ({**START, "customer": "C404"}, "customer"),
                        ({**START, "fields": {"channel": "email"}}, "summary"),
                        ({**START, "fields": {**START["fields"], "csat": "five"}}, "csat"),
                        # more than the database holds; an SLA target past any due time
                        ({**START, "fields": {**START["fields"], "reopen_count": 2**70}},
                         "reopen_count")]:
        refused = api.post("/api/cases", json=body, headers=ann)
        assert refused.status_code == 422, body
        assert refused.json()["field"] == field
    refused = api.post("/api/cases", json={**START, "workflow": "complain"}, headers=ann)
    assert "workflow 'complain' is not loaded" in refused.json()["error"]
    assert desk.views.queue(_intake()).rows == []


def test_an_sla_target_past_any_due_time_is_422_naming_the_clock(
        desk: Casework, api: Client, auth: Auth) -> None:
    """(The complaint decides its own targets at intake; this workflow takes one as given.)"""
    text = "\n".join([
        "workflow: timed", "version: 1", "fields:", "  hours: {type: decimal}", "states:",
        "  open: {initial: true, queue: intake}", "  done: {final: true}", "transitions:",
        "  - {trigger: finish, from: open, to: done}", "sla:", "  calendar: office",
        "  clocks:", "    answer: {target: case.hours, stop_in: [done]}", ""])
    desk.registry.deploy(load_workflow_text(text, "timed.yaml"), text, T0)
    refused = api.post("/api/cases", json={"workflow": "timed", "fields": {
        "hours": "1e999999"}}, headers=auth("ann"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "answer"
    assert desk.views.queue(_intake()).rows == []


@pytest.mark.parametrize(("content", "says"), [
    (b'{"workflow": "complaint", "fields": {', "the request body could not be read"),
    (b"", "the request needs a JSON body"),
    (b"[1, 2]", "the body: Expected `object`, got `array`"),
    (b'{"workflow": 3}', "body field 'workflow': Expected `str`, got `int`"),
    (b'{"workflow": "complaint", "feilds": {}}', "unknown field `feilds`"),
    (b'{"workflow": "complaint", "customer": "C1", "fields": {"summary": "a\\u0000b"}}',
     "fields.summary holds a NUL character"),
])
def test_a_body_that_does_not_fit_is_422_with_a_clear_message(
        desk: Casework, api: Client, auth: Auth, content: bytes, says: str) -> None:
    refused = api.post("/api/cases", content=content, headers={
        **auth("ann"), "Content-Type": "application/json"})
    assert refused.status_code == 422
    assert refused.json()["status"] == 422
    assert says in refused.json()["error"]
    assert desk.views.queue(_intake()).rows == []


def test_tokens_are_required_known_and_unrevoked(desk: Casework, api: Client,
                                                 auth: Auth) -> None:
    case_id = started(desk)
    path = f"/api/cases/{case_id}"
    for headers, says in [({}, "send an API token"),
                          ({"Authorization": "Basic YW5uOmFubi1wYXNzd29yZA=="},
                           "send an API token"),
                          ({"Authorization": "Bearer cw_not-a-token"}, "unknown or revoked")]:
        refused = api.get(path, headers=headers)
        assert refused.status_code == 401
        assert says in refused.json()["error"]
    ann = auth("ann")
    assert api.get(path, headers=ann).status_code == 200
    desk.accounts.revoke_tokens("ann", NOW)
    assert api.get(path, headers=ann).status_code == 401
    refused = api.post(f"{path}/comments", json={"text": "hi"}, headers=ann)
    assert refused.status_code == 401
    assert event_names(desk, case_id) == STARTED


def test_a_session_cookie_does_not_open_the_api(desk: Casework,
                                                client_as: Callable[[str], Client]) -> None:
    signed_in = client_as("ann")
    assert signed_in.get(f"/api/cases/{started(desk)}").status_code == 401


def test_unknown_ids_are_404(api: Client, auth: Auth) -> None:
    ann, max_ = auth("ann"), auth("max")
    for method, path, body, headers in [
            ("GET", "/api/cases/999", None, ann),
            ("GET", f"/api/cases/{2**64}", None, ann),  # more than any id column holds
            ("GET", "/api/cases/999/history", None, ann),
            ("POST", "/api/cases/999/fire/triage", {"fields": TRIAGE}, ann),
            ("POST", "/api/cases/999/comments", {"text": "hi"}, ann),
            ("POST", "/api/cases/999/assign", {"assignee": "ann"}, ann),
            ("GET", "/api/customers/C404", None, ann),
            ("POST", "/api/tables/complaint_slq/evaluate", {"inputs": {}}, max_),
            ("POST", "/api/tables/complaint_slq/explain", {"inputs": {}}, max_),
            ("GET", "/api/nothing-here", None, ann)]:
        refused = api.request(method, path, json=body, headers=headers)
        assert refused.status_code == 404, path
        assert refused.json()["status"] == 404


def test_a_queue_lists_its_open_cases_page_by_page(desk: Casework, api: Client,
                                                   auth: Auth) -> None:
    ids = [started(desk, f"complaint {n}") for n in range(3)]
    desk.runtime.fire(ids[1], "triage", ANN, T0, TRIAGE)  # leaves intake
    ids.append(started(desk, "complaint 3"))
    sam = auth("sam")
    first = api.get("/api/cases", params={"queue": "intake", "limit": 2}, headers=sam)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["queue"] == "intake"
    assert [c["id"] for c in page["cases"]] == [ids[0], ids[2]]
    assert page["cases"][0]["summary"] == "complaint 0"
    assert page["cases"][0]["sla"] == "running"
    assert page["next"] is not None
    rest = api.get("/api/cases", params={"queue": "intake", "limit": 2,
                                         "after": page["next"]}, headers=sam).json()
    assert [c["id"] for c in rest["cases"]] == [ids[3]]
    assert rest["next"] is None
    for params in [{"queue": "intake", "after": "yesterday~1"},
                   {"queue": "intake", "after": "2026-03-02T09:00:00~1"},  # no time zone
                   {"queue": "intake", "limit": 0}, {"queue": "intake", "limit": "ten"},
                   {}]:
        refused = api.get("/api/cases", params=params, headers=sam)
        assert refused.status_code == 422, params
    empty = api.get("/api/cases", params={"queue": "nowhere"}, headers=auth("ada")).json()
    assert empty == {"queue": "nowhere", "cases": [], "next": None}


def test_comments_go_into_the_history(desk: Casework, api: Client, auth: Auth) -> None:
    case_id = started(desk)
    added = api.post(f"/api/cases/{case_id}/comments",
                     json={"text": "Called the customer.", "expected_version": 1},
                     headers=auth("bob"))
    assert added.status_code == 200
    assert added.json()["lock_version"] == 2
    event = desk.store.case_events(case_id)[-1]
    assert (event.name, event.actor, event.role) == ("case.commented", "bob", "agent")
    for text in ["   ", "x" * 10_001]:
        refused = api.post(f"/api/cases/{case_id}/comments", json={"text": text},
                           headers=auth("bob"))
        assert refused.status_code == 422
        assert refused.json()["field"] == "comment"
    assert event_names(desk, case_id) == [*STARTED, "case.commented"]


def test_claiming_and_assigning_follow_the_desk_rules(desk: Casework, api: Client,
                                                      auth: Auth) -> None:
    case_id = started(desk)
    claimed = api.post(f"/api/cases/{case_id}/assign", json={"assignee": "ann"},
                       headers=auth("ann"))
    assert claimed.status_code == 200
    assert claimed.json()["assignee"] == "ann"
    taken = api.post(f"/api/cases/{case_id}/assign", json={"assignee": "bob"},
                     headers=auth("bob"))
    assert taken.status_code == 403
    assert taken.json()["reason"] == "role"
    nobody = api.post(f"/api/cases/{case_id}/assign", json={"assignee": "zed"},
                      headers=auth("sam"))
    assert nobody.status_code == 422
    assert nobody.json()["field"] == "assignee"
    assert desk.store.get_case(case_id).assignee == "ann"
    moved = api.post(f"/api/cases/{case_id}/assign", json={"assignee": "bob"},
                     headers=auth("sam"))
    assert moved.json()["assignee"] == "bob"
    freed = api.post(f"/api/cases/{case_id}/assign", json={"assignee": None},
                     headers=auth("bob"))
    assert freed.status_code == 200
    assert freed.json()["assignee"] is None


def test_a_customer_with_figures_and_tier_history(desk: Casework, api: Client,
                                                  auth: Auth) -> None:
    desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    desk.tiering.recompute(date(1998, 6, 30), NOW)
    desk.tiering.recompute(date(1998, 9, 30), NOW + timedelta(hours=1))
    found = api.get("/api/customers/01760", headers=auth("kim"))
    assert found.status_code == 200, found.text
    customer = found.json()
    assert (customer["id"], customer["tier"]) == ("01760", "key")
    figures = customer["figures"]
    assert figures["as_of"] == "1998-09-30"
    assert figures["tier_rule"] is not None
    assert isinstance(figures["monetary"], str)
    assert float(figures["monetary"]) > 0
    changes = [e for e in customer["history"] if e["name"] == "customer.tier_changed"]
    assert [(e["payload"]["old"], e["payload"]["new"]) for e in changes][-1] == \
        ("strategic", "key")
    assert changes[-1]["payload"]["table"] == "customer_tier"


def test_a_customer_never_recomputed_has_no_figures(api: Client, auth: Auth) -> None:
    customer = api.get("/api/customers/C1", headers=auth("ann")).json()
    assert (customer["id"], customer["figures"], customer["history"]) == ("C1", None, [])


def test_customer_search_by_id_prefix_name_or_email(desk: Casework, api: Client,
                                                    auth: Auth) -> None:
    desk.customers.add("ACME-1", T0, name="Acme Widgets", email="orders@acme.example",
                       type="enterprise")
    desk.customers.add("B-2", T0, name="Bolt & Co", email="bolt@widgets.example")
    kim = auth("kim")

    def ids(**params: Any) -> list[str]:
        found = api.get("/api/customers", params=params, headers=kim)
        assert found.status_code == 200, found.text
        return [c["id"] for c in found.json()]

    assert ids(q="acme") == ["ACME-1"]
    assert ids(q="WIDGETS") == ["ACME-1", "B-2"]  # a name and an email
    assert ids(q="c7") == ["C7"]  # ids by prefix
    assert ids(q="100%") == []  # wildcards are literal
    assert ids(q="", limit=2) == ["ACME-1", "B-2"]
    assert api.get("/api/customers", params={"limit": 500}, headers=kim).status_code == 422
    for path, params in [("/api/customers", {"q": "a\x00"}), ("/api/customers/C%001", {})]:
        refused = api.get(path, params=params, headers=kim)  # PostgreSQL cannot hold a NUL
        assert refused.status_code == 422, path
        assert "holds a NUL character" in refused.json()["error"]
    found = api.get("/api/customers", params={"q": "bolt"}, headers=kim).json()
    assert found == [{"id": "B-2", "name": "Bolt & Co", "email": "bolt@widgets.example",
                      "type": "personal", "status": "active", "tier": None, "owner": None,
                      "region": None}]


def test_evaluate_and_explain_the_published_table(api: Client, auth: Auth) -> None:
    body = {"inputs": {"tier": "key", "severity": "high"}}
    decided = api.post("/api/tables/complaint_sla/evaluate", json=body, headers=auth("max"))
    assert decided.status_code == 200, decided.text
    decision = decided.json()
    assert (decision["table"], decision["matched"]) == ("complaint_sla", ["key-urgent"])
    assert decision["outputs"] == {"first_response_hours": 2.0, "resolution_hours": 16.0,
                                   "business_time": False, "sla_calendar": "support_24x7"}
    explained = api.post("/api/tables/complaint_sla/explain", json=body, headers=auth("ada"))
    assert explained.status_code == 200
    rows = {r["id"]: r for r in explained.json()["rows"]}
    assert explained.json()["decision"] == decision
    assert rows["key-urgent"]["matched"] is True
    assert [(c["input"], c["result"]) for c in rows["strategic-urgent"]["cells"]] == \
        [("tier", False), ("severity", None)]
    assert rows["key-urgent"]["cells"][0] == {"input": "tier", "test": "key",
                                              "cel": 'tier == "key"', "value": "key",
                                              "result": True}


@pytest.mark.parametrize(("inputs", "says"), [
    ({"tier": "key"}, "input 'severity' is missing"),
    ({"tier": "key", "severity": 3}, "input 'severity' must be string, not int"),
    ({"tier": "key", "severity": "high", "severty": "x"},
     "has no input 'severty'; did you mean 'severity'?"),
])
def test_table_inputs_that_do_not_fit_are_422(api: Client, auth: Auth,
                                               inputs: dict[str, Any], says: str) -> None:
    for action in ("evaluate", "explain"):
        refused = api.post(f"/api/tables/complaint_sla/{action}", json={"inputs": inputs},
                           headers=auth("max"))
        assert refused.status_code == 422
        assert says in refused.json()["error"]


def test_tables_are_for_the_roles_that_read_rules(api: Client, auth: Auth) -> None:
    body = {"inputs": {"tier": "key", "severity": "high"}}
    for name in ("ann", "kim"):
        refused = api.post("/api/tables/complaint_sla/evaluate", json=body,
                           headers=auth(name))
        assert refused.status_code == 403
    for name in ("sam", "max", "ada", "root"):
        assert api.post("/api/tables/complaint_sla/evaluate", json=body,
                        headers=auth(name)).status_code == 200


def test_audit_verify_reports_intact_and_broken_chains(desk: Casework, api: Client,
                                                      auth: Auth) -> None:
    first, second = started(desk), started(desk)
    desk.desk.comment(second, "a note", ANN, T0)
    intact = api.get("/api/audit/verify", headers=auth("ada"))
    assert intact.status_code == 200
    assert intact.json() == {"cases": 2, "customers": 0, "intact": True, "breaks": []}
    _edit_events(desk, f"UPDATE events SET actor = 'mallory' WHERE case_id = {second} "
                       "AND seq = 6")
    broken = api.get("/api/audit/verify", headers=auth("max")).json()
    assert broken["intact"] is False
    assert broken["breaks"] == [{"kind": "case", "subject": second, "seq": 6, "reason":
                                 "'case.commented' was altered after it was written (its "
                                 "content no longer matches its hash)"}]
    assert first != second
    for name in ("ann", "sam", "kim"):
        assert api.get("/api/audit/verify", headers=auth(name)).status_code == 403


def _edit_events(desk: Casework, statement: str) -> None:
    """Change history behind casework's back, as an attacker with database access would."""
    engine = sa.create_engine(desk.settings.database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
        else:
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")
        connection.exec_driver_sql(statement)
    engine.dispose()


def test_every_role_reads_cases_and_customers(desk: Casework, api: Client,
                                              auth: Auth) -> None:
    case_id = started(desk)
    for name in PEOPLE:
        headers = auth(name)
        for path in (f"/api/cases/{case_id}", f"/api/cases/{case_id}/history",
                     "/api/cases?queue=intake", "/api/customers/C1", "/api/customers?q=C"):
            assert api.get(path, headers=headers).status_code == 200, (name, path)


def test_the_schema_documents_every_operation(api: Client, auth: Auth) -> None:
    schema = api.get("/schema/openapi.json", headers=auth("ann")).json()
    operations = {(method.upper(), path): op for path, item in schema["paths"].items()
                  if path.startswith("/api") for method, op in item.items()}
    assert set(operations) == {
        ("POST", "/api/cases"), ("GET", "/api/cases"), ("GET", "/api/cases/{case_id}"),
        ("POST", "/api/cases/{case_id}/fire/{trigger}"),
        ("POST", "/api/cases/{case_id}/comments"), ("POST", "/api/cases/{case_id}/assign"),
        ("GET", "/api/cases/{case_id}/history"), ("GET", "/api/cases/{case_id}/entries"),
        ("POST", "/api/cases/{case_id}/entries"),
        ("GET", "/api/cases/{case_id}/files/{attachment_id}"),
        ("GET", "/api/customers/{customer_id}"),
        ("GET", "/api/customers"), ("POST", "/api/customers"),
        ("PATCH", "/api/customers/{customer_id}"), ("POST", "/api/tables/{name}/evaluate"),
        ("GET", "/api/customers/{customer_id}/personal-data"),
        ("POST", "/api/customers/{customer_id}/erasure"),
        ("POST", "/api/tables/{name}/explain"), ("GET", "/api/audit/verify"),
        ("GET", "/api/notifications"), ("GET", "/api/notifications/unread"),
        ("POST", "/api/notifications/{notification_id}/read"),
        ("POST", "/api/notifications/read")}
    for key, op in operations.items():
        assert op["summary"] and op["description"], key
        assert op["security"] == [{"apiToken": []}], key
        assert "401" in op["responses"] and "400" not in op["responses"], key
        assert all(r["description"] for r in op["responses"].values()), key
    assert "422" in operations[("POST", "/api/cases/{case_id}/fire/{trigger}")]["responses"]
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_options_answers_the_allowed_methods_not_a_server_error(api: Client, auth: Auth) -> None:
    """Issue 20 (schemathesis over HTTP): authentication lets OPTIONS through without a user,
    and the role guards then failed with a 500."""
    for headers in (auth("ann"), {}):
        answered = api.options("/api/cases", headers=headers)
        assert answered.status_code == 204
        assert {"POST", "OPTIONS"} <= set(answered.headers["allow"].split(", "))
