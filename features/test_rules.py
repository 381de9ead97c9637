"""Steps for rules.feature: the manager works through the real `casework` command line."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, scenarios, then, when

from engine.cli.main import main
from engine.workflows.registry import table_files
from tests.fixtures import ROOT

scenarios("rules.feature")
NOW = "2026-03-02T09:00:00Z"


@dataclass
class Desk:
    """The manager's folder (a copy of the shipped definitions) and the shared database."""

    home: Path
    database_url: str
    last: Result | None = None
    last_command: tuple[str, ...] = ()

    def run(self, *args: str) -> Result:
        env = {"CASEWORK_DATABASE_URL": self.database_url, "CASEWORK_NOW": NOW}
        self.last = CliRunner().invoke(main, [*args, "--home", str(self.home)], env=env)
        self.last_command = args
        return self.last

    def table(self, name: str) -> Path:
        return self.home / "rules" / f"{name}.yaml"

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.table(name)
        text = path.read_text()
        assert old in text, f"{old!r} is not in {path}"
        path.write_text(text.replace(old, new, 1))


@pytest.fixture(autouse=True)
def desk(database_url: str, tmp_path: Path) -> Desk:
    """Every scenario runs once on SQLite and once on PostgreSQL (autouse: collected params)."""
    for folder in ("workflows", "rules"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return Desk(tmp_path, database_url)


@given("the shipped decision tables are published")
def published(desk: Desk) -> None:
    for path in table_files(desk.home):
        assert desk.run("rules", "publish", str(path)).exit_code == 0, desk.last


@given(parsers.parse('the manager works on a copy of "{name}"'), target_fixture="table")
def working_copy(name: str) -> str:
    return name


@when(parsers.parse('she raises the lower bound of row "{row}" to "{cell}" as version {version:d}'))
def raise_bound(desk: Desk, table: str, row: str, cell: str, version: int) -> None:
    desk.edit(table, 'clv: "[150..500)"', f'clv: "{cell}"')
    desk.edit(table, "version: 1", f"version: {version}")


@when(parsers.parse('she misspells the hit policy as "{hit}" as version {version:d}'))
def misspell(desk: Desk, table: str, hit: str, version: int) -> None:
    desk.edit(table, "hit: first", f"hit: {hit}")
    desk.edit(table, "version: 1", f"version: {version}")


@when(parsers.parse("she changes that test to a customer with a CLV of {clv:d}"))
def change_test(desk: Desk, table: str, clv: int) -> None:
    desk.edit(table, "clv: 150, years_active: 3", f"clv: {clv}, years_active: 3")


@when("she runs the table tests")
def run_tests(desk: Desk) -> None:
    desk.run("rules", "test")


@when("she publishes the table")
def publish(desk: Desk, table: str) -> None:
    desk.run("rules", "publish", str(desk.table(table)))


@then(parsers.parse('the tests fail at the test of row "{row}", expecting "{expected}" but '
                    'getting "{actual}"'))
def failing_tests(desk: Desk, table: str, row: str, expected: str, actual: str) -> None:
    assert desk.last is not None
    assert desk.last.exit_code == 1
    lines = desk.table(table).read_text().splitlines()
    test_line = next(i for i, line in enumerate(lines, 1) if "clv: 150, years_active: 3" in line)
    failed = [line for line in desk.last.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1
    assert f"{desk.table(table)}:{test_line}:" in failed[0]  # the test's `- given:` line
    assert f"expected {{'tier': '{expected}'}}, got {{'tier': '{actual}'}}" in failed[0]
    assert row in lines[test_line + 1]  # the test's `rows:` names the row it is about


def active_version(desk: Desk, table: str) -> int:
    result = desk.run("rules", "eval", table, "--published", "--json", "--input",
                      json.dumps(SAMPLE[table]))
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["version"])


SAMPLE: dict[str, dict[str, Any]] = {
    "customer_tier": {"revenue_share": 0.0, "clv": 0, "years_active": 0, "r_score": 1,
                      "f_score": 1, "m_score": 1},
    "complaint_routing": {"category": "billing", "channel": "email"},
}


@then(parsers.parse('publishing is refused and "{table}" version {version:d} is still active'))
@then(parsers.parse('"{table}" version {version:d} is still active'))
def still_active(desk: Desk, table: str, version: int) -> None:
    assert desk.last is not None
    if desk.last_command[:2] == ("rules", "publish"):
        assert desk.last.exit_code == 1
    assert active_version(desk, table) == version


@then(parsers.parse('"{table}" version {version:d} is active'))
def is_active(desk: Desk, table: str, version: int) -> None:
    assert desk.last is not None
    assert desk.last.exit_code == 0, desk.last.output
    assert f"published {table} v{version} (was v1)" in desk.last.stdout
    assert active_version(desk, table) == version


@then(parsers.parse('a customer with a CLV of {clv:d} is now "{tier}", decided by row "{row}"'))
def customer_now(desk: Desk, table: str, clv: int, tier: str, row: str) -> None:
    inputs = {**SAMPLE[table], "clv": clv}
    result = desk.run("rules", "eval", table, "--published", "--json", "--input",
                      json.dumps(inputs))
    decision = json.loads(result.stdout)
    assert (decision["outputs"], decision["matched"]) == ({"tier": tier}, [row])


@then(parsers.parse('publishing is refused with "{message}" at its line'))
def refused_with(desk: Desk, table: str, message: str) -> None:
    assert desk.last is not None
    assert desk.last.exit_code == 1
    lines = desk.table(table).read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("hit:"))
    assert re.search(rf"{re.escape(str(desk.table(table)))}:{line}: {re.escape(message)}",
                     desk.last.stderr), desk.last.stderr


def triage_billing(desk: Desk) -> int:
    desk.run("customers", "add", "C-9")  # once; later scenarios find the customer there
    desk.run("users", "add", "ann", "--role", "agent")  # likewise the user who acts
    started = desk.run("cases", "start", "complaint", "--customer", "C-9", "--field",
                       "channel=email", "--field", "summary=Charged twice", "--actor", "ann",
                       "--role", "agent", "--json")
    assert started.exit_code == 0, started.output
    case_id = int(json.loads(started.stdout)["id"])
    fired = desk.run("cases", "fire", str(case_id), "triage", "--field", "category=billing",
                     "--actor", "ann", "--role", "agent")
    assert fired.exit_code == 0, fired.output
    return case_id


@given("a complaint about billing has been triaged", target_fixture="first")
def first_complaint(desk: Desk) -> int:
    return triage_billing(desk)


@when(parsers.parse('the manager publishes a routing table version {version:d} that sends '
                    'billing to "{queue}"'))
def publish_routing(desk: Desk, version: int, queue: str) -> None:
    desk.edit("complaint_routing", "version: 2", f"version: {version}")
    for key in ("then", "expect"):
        desk.edit("complaint_routing", f"    {key}: {{queue: billing}}",
                  f"    {key}: {{queue: {queue}}}")
    result = desk.run("rules", "publish", str(desk.table("complaint_routing")))
    assert result.exit_code == 0, result.output


@when("a second complaint about billing is triaged", target_fixture="second")
def second_complaint(desk: Desk) -> int:
    return triage_billing(desk)


def routing_decision(desk: Desk, case_id: int) -> dict[str, Any]:
    history = json.loads(desk.run("cases", "history", str(case_id), "--json").stdout)
    decided = [e["payload"] for e in history if e["name"] == "rule.decided"
               and e["payload"]["table"] == "complaint_routing"]
    assert len(decided) == 1
    return dict(decided[0])


@then(parsers.parse('the first complaint\'s routing decision names version {version:d} and the '
                    'queue "{queue}"'))
def first_decision(desk: Desk, first: int, version: int, queue: str) -> None:
    decision = routing_decision(desk, first)
    assert (decision["version"], decision["outputs"]) == (version, {"queue": queue})
    assert json.loads(desk.run("cases", "show", str(first), "--json").stdout)["queue"] == queue


@then(parsers.parse('the second complaint\'s routing decision names version {version:d} and the '
                    'queue "{queue}"'))
def second_decision(desk: Desk, second: int, version: int, queue: str) -> None:
    decision = routing_decision(desk, second)
    assert (decision["version"], decision["outputs"]) == (version, {"queue": queue})
    assert json.loads(desk.run("cases", "show", str(second), "--json").stdout)["queue"] == queue
