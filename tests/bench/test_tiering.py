"""bench/tiering.py: runs at a tiny size and reports every figure with its floor, and stops with
one line (exit code 2) when its data is missing or its database is locked."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bench.tiering import imported
from tests.fixtures import CDNOW, ROOT

BENCH = ROOT / "bench" / "tiering.py"

needs_cdnow = pytest.mark.skipif(not (CDNOW / "CDNOW_master.txt").is_file(),
                                 reason=f"no CDNOW master file in {CDNOW}")


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          env={**os.environ, "CASEWORK_CDNOW_DIR": str(CDNOW), **(env or {})},
                          timeout=300, check=False)


@needs_cdnow
def test_a_tiny_run_reports_the_recomputes_next_to_their_floor(tmp_path: Path) -> None:
    done = bench("--customers", "2000", "--rounds", "1", "--json", "--home", str(tmp_path))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["customers"] == 2000 and result["purchases"] > 2000
    for key in ("import_s", "recompute_s", "recompute_cpu_s", "recompute_floor_s",
                "recompute_again_s", "fit_s", "lifetimes_fit_s"):
        assert result[key] > 0, key
    assert result["recompute_floor_ratio"] == pytest.approx(
        result["recompute_s"] / result["recompute_floor_s"])
    assert set(result["recompute_split_s"]) == set(result["recompute_again_split_s"]) == \
        {"figures", "decide", "write"}
    assert result["rows_checked"] is True
    rows = result["floor_rows"]
    assert rows["customers"] == 2000 and rows["customer_figures"] == 2000
    assert rows["customer_events"] >= 2 * 2000 and rows["cases"] == sum(
        result["cases_started"].values()) > 0
    assert result["tier_changes"] == result["churn_risk_changes"] == 2000
    assert 0 < result["recompute_peak_rss_mb"] <= result["peak_rss_mb"] < 1536
    assert result["recompute_batches"] == 1  # 2,000 customers: one batch, no helper
    assert set(result["targets"]) == {"recompute_within_3x_floor",
                                      "recompute_again_under_60s_at_1m", "peak_under_1_5gb"}
    assert result["fit_log_likelihood"] == pytest.approx(result["lifetimes_log_likelihood"])
    manifest = json.loads((tmp_path / "imported.json").read_text())
    assert manifest == {"customers": 2000, "purchases": result["purchases"]}


def test_a_home_of_the_same_size_reuses_its_import(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "imported.db")) as kept:
        kept.execute("CREATE TABLE kept (x)")
    (tmp_path / "imported.json").write_text(json.dumps({"customers": 5, "purchases": 17}))
    assert imported(tmp_path, 5, {}) == (17, None)  # nothing run: no casework process
    with closing(sqlite3.connect(tmp_path / "casework.db")) as copied:
        assert copied.execute("SELECT name FROM sqlite_master").fetchall() == [("kept",)]


def test_a_missing_cdnow_file_stops_with_one_line(tmp_path: Path) -> None:
    done = bench("--customers", "10", "--json", env={"CASEWORK_CDNOW_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("tiering.py: the CDNOW master file") and "CASEWORK_CDNOW_DIR" in line


@needs_cdnow
def test_a_locked_database_stops_with_one_line(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "casework.db", isolation_level=None)) as holder:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN IMMEDIATE")
        done = bench("--customers", "10", "--json", "--home", str(tmp_path))
        holder.execute("ROLLBACK")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "is locked by another process" in line and "--home" in line
