"""The workflow editor and the move of running cases from the browser's pages: validate with
the problems at their lines, publish the next version (refusals: a draft that does not load, a
taken version, nothing changed), migrate after a dry run with each move audited, and a map
naming unknown states refused with nothing moved."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import pytest

from engine.cases.runtime import Actor
from engine.wiring import Casework
from tests.fixtures import ROOT, T0
from tests.web.test_rules import line_of, marked_lines, result, textarea
from tests.web_fixtures import NOW, Client, csrf

ANN = Actor("ann", "agent")
COMPLAINT = (ROOT / "workflows" / "complaint.yaml").read_text()
TRIAGE = {"category": "billing", "severity": "high"}


def version_8() -> str:
    """The manager's change: 'in_progress' becomes 'investigating'."""
    text = COMPLAINT.replace("version: 7", "version: 8").replace("in_progress", "investigating")
    assert "version: 8" in text
    return text


def post(client: Client, action: str, text: str):  # type: ignore[no-untyped-def]
    return client.post(f"/rules/workflows/complaint/{action}",
                       data={"source": text, **csrf(client)}, follow_redirects=False)


def migrate(client: Client, step: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"/rules/workflows/complaint/migrate/{step}",
                       data={**form, **csrf(client)}, follow_redirects=False)


def versions(desk: Casework) -> list[int]:
    return [d.version for d in desk.store.definitions("workflow") if d.name == "complaint"]


@pytest.fixture
def opened(desk: Casework) -> tuple[int, int]:
    """Two open complaints on v7: one received, one in progress."""
    waiting, working = (desk.runtime.start("complaint", {"channel": "phone", "summary": s}, ANN,
                                           T0, customer="C1").id
                        for s in ("Parcel late", "Invoice wrong"))
    desk.runtime.fire(working, "triage", ANN, NOW, TRIAGE)
    return waiting, working


def test_the_editor_opens_with_the_newest_version_raised_to_the_next(
        client_as: Callable[[str], Client]) -> None:
    page = client_as("max").get("/rules/workflows/complaint/edit")
    assert page.status_code == 200
    assert textarea(page.text) == COMPLAINT.replace("version: 7", "version: 8")
    assert "stores it as <strong>v8</strong>" in page.text
    assert 'class="diagram" ' in page.text and '<svg ' in page.text  # the diagram, drawn
    assert '<span class="add">+version: 8</span>' in page.text  # and its diff from v7


def test_validate_shows_every_problem_at_its_line(client_as: Callable[[str], Client]) -> None:
    bad = version_8().replace("to: resolved", "to: reslved", 1)
    page = post(client_as("max"), "validate", bad)
    assert page.status_code == 422
    line = line_of(bad, "to: reslved")
    assert line in marked_lines(page.text)
    assert "'reslved'" in result(page.text) and "resolved" in result(page.text)
    assert textarea(page.text) == bad


def test_validate_says_a_good_workflow_is_valid_with_its_diagram_and_diff(
        client_as: Callable[[str], Client]) -> None:
    page = post(client_as("max"), "validate", version_8())
    assert page.status_code == 200
    assert "Validate: valid: complaint v8" in result(page.text)
    assert "it would be published as v8" in result(page.text)
    assert "investigating" in result(page.text)
    assert '<span class="del">-  in_progress:' in page.text


def test_a_manager_publishes_the_next_version_with_her_name(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    answer = post(client_as("max"), "publish", version_8())
    assert answer.status_code == 303
    assert answer.headers["location"] == "/rules/workflows/complaint?version=8"
    assert versions(desk) == [7, 8]
    published = desk.publications.of("workflow", "complaint")
    assert [(p.version, p.published_by) for p in published] == [(8, "max")]
    assert desk.registry.active("complaint").spec.version == 8  # new cases start on it
    page = client_as("sam").get("/rules/workflows/complaint")
    assert "published by max" in page.text


@pytest.mark.parametrize(("change", "says"), [
    (lambda t: t.replace("to: resolved", "to: reslved", 1), "unknown state 'reslved'"),
    (lambda t: t.replace("version: 8", "version: 7"), "version 7 is already taken"),
    (lambda t: t.replace("version: 8", "version: 6"), "set 'version: 8'"),
    (lambda t: COMPLAINT.replace("version: 7", "version: 8"), "this is the content of v7"),
    (lambda t: t.replace("workflow: complaint", "workflow: grievance"),
     "this editor is for workflow 'complaint'"),
])
def test_what_may_not_be_published_is_refused_and_nothing_is_stored(
        desk: Casework, client_as: Callable[[str], Client], change: Callable[[str], str],
        says: str) -> None:
    page = post(client_as("max"), "publish", change(version_8()))
    assert page.status_code == 422
    assert "the workflow" in result(page.text) and says in result(page.text)
    assert versions(desk) == [7]
    assert desk.publications.of("workflow") == []


def test_only_managers_edit_workflows(client_as: Callable[[str], Client]) -> None:
    for name in ("sam", "ada", "ann"):
        client = client_as(name)
        assert client.get("/rules/workflows/complaint/edit").status_code == 403
        assert post(client, "publish", version_8()).status_code == 403
        assert client.get("/rules/workflows/complaint/migrate").status_code == 403
    assert "/rules/workflows/complaint/edit" not in client_as("sam").get(
        "/rules/workflows/complaint").text
    manager = client_as("max")
    for page in ("/rules", "/rules/workflows/complaint"):
        shown = manager.get(page).text
        assert 'href="/rules/workflows/complaint/edit"' in shown
        assert 'href="/rules/workflows/complaint/migrate"' in shown


def test_an_unknown_workflow_is_not_found(client_as: Callable[[str], Client]) -> None:
    client = client_as("max")
    assert client.get("/rules/workflows/grievance/edit").status_code == 404
    assert client.get("/rules/workflows/grievance/migrate").status_code == 404


def moves(page: str) -> dict[str, list[str]]:
    """The rows of the moves table by case, as text cells."""
    section = re.search(r'<section id="moves".*?</section>', page, re.S)
    assert section, "no moves on the page"
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section.group(0), re.S):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[0].startswith("#"):
            rows[cells[0]] = cells
    return rows


def test_the_migrate_page_maps_each_state_in_use_to_the_same_name_by_default(
        desk: Casework, opened: tuple[int, int], client_as: Callable[[str], Client]) -> None:
    client = client_as("max")
    assert post(client, "publish", version_8()).status_code == 303
    page = client.get("/rules/workflows/complaint/migrate")
    assert page.status_code == 200
    assert '<option value="7" selected>v7 (2 open)</option>' in page.text
    assert '<option value="8" selected>v8</option>' in page.text
    received = re.search(r'<select id="map-received".*?</select>', page.text, re.S)
    working = re.search(r'<select id="map-in_progress".*?</select>', page.text, re.S)
    assert received and '<option value="received" selected>' in received.group(0)
    assert working and '<option value="" selected>' in working.group(0)


def test_a_dry_run_lists_the_moves_then_the_run_moves_them_audited(
        desk: Casework, opened: tuple[int, int], client_as: Callable[[str], Client]) -> None:
    waiting, working = opened
    client = client_as("max")
    assert post(client, "publish", version_8()).status_code == 303
    dry = migrate(client, "dry-run", from_version="7", to_version="8",
                  **{"map-received": "received"})
    assert dry.status_code == 200
    rows = moves(dry.text)
    assert rows[f"#{waiting}"][1:] == ["v7 received", "v8 received", "would move"]
    assert "refused" in rows[f"#{working}"][3] and "in_progress" in rows[f"#{working}"][3]
    assert "would move 1 case(s) to v8, refused 1" in dry.text
    assert desk.store.get_case(waiting).version == 7  # a dry run changes nothing
    done = migrate(client, "run", from_version="7", to_version="8",
                   **{"map-received": "received", "map-in_progress": "investigating"})
    assert done.status_code == 200
    assert "moved 2 case(s) to v8, refused 0" in done.text
    case = desk.store.get_case(working)
    assert (case.version, case.state) == (8, "investigating")
    migrated = desk.store.case_events(working)[-1]
    assert (migrated.name, migrated.actor, migrated.role) == ("case.migrated", "max", "manager")
    assert (migrated.from_state, migrated.to_state) == ("in_progress", "investigating")
    assert json.loads(migrated.payload)["to_version"] == 8
    assert desk.verify().breaks == []


@pytest.mark.parametrize(("form", "says"), [
    ({"map-in_progres": "investigating"}, "'in_progres' is not a state of complaint v7"),
    ({"map-in_progress": "investigatin"}, "'investigatin' is not a state of complaint v8"),
    ({"to_version": "9"}, "has no stored version '9'"),
    ({"from_version": "8"}, "are on the version to move to already"),
])
def test_a_map_naming_unknown_states_is_refused_and_nothing_moves(
        desk: Casework, opened: tuple[int, int], client_as: Callable[[str], Client],
        form: dict[str, str], says: str) -> None:
    client = client_as("max")
    assert post(client, "publish", version_8()).status_code == 303
    before = [desk.store.case_events(case_id) for case_id in opened]
    answer = migrate(client, "run", **{"from_version": "7", "to_version": "8",
                                       "map-received": "received", **form})
    assert answer.status_code == 422
    assert "Nothing was moved" in answer.text and says in html.unescape(answer.text)
    assert [desk.store.case_events(case_id) for case_id in opened] == before
    assert {desk.store.get_case(case_id).version for case_id in opened} == {7}


def test_htmx_gets_the_result_or_the_moves_alone_and_a_redirect_after_publishing(
        desk: Casework, opened: tuple[int, int], client_as: Callable[[str], Client]) -> None:
    client = client_as("max")
    headers = {"HX-Request": "true"}
    checked = client.post("/rules/workflows/complaint/validate", headers=headers,
                          data={"source": "workflow: [", **csrf(client)})
    assert checked.status_code == 422
    assert checked.text.lstrip().startswith('<section id="result"')
    done = client.post("/rules/workflows/complaint/publish", headers=headers,
                       data={"source": version_8(), **csrf(client)})
    assert done.headers["hx-redirect"] == "/rules/workflows/complaint?version=8"
    dry = client.post("/rules/workflows/complaint/migrate/dry-run", headers=headers,
                      data={"from_version": "7", "to_version": "8", **csrf(client)})
    assert dry.status_code == 200
    assert dry.text.lstrip().startswith('<section id="moves"')
    assert "would move 1 case(s) to v8, refused 1" in dry.text


def test_only_the_cases_of_the_chosen_version_move(
        desk: Casework, opened: tuple[int, int], client_as: Callable[[str], Client]) -> None:
    client = client_as("max")
    assert post(client, "publish", version_8()).status_code == 303
    on_8 = desk.runtime.start("complaint", {"channel": "web", "summary": "Late"}, ANN, NOW,
                              customer="C7").id
    assert post(client, "publish", version_8().replace("version: 8", "version: 9").replace(
        "title: Customer complaint", "title: A customer's complaint")).status_code == 303
    page = client.get("/rules/workflows/complaint/migrate?from_version=8&to_version=9").text
    assert "v7 (2 open)" in page and "v8 (1 open)" in page
    done = migrate(client, "run", from_version="8", to_version="9")
    assert "moved 1 case(s) to v9, refused 0" in done.text
    assert desk.store.get_case(on_8).version == 9
    assert {desk.store.get_case(case_id).version for case_id in opened} == {7}
