"""`casework rules publish` under `approval: required` prints that the version awaits approval
and makes nothing active; `casework rules requests` lists it; `casework rules approve ID --by`
a second person publishes it, and refuses the proposer. `casework worker --once` runs the jobs
requested on the pages."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import main
from engine.kernel.jobs import JobState
from engine.kernel.settings import Settings
from engine.wiring import open_casework
from engine.workflows.registry import table_files
from tests.fixtures import ROOT, T0

ORDINARY_CRITICAL = "then: {first_response_hours: 4, resolution_hours: 24, business_time: false"


@pytest.fixture
def run(tmp_path: Path, database_url: str) -> Any:
    home = tmp_path / "home"
    shutil.copytree(ROOT / "workflows", home / "workflows")
    shutil.copytree(ROOT / "rules", home / "rules")

    def invoke(*args: str) -> Result:
        env = {"CASEWORK_DATABASE_URL": database_url, "CASEWORK_NOW": "2026-03-02T09:00:00Z"}
        return CliRunner().invoke(main, [*args, "--home", str(home)], env=env)

    for table in table_files(home):
        assert invoke("rules", "publish", str(table)).exit_code == 0
    return invoke


def test_the_cli_publish_respects_approval_and_approve_needs_a_second_person(
        run: Any, tmp_path: Path) -> None:
    text = (ROOT / "rules" / "complaint_sla.yaml").read_text()
    candidate = tmp_path / "complaint_sla.yaml"
    candidate.write_text("approval: required\n" + text.replace("version: 2", "version: 3")
                         .replace(ORDINARY_CRITICAL, ORDINARY_CRITICAL.replace("24", "20")))
    proposed = run("rules", "publish", str(candidate), "--by", "max")
    assert proposed.exit_code == 0, proposed.output
    assert "complaint_sla v3 awaits approval (approval: required)" in proposed.output
    assert "request 1 proposed by max" in proposed.output
    active = run("rules", "eval", "complaint_sla", "--published", "--input",
                 '{"tier": "ordinary", "severity": "critical"}')
    assert "complaint_sla v2" in active.output, active.output
    assert "#1 table complaint_sla v3: pending" in run("rules", "requests").output
    own = run("rules", "approve", "1", "--by", "max")
    assert own.exit_code != 0 and "a second manager must approve it" in own.output
    approved = run("rules", "approve", "1", "--by", "mia")
    assert approved.exit_code == 0, approved.output
    assert "published table complaint_sla v3: proposed by max, approved by mia" in \
        approved.output
    active = run("rules", "eval", "complaint_sla", "--published", "--input",
                 '{"tier": "ordinary", "severity": "critical"}')
    assert "complaint_sla v3" in active.output
    assert "no pending publication requests" in run("rules", "requests").output


def test_worker_once_runs_the_jobs_requested_on_the_pages(run: Any, database_url: str,
                                                          tmp_path: Path) -> None:
    casework = open_casework(Settings(home=tmp_path / "home", database_url=database_url))
    try:  # a job runs on the stored workflow versions, not on the home's files
        casework.registry.deploy_home(tmp_path / "home", T0)
        queued = casework.jobs.request("cycles", {"year": "2026"}, "max", T0)
    finally:
        casework.close()
    ran = run("worker", "--once")
    assert ran.exit_code == 0, ran.output
    assert ran.stdout == "fired 0 timer(s)\nran 1 job(s)\n"
    casework = open_casework(Settings(home=tmp_path / "home", database_url=database_url))
    try:
        done = casework.jobs.store.get(queued.id)
    finally:
        casework.close()
    assert done.state == JobState.DONE, done.error
    assert done.summary is not None
    assert done.summary.startswith("2026 cycles: ")
