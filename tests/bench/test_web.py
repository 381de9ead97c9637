"""bench/web.py: at a tiny size it serves, loads and times every row and prints its figures as
JSON; a kept database another process holds locked stops it with one line and exit status 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bench.web import ROWS
from bench.web_data import Shape, database
from tests.fixtures import ROOT

BENCH = ROOT / "bench" / "web.py"
# both databases the same 100 cases (built once), one server process, every row once for 1 s;
# the load generator is the bench's own choice: wrk when installed, else httpx
TINY = ["--cases", "100", "--small-cases", "100", "--duration", "1", "--warm-up", "0",
        "--rounds", "1", "--processes", "1", "--json"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bench's folder of kept databases, here rather than bench/data."""
    return tmp_path_factory.mktemp("web-bench")


def bench(data: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *TINY, "--data", str(data)],
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_the_bench_serves_loads_and_times_every_row(data: Path) -> None:
    done = bench(data, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for db in (result["big"], result["small"]):
        assert db["shape"]["cases"] == 100
        for key, _ in ROWS:  # every row answered 200 throughout, or the bench had stopped
            row = db["runs"]["1"][key]
            assert row["requests"] > 0 and row["rps"] > 0 and row["bytes"] > 0, key
            assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], key
        split = db["query"]
        assert split["query_ms"] > 0 and split["render_ms"] > 0 and split["page_bytes"] > 0
        assert split["page_ms"] == pytest.approx(split["handler_ms"] + split["render_ms"])
        assert "ix_cases_open_by_sla_due_at" in split["plan"]
    assert result["queue_rps_2proc"] is None  # --processes 1
    assert result["queue_render_ms"] == result["big"]["query"]["render_ms"]
    assert result["queue_p95_ms"] == result["big"]["runs"]["1"]["queue"]["p95_ms"]
    assert set(result["p95_ratio_big_vs_small"]) == {key for key, _ in ROWS}
    assert isinstance(result["target_queue_p95_met"], bool)


def test_a_database_another_process_holds_locked_stops_the_bench_in_one_line(
        data: Path) -> None:
    path, _ = database(Shape(100, 10), data, lambda _: None)  # kept by the test above, or now
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        done = bench(data, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"bench/web.py: {path} is locked by another process (database is "
                           "locked after 2 s)")
    assert "fuser" in line
