"""bench/soak.py at a tiny size: it starts PostgreSQL, three servers and two workers, loads
them, kills, drains and checks, and says so; its checks are the issue's (nothing lost, every
timer fired once, every chain verified)."""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures import ROOT

BENCH = ROOT / "bench" / "soak.py"


def test_a_tiny_soak_runs_every_phase_and_its_checks_pass() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--duration", "12", "--scale", "2",
                           "--clients", "4", "--seed", "3"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines if line.startswith("  ") and
            line.split()[0] in ("1", "2", "3") and "x one" not in line][-3:] == ["1", "2", "3"]
    assert any(line.startswith("  lost updates        0 ") for line in lines), done.stdout
    timers = next(line for line in lines if line.startswith("  timers "))
    assert "duplicated 0, not fired 0" in timers
    assert next(line for line in lines if line.startswith("  audit verify")).startswith(
        "  audit verify        exit 0")
    assert "kill -9: server1" in done.stdout
