"""The authorization matrix: every route, asked by every role, is either allowed or 403.

POLICY is the statement of who may do what, written here independently of the guards in
web/: a route added without a line here fails the first test, and a guard that lets the wrong
role in (or keeps the right one out) fails the second."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from engine.cases.runtime import Actor
from engine.kernel.accounts import new_token, token_digest
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import ROLE_USER, Client, csrf
from web.app import create_app

ROLES = ("agent", "supervisor", "account_manager", "manager", "auditor", "admin")
EVERYONE = frozenset(ROLES)
WORKERS = frozenset({"agent", "supervisor", "account_manager", "manager", "admin"})
RULE_READERS = frozenset({"manager", "supervisor", "auditor", "admin"})
RULE_WRITERS = frozenset({"manager", "admin"})
AUDITORS = frozenset({"auditor", "manager", "admin"})
PROTECTORS = frozenset({"manager", "admin"})  # a customer's personal data: export, erase
CHARTS = frozenset({"supervisor", "manager", "account_manager", "auditor", "admin"})
ADMINS = frozenset({"admin"})  # users and API tokens: the admin alone

# (method, path as routed) -> the roles that may use it (admin may use everything).
POLICY: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/queues"): EVERYONE,
    ("GET", "/queues/{queue:str}"): EVERYONE,
    ("POST", "/queues/{queue:str}/assign"): WORKERS,
    ("GET", "/cases/{case_id:int}"): EVERYONE,
    ("POST", "/cases/{case_id:int}/fire/{trigger:str}"): WORKERS,
    ("POST", "/cases/{case_id:int}/comments"): WORKERS,
    ("POST", "/cases/{case_id:int}/entries"): WORKERS,
    ("GET", "/cases/{case_id:int}/response"): WORKERS,
    ("GET", "/cases/{case_id:int}/files/{attachment_id:int}"): EVERYONE,
    ("POST", "/cases/{case_id:int}/assign"): WORKERS,
    ("GET", "/customers"): EVERYONE,
    ("GET", "/customers/{customer_id:str}"): EVERYONE,
    ("GET", "/customers/{customer_id:str}/personal-data"): PROTECTORS,
    ("POST", "/customers/{customer_id:str}/erase"): PROTECTORS,
    ("GET", "/audit"): AUDITORS,
    ("POST", "/audit/verify"): AUDITORS,  # reads only: auditors may
    ("GET", "/audit/export.csv"): AUDITORS,
    ("GET", "/audit/export.jsonl"): AUDITORS,
    ("GET", "/rules"): RULE_READERS,
    ("GET", "/rules/tables/{name:str}"): RULE_READERS,
    ("GET", "/rules/tables/{name:str}/versions/{version:int}/diff"): RULE_READERS,
    ("GET", "/rules/workflows/{name:str}"): RULE_READERS,
    ("GET", "/rules/workflows/{name:str}/versions/{version:int}/diff"): RULE_READERS,
    ("GET", "/rules/tables/{name:str}/edit"): RULE_WRITERS,
    ("POST", "/rules/tables/{name:str}/validate"): RULE_WRITERS,
    ("POST", "/rules/tables/{name:str}/problems"): RULE_WRITERS,
    ("POST", "/rules/tables/{name:str}/test"): RULE_WRITERS,
    ("POST", "/rules/tables/{name:str}/simulate"): RULE_WRITERS,
    ("POST", "/rules/tables/{name:str}/publish"): RULE_WRITERS,
    ("GET", "/rules/workflows/{name:str}/edit"): RULE_WRITERS,
    ("POST", "/rules/workflows/{name:str}/validate"): RULE_WRITERS,
    ("POST", "/rules/workflows/{name:str}/problems"): RULE_WRITERS,
    ("POST", "/rules/workflows/{name:str}/publish"): RULE_WRITERS,
    ("GET", "/rules/workflows/{name:str}/migrate"): RULE_WRITERS,
    ("POST", "/rules/workflows/{name:str}/migrate/dry-run"): RULE_WRITERS,
    ("POST", "/rules/workflows/{name:str}/migrate/run"): RULE_WRITERS,
    ("GET", "/rules/drafts/{kind:str}/{name:str}"): RULE_WRITERS,
    ("POST", "/rules/drafts/{kind:str}/{name:str}"): RULE_WRITERS,
    ("POST", "/rules/drafts/{kind:str}/{name:str}/discard"): RULE_WRITERS,
    ("GET", "/rules/approvals"): RULE_WRITERS,
    ("GET", "/rules/approvals/{request_id:int}"): RULE_WRITERS,
    ("POST", "/rules/approvals/{request_id:int}/approve"): RULE_WRITERS,
    ("POST", "/rules/approvals/{request_id:int}/reject"): RULE_WRITERS,
    ("POST", "/rules/approvals/{request_id:int}/withdraw"): RULE_WRITERS,
    ("GET", "/jobs"): RULE_WRITERS,
    ("POST", "/jobs/{kind:str}"): RULE_WRITERS,
    ("GET", "/jobs/{job_id:int}"): RULE_WRITERS,
    ("GET", "/dashboards"): CHARTS,
    ("GET", "/dashboards/{chart:str}"): CHARTS,
    ("POST", "/api/cases"): WORKERS,
    ("GET", "/api/cases"): EVERYONE,
    ("GET", "/api/cases/{case_id:int}"): EVERYONE,
    ("POST", "/api/cases/{case_id:int}/fire/{trigger:str}"): WORKERS,
    ("POST", "/api/cases/{case_id:int}/comments"): WORKERS,
    ("POST", "/api/cases/{case_id:int}/assign"): WORKERS,
    ("GET", "/api/cases/{case_id:int}/history"): EVERYONE,
    ("GET", "/api/cases/{case_id:int}/entries"): EVERYONE,
    ("POST", "/api/cases/{case_id:int}/entries"): WORKERS,
    ("GET", "/api/cases/{case_id:int}/files/{attachment_id:int}"): EVERYONE,
    ("GET", "/api/customers"): EVERYONE,
    ("GET", "/api/customers/{customer_id:str}"): EVERYONE,
    ("POST", "/api/tables/{name:str}/evaluate"): RULE_READERS,  # reads only: auditors may
    ("POST", "/api/tables/{name:str}/explain"): RULE_READERS,
    ("GET", "/api/audit/verify"): AUDITORS,
    ("POST", "/api/customers"): WORKERS,
    ("PATCH", "/api/customers/{customer_id:str}"): WORKERS,
    ("GET", "/api/customers/{customer_id:str}/personal-data"): PROTECTORS,
    ("POST", "/api/customers/{customer_id:str}/erasure"): PROTECTORS,
    ("GET", "/new/complaint"): WORKERS,
    ("POST", "/new/complaint"): WORKERS,
    ("GET", "/new/customer"): WORKERS,
    ("POST", "/new/customer"): WORKERS,
    ("GET", "/my-cases"): EVERYONE,
    ("GET", "/search"): EVERYONE,
    ("GET", "/views"): EVERYONE,
    ("GET", "/views/menu"): EVERYONE,
    ("POST", "/views"): EVERYONE,
    ("POST", "/views/{view_id:int}/delete"): EVERYONE,
    # one's own notifications and email choices: everyone who signs in has them
    ("GET", "/notifications"): EVERYONE,
    ("GET", "/notifications/badge"): EVERYONE,
    ("POST", "/notifications/{notification_id:int}/read"): EVERYONE,
    ("POST", "/notifications/read"): EVERYONE,
    ("GET", "/me/notifications"): EVERYONE,
    ("POST", "/me/notifications"): EVERYONE,
    ("GET", "/api/notifications"): EVERYONE,
    ("GET", "/api/notifications/unread"): EVERYONE,
    ("POST", "/api/notifications/{notification_id:int}/read"): EVERYONE,
    ("POST", "/api/notifications/read"): EVERYONE,
    ("GET", "/admin"): ADMINS,
    ("GET", "/admin/users"): ADMINS,
    ("POST", "/admin/users"): ADMINS,
    ("GET", "/admin/users/{name:str}"): ADMINS,
    ("POST", "/admin/users/{name:str}"): ADMINS,
    ("POST", "/admin/users/{name:str}/disable"): ADMINS,
    ("POST", "/admin/users/{name:str}/enable"): ADMINS,
    ("POST", "/admin/users/{name:str}/password"): ADMINS,
    ("POST", "/admin/users/{name:str}/tokens"): ADMINS,
    ("POST", "/admin/tokens/{token_id:int}/revoke"): ADMINS,
}
# Open to anyone, signed in or not.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"),
          # the customers' pages: a survey link (its signed token is the key), the complaint form
          ("GET", "/survey/{token:str}"), ("POST", "/survey/{token:str}"),
          ("GET", "/contact"), ("POST", "/contact"),
          # the operator's: readiness for load balancers; /metrics asks its own scrape token
          # (tests/web/test_observability.py)
          ("GET", "/readyz"), ("GET", "/metrics")}


def routed(casework: Casework) -> set[tuple[str, str]]:
    app = create_app(casework)
    found = set()
    for route in app.routes:
        if route.path.startswith(("/static", "/schema")):
            continue
        for method in getattr(route, "methods", set()):
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, route.path))
    return found


def test_every_route_has_a_policy(desk: Casework) -> None:
    assert routed(desk) - PUBLIC - set(POLICY) == set(), "routes without a policy line"
    assert set(POLICY) - routed(desk) == set(), "policy lines without a route"


def concrete(path: str, samples: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples[m.group(1)], path)


@pytest.fixture
def samples(desk: Casework) -> dict[str, str]:
    case = desk.runtime.start("complaint", {"channel": "email", "summary": "Parcel"},
                              Actor("ann", "agent"), T0, customer="C1")
    # an unknown trigger: a role the route lets in gets 422 from the engine, not 403
    return {"case_id": str(case.id), "queue": "intake", "trigger": "no_such_trigger",
            "customer_id": "C1", "name": "complaint_sla", "table": "complaint_sla",
            "workflow": "complaint", "version": "1", "chart": "tiers", "view_id": "1",
            "attachment_id": "1", "notification_id": "1", "token_id": "999999",
            "request_id": "1", "job_id": "1", "kind": "no_such_job"}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_policy_gives(
        role: str, desk: Casework, samples: dict[str, str],
        client_as: Callable[[str], Client]) -> None:
    client = client_as(ROLE_USER[role])
    token = new_token()
    desk.accounts.add_token(ROLE_USER[role], token_digest(token), "matrix", T0)
    wrong = []
    # signing out last: every other request is made signed in
    for (method, path), allowed in sorted(POLICY.items(), key=lambda kv: kv[0][1] == "/logout"):
        url = concrete(path, samples)
        if path.startswith("/api"):
            response = client.request(method, url, json={},
                                      headers={"Authorization": f"Bearer {token}"})
        elif method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            response = client.request(method, url, data=csrf(client), follow_redirects=False)
        denied = response.status_code == 403
        if denied == (role in allowed or role == "admin"):
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []
