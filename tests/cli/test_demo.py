"""`casework demo` in any folder: on the shipped definitions when the folder has none, refused
before it touches a database when the folder's own lack what it needs, and only once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import main
from engine.kernel.settings import settings_for
from engine.wiring import open_casework
from tests.fixtures import ROOT

NOW = "2026-03-02T09:00:00Z"


def demo(*args: str) -> Result:
    env = {"CASEWORK_HOME": None, "CASEWORK_DATABASE_URL": None, "CASEWORK_NOW": None}
    return CliRunner().invoke(main, ["demo", "--no-serve", "--now", NOW, *args], env=env)


def counts(home: Path) -> tuple[int, int, int]:
    """Cases, customers and users in the home's database."""
    casework = open_casework(settings_for(home))
    try:
        cases, customers, _ = casework.verify_history()
        return cases, customers, len(casework.accounts.users())
    finally:
        casework.close()


def test_the_demo_runs_in_an_empty_folder_once_after_a_refusal_that_left_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rules").mkdir()  # a home of its own, without what the demo works with
    shutil.copy(ROOT / "rules" / "calendars.yaml", tmp_path / "rules")
    monkeypatch.chdir(tmp_path)
    refused = demo()
    assert refused.exit_code == 2
    assert refused.stderr == (
        "casework: the demo needs workflows/complaint.yaml, workflows/annual_cycle.yaml, "
        f"rules/customer_tier.yaml, which {tmp_path} does not define; `casework init` writes "
        "the shipped ones there (or run the demo in a folder without workflows/ and rules/)\n")
    assert [p.name for p in tmp_path.iterdir()] == ["rules"]  # no database begun
    shutil.rmtree(tmp_path / "rules")

    first = demo()
    assert first.exit_code == 0, first.output
    assert "loaded 7 workflow(s) shipped with casework" in first.stdout
    assert "demo complaints opened: 36" in first.stdout
    assert "history of 2528 case(s) and 2357 customer(s) verified: intact" in first.stdout
    assert "already there" not in first.stdout
    # the shipped definitions are read where they are, not copied into the folder
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("casework.db")] == []
    made = counts(tmp_path)
    assert made == (2528, 2357, 7)

    again = demo()
    assert again.exit_code == 0, again.output
    for line in ["demo customers (CDNOW sample): 2357 customers, 6919 purchases (already "
                 "imported)", "demo complaints opened: 0", "cases opened: none",
                 "annual cycles opened for 1998: 0",
                 f"the demo was already there in {tmp_path}: nothing added",
                 "next: casework serve   |   casework customers show 00004"]:
        assert line in again.stdout, again.stdout
    assert counts(tmp_path) == made
