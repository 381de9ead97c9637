"""Four-eyes publishing in the browser's pages: a manager's publish of a table under `approval:
required` waits on /rules/approvals, a second manager approves it there; approving one's own
request is refused (403) and a stale one too (409), nothing changed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from engine.kernel.accounts import hash_password
from engine.wiring import Casework
from tests.fixtures import ROOT, T0
from tests.web_fixtures import Client, csrf

SLA = (ROOT / "rules" / "complaint_sla.yaml").read_text()
ORDINARY_CRITICAL = "then: {first_response_hours: 4, resolution_hours: 24, business_time: false"
_MIA = hash_password("mia-password")


def sla(version: int, hours: int) -> str:
    return "approval: required\n" + SLA.replace("version: 2", f"version: {version}").replace(
        ORDINARY_CRITICAL, ORDINARY_CRITICAL.replace("24", str(hours)))


@pytest.fixture
def managers(desk: Casework, client_as: Callable[[str], Client]) -> tuple[Client, Client]:
    """max and mia, two managers, signed in."""
    desk.store.add_user("mia", ["manager"], T0, "Mia", "mia@example.com", _MIA)
    return client_as("max"), client_as("mia")


def propose(client: Client, text: str) -> int:
    done = client.post("/rules/tables/complaint_sla/publish",
                       data={"source": text, **csrf(client)}, follow_redirects=False)
    assert done.status_code == 303, done.text
    location = done.headers["location"]
    assert location.startswith("/rules/approvals/")
    return int(location.rsplit("/", 1)[1])


def decide(client: Client, request_id: int, action: str, **more: str):  # type: ignore[no-untyped-def]
    return client.post(f"/rules/approvals/{request_id}/{action}",
                       data={**more, **csrf(client)}, follow_redirects=False)


def text(page: str) -> str:
    """A page's words, without its tags."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def active(desk: Casework) -> int:
    return desk.publications.of("table", "complaint_sla")[0].version


def test_a_second_manager_approves_after_seeing_the_diff_and_tests(
        desk: Casework, managers: tuple[Client, Client]) -> None:
    max_, mia = managers
    request_id = propose(max_, sla(3, 20))
    assert active(desk) == 2
    listing = mia.get("/rules/approvals").text
    assert f"/rules/approvals/{request_id}" in listing and "complaint_sla v3" in listing
    shown = html.unescape(mia.get(f"/rules/approvals/{request_id}").text)
    assert "Changes from v2" in shown and "+approval: required" in shown
    assert "resolution_hours: 20" in shown and "7 of 7 tests passed" in shown
    assert "Approve and publish" in shown
    done = decide(mia, request_id, "approve")
    assert done.status_code == 303
    assert done.headers["location"] == "/rules/tables/complaint_sla?published=3"
    newest = desk.publications.of("table", "complaint_sla")[0]
    assert (newest.version, newest.published_by, newest.approved_by) == (3, "max", "mia")
    assert "by max, approved by mia" in max_.get("/rules/tables/complaint_sla").text


def test_approving_ones_own_publish_is_forbidden_and_changes_nothing(
        desk: Casework, managers: tuple[Client, Client]) -> None:
    max_, _ = managers
    request_id = propose(max_, sla(3, 20))
    page = max_.get(f"/rules/approvals/{request_id}").text
    assert "Approve and publish" not in page and "Withdraw" in page
    refused = decide(max_, request_id, "approve")
    assert refused.status_code == 403
    assert "a second manager must approve it" in html.unescape(refused.text)
    assert active(desk) == 2
    assert desk.approvals.get(request_id).state == "pending"


def test_a_stale_request_is_refused_and_a_rejection_needs_a_reason(
        desk: Casework, managers: tuple[Client, Client]) -> None:
    max_, mia = managers
    older, newer = propose(max_, sla(3, 20)), propose(max_, sla(4, 18))
    assert decide(mia, newer, "approve").status_code == 303
    assert "Stale" in mia.get(f"/rules/approvals/{older}").text
    stale = decide(mia, older, "approve")
    assert stale.status_code == 409 and "propose the change again" in html.unescape(stale.text)
    assert active(desk) == 4
    no_reason = decide(mia, older, "reject", reason="")
    assert no_reason.status_code == 422 and "needs a reason" in html.unescape(no_reason.text)
    assert decide(mia, older, "reject", reason="superseded by v4").status_code == 303
    assert "rejected by mia" in text(max_.get(f"/rules/approvals/{older}").text)


def test_who_may_see_approvals(client_as: Callable[[str], Client]) -> None:
    assert client_as("sam").get("/rules/approvals").status_code == 403  # a supervisor reads
    assert client_as("root").get("/rules/approvals").status_code == 200
