"""bench/fire.py and bench/timers.py run, as a user runs them, at a tiny size: each prints the
figures it promises, its floor wrote exactly what casework wrote (the benches stop otherwise),
and a PostgreSQL that cannot be reached stops them with one clear line, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.fire_floor import Floor
from tests.fixtures import ROOT

# SQL statements per triage that reach SQLite (bench/fire.py counts them)
STATEMENTS_FLOOR = 17


def bench(script: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                            capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_fire_bench_reports_every_path_against_a_floor_of_the_same_rows() -> None:
    found: dict[str, Any] = json.loads(bench("fire.py", "--cases", "30", "--repeat", "1",
                                             "--json").stdout)
    for key in ("fire_per_s", "raw_sql_per_s", "spiff_persisted_per_s", "orm_per_s",
                "machine_only_per_s"):
        assert found[key] > 0, key
    assert found["ratio_to_raw"] == pytest.approx(
        found["raw_sql_per_s"] / found["fire_per_s"], rel=0.01)
    # 30 cases: each with its row, at least 10 events (4 at intake, 6 or more at triage), 2
    # clocks, 2 timers; the customers and the queue-count changes besides
    assert found["rows_checked"] > 30 * (1 + 10 + 2 + 2)
    # the same statements reach SQLite from both (each row of an executemany counts; the
    # schema's triggers do not, nor the search index's reads of its configuration)
    statements = found["statements_per_fire"]
    assert statements["raw_sql"] == STATEMENTS_FLOOR
    assert STATEMENTS_FLOOR <= statements["casework"] < STATEMENTS_FLOOR + 1


@pytest.mark.postgres
def test_fire_bench_on_postgresql_with_processes() -> None:
    found = json.loads(bench("fire.py", "--cases", "10", "--repeat", "1", "--postgres",
                             "--postgres-cases", "40", "--json").stdout)["postgres"]
    assert found["fsync"] == "on"
    assert set(found["per_s"]) == {f"{path}_{n}" for path in ("casework", "raw_sql")
                                   for n in (1, 2, 4)}
    assert all(rate > 0 for rate in found["per_s"].values())


def test_the_floor_stops_on_a_case_it_did_not_plan_for(tmp_path: Path) -> None:
    """The floor checks the clocks it reads: it cannot silently write over other rows."""
    import sqlite3

    from bench.fire import floor_plan, prepare

    url = f"sqlite:///{tmp_path / 'c.db'}"
    [case_id] = prepare(url, 1)
    plan = floor_plan(url, case_id, sqlite=True)
    with sqlite3.connect(tmp_path / "c.db") as connection:
        connection.execute("DELETE FROM sla_clocks WHERE case_id = ?", (case_id,))
    floor = Floor(str(tmp_path / "c.db"), plan)
    with pytest.raises(RuntimeError, match="not those the floor planned for"):
        floor.fire((case_id, {"category": "billing", "severity": "high"}))
    floor.close()


def test_timers_bench_reports_workers_against_its_floor() -> None:
    found = json.loads(bench("timers.py", "--timers", "40", "--no-postgres", "--json").stdout)
    assert found["exactly_once"] is True
    assert found["sqlite_1_worker_per_s"] > 0 and found["sqlite_floor_per_s"] > 0


@pytest.mark.parametrize("script", ["fire.py", "timers.py"])
def test_a_postgresql_that_cannot_be_reached_stops_the_bench_with_one_line(script: str) -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:9/postgres"  # port 9: discard
    size = ("--cases", "5", "--repeat", "1") if script == "fire.py" else ("--timers", "5")
    result = bench(script, "--postgres-url", unreachable, "--json", *size, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{script}: cannot connect to PostgreSQL at ") and "9/postgres" in line
