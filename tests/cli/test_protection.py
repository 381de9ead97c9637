"""`casework holds ...`, `casework retention run`, `casework worker --retention-every` and the
retention file in `casework check`, as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.store.schema import protection_log
from tests.cli.test_main import AGENT, home, run, started

__all__ = ["home", "run"]  # fixtures shared with test_main

MANAGER = ["--actor", "max", "--role", "manager"]
LATER = ["--now", "2032-03-03T09:00:00Z"]  # six years after the cases close


def closed(run: Any) -> int:
    case_id = started(run)
    for trigger, fields in (("triage", ["category=billing"]),
                            ("resolve", ["resolution=Refunded", "root_cause=Twice",
                                         "remedy=refund"]),
                            ("close", ["csat=4"])):
        fired = run("cases", "fire", str(case_id), trigger, *AGENT,
                    *[part for f in fields for part in ("--field", f)])
        assert fired.exit_code == 0, fired.output
    return case_id


def test_a_hold_stops_retention_until_it_is_released(run: Any) -> None:
    case_id = closed(run)
    refused = run("holds", "place", "--customer", "C1", "--reason", "claim", *AGENT)
    assert refused.exit_code == 2
    assert "role 'agent' may not place a legal hold" in refused.stderr
    placed = run("holds", "place", "--customer", "C1", "--reason", "claim 17", *MANAGER)
    assert (placed.exit_code, placed.stdout) == (0, "hold 1 placed on customer C1\n")
    listed = run("holds", "list", "--json")
    assert [(h["id"], h["customer"], h["reason"]) for h in map(json.loads,
            listed.stdout.splitlines())] == [(1, "C1", "claim 17")]
    dry = run("retention", "run", "--dry-run", *LATER)
    assert dry.stdout == ("retention (dry run): would delete 0 case(s), would erase 0; "
                          f"1 under a legal hold ({case_id})\n")
    released = run("holds", "release", "1", "--reason", "settled", *MANAGER)
    assert (released.exit_code, released.stdout) == (0, "hold 1 on customer C1 released\n")
    assert run("holds", "list").stdout.count("claim 17") == 0
    assert "settled" in run("holds", "list", "--all").stdout
    done = run("retention", "run", *LATER)
    assert (done.exit_code, done.stdout) == (
        0, f"retention: deleted 0 case(s), erased 1 ({case_id}); 0 under a legal hold\n")
    again = json.loads(run("retention", "run", "--json", *LATER).stdout)
    assert (again["erased"], again["held"], again["dry_run"]) == (0, 0, False)
    unknown = run("holds", "release", "7", "--reason", "x", *MANAGER)
    assert unknown.exit_code == 2 and "there is no hold 7" in unknown.stderr


def test_check_names_a_bad_retention_rule_at_its_line(run: Any, home: Path) -> None:
    path = home / "rules" / "retention.yaml"
    text = path.read_text().replace("complaint: {closed_for: 5y", "complaints: {closed_for: 5y")
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "complaints:" in t)
    result = run("check")
    assert result.exit_code == 1
    assert f"{path}:{line}: unknown workflow 'complaints'; did you mean 'complaint'?" \
        in result.stdout


def test_the_worker_runs_retention_beside_its_sweeps(home: Path, run: Any,
                                                     database_url: str) -> None:
    started(run)  # the database made and the workflows stored
    env = {**os.environ, "CASEWORK_DATABASE_URL": database_url, "CASEWORK_HOME": str(home)}
    env.pop("CASEWORK_NOW", None)
    worker = subprocess.Popen(
        [sys.executable, "-c", "from engine.cli.main import main; main(prog_name='casework')",
         "worker", "--interval", "0.2", "--retention-every", "1"], env=env,
        stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    assert "retention every 1 s" in worker.stdout.readline()
    engine = sa.create_engine(database_url)
    try:
        for _ in range(300):  # until the first run is logged
            with engine.connect() as connection:
                acts = connection.execute(sa.select(protection_log.c.act)).scalars().all()
            if "retention.run" in acts:
                break
            time.sleep(0.1)
    finally:
        engine.dispose()
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    assert "retention.run" in acts
    assert (worker.returncode, out.strip().splitlines()[-1]) == (0, "worker: stopped")
