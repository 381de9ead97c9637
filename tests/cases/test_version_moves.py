"""`casework workflows migrate`: running cases move to a new version only when asked, each with
an audited event; cases without a mapping, and maps naming unknown states, are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.test_main import AGENT, home, run, started

__all__ = ["home", "run"]  # fixtures shared with test_cli


def fire(run: Any, case_id: int, trigger: str, *fields: str) -> None:
    result = run("cases", "fire", str(case_id), trigger, *AGENT,
                 *[arg for f in fields for arg in ("--field", f)])
    assert result.exit_code == 0, result.output


def version_8(home: Path) -> None:
    """The manager's change: 'in_progress' becomes 'investigating', with a new field."""
    path = home / "workflows" / "complaint.yaml"
    text = path.read_text().replace("version: 7", "version: 8")
    text = text.replace("in_progress", "investigating")
    text = text.replace("  priority:", "  channel_note: {type: text}\n  priority:", 1)
    path.write_text(text)


def shown(run: Any, case_id: int) -> dict[str, Any]:
    result = run("cases", "show", str(case_id), "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_a_dry_run_lists_the_moves_and_changes_nothing(run: Any, home: Path) -> None:
    waiting, working = started(run), started(run)
    fire(run, working, "triage", "category=billing")
    version_8(home)
    result = run("workflows", "migrate", "complaint", "--to", "8", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    moves = {m["case_id"]: m for m in json.loads(result.stdout)["moves"]}
    assert (moves[waiting]["to_state"], moves[waiting]["refused"]) == ("received", None)
    assert moves[working]["to_state"] is None
    assert "map it with --map in_progress=STATE" in moves[working]["refused"]
    assert shown(run, waiting)["version"] == shown(run, working)["version"] == 7


def test_migrating_moves_mapped_cases_with_an_audited_event(run: Any, home: Path) -> None:
    waiting, working = started(run), started(run)
    fire(run, working, "triage", "category=billing")
    version_8(home)
    result = run("workflows", "migrate", "complaint", "--to", "8", "--map",
                 "in_progress=investigating")
    assert result.exit_code == 0, result.output
    assert "complaint: moved 2 case(s) to v8, refused 0" in result.stdout
    case = shown(run, working)
    assert (case["version"], case["state"], case["queue"]) == (8, "investigating", "billing")
    history = json.loads(run("cases", "history", str(working), "--json").stdout)
    migrated = history[-1]
    assert (migrated["name"], migrated["from_state"], migrated["to_state"]) == (
        "case.migrated", "in_progress", "investigating")
    assert migrated["payload"]["from_version"] == 7
    assert migrated["payload"]["to_version"] == 8
    # the case now runs on v8: its triggers are v8's
    fire(run, working, "resolve", "resolution=done", "root_cause=typo", "remedy=apology")
    assert shown(run, waiting)["version"] == 8
    assert run("audit", "verify").exit_code == 0
    again = run("workflows", "migrate", "complaint", "--to", "8")
    assert "moved 0 case(s)" in again.stdout  # nothing left to move


def test_a_map_naming_unknown_states_is_refused_and_changes_nothing(run: Any,
                                                                    home: Path) -> None:
    case_id = started(run)
    version_8(home)
    result = run("workflows", "migrate", "complaint", "--to", "8", "--map",
                 "in_progres=investigating")
    assert result.exit_code != 0
    assert "'in_progres' is not a state of any version of 'complaint'; did you mean " \
        "'in_progress'?" in result.stderr
    result = run("workflows", "migrate", "complaint", "--to", "8", "--map",
                 "in_progress=investigatng")
    assert "'investigatng' is not a state of complaint v8; did you mean 'investigating'?" \
        in result.stderr
    result = run("workflows", "migrate", "complaint", "--to", "9")
    assert "has no stored version 9" in result.stderr
    assert shown(run, case_id)["version"] == 7
