"""The worker's metrics: timers counted by kind and outcome as they fire, and served by
`casework worker --metrics-port` with the database's figures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from prometheus_client import REGISTRY

from engine.cases.runtime import Actor
from engine.kernel.settings import Settings
from engine.wiring import Casework, open_casework
from engine.workflows.loading import load_workflow_text
from tests.cli.test_serve import free_port
from tests.fixtures import ROOT, T0, expiring_workflow

ANN = Actor("ann", "agent")
CASEWORK = str(Path(sys.executable).parent / "casework")


def counted(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("casework_timers_total",
                                     {"kind": kind, "outcome": outcome}) or 0.0


def expiring(casework: Casework, count: int) -> None:
    text = expiring_workflow()
    casework.registry.deploy(load_workflow_text(text, "expiring.yaml"), text, T0)
    for _ in range(count):
        casework.runtime.start("expiring", {"note": "n"}, ANN, T0)


def test_fired_timers_are_counted_by_kind_and_outcome(casework: Casework) -> None:
    expiring(casework, 3)
    before = counted("timer", "fired")
    assert casework.worker.fire_due_timers(T0 + timedelta(hours=2)) == 3
    assert counted("timer", "fired") - before == 3


def test_the_worker_serves_its_metrics_and_the_figures_on_its_port(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    casework = open_casework(Settings(home=ROOT, database_url=url), migrate=True)
    try:
        expiring(casework, 2)  # due an hour after T0, long past: the worker fires them
    finally:
        casework.close()
    port = free_port()
    env = {**os.environ, "CASEWORK_DATABASE_URL": url, "CASEWORK_HOME": str(ROOT)}
    env.pop("CASEWORK_NOW", None)
    worker = subprocess.Popen([CASEWORK, "worker", "--interval", "0.2", "--metrics-port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        text, deadline = "", time.monotonic() + 60
        while 'casework_timers_total{kind="timer",outcome="fired"} 2.0' not in text:
            assert time.monotonic() < deadline, text
            assert worker.poll() is None, worker.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=5) as answer:
                    text = answer.read().decode()
            except OSError:
                pass
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.communicate(timeout=60)
    assert "casework_timers_due 0.0" in text
    assert "casework_outbox_unsent 0.0" in text
