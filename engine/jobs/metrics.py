"""Prometheus metrics of a running casework (prometheus-client): what this process did (fires
by workflow and outcome, timers by kind and outcome) and what waits in the database (timers due
and late, the outbox's backlog, open cases per queue), read at each scrape.

Several server processes of one `casework serve --processes N` share their counts through
prometheus-client's multiprocess mode: serve sets PROMETHEUS_MULTIPROC_DIR to a fresh folder
before it starts them, and every scrape, whichever process answers it, sums the folder's files.
Servers on other machines, and workers, are scraped each on their own (docs/operations.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from engine.cases.runtime import FireOutcome
from engine.kernel.records import Operating

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"

FIRES = Counter("casework_fires", "Triggers fired by people and systems (engine Runtime.fire), "
                "by workflow and outcome", ["workflow", "outcome"])
TIMERS = Counter("casework_timers", "Timers this process's worker took, by kind (timer, sla) "
                 "and outcome (fired, skipped, failed, lost: its lease ran out and another "
                 "worker took it over)", ["kind", "outcome"])


def count_fire(workflow: str, outcome: FireOutcome) -> None:
    """A Runtime observer (engine.cases.runtime.FireObserver)."""
    FIRES.labels(workflow, outcome.value).inc()


class Figures(Collector):
    """The database's operating figures as gauges, read when scraped."""

    def __init__(self, operating: Operating, clock: Callable[[], datetime]) -> None:
        self.operating = operating
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        found = self.operating.figures(self.clock())
        for name, text, value in (
                ("casework_timers_due", "Pending timers whose time has come", found.timers_due),
                ("casework_timers_late", "Due timers not fired a minute after their time",
                 found.timers_late),
                ("casework_timer_lag_seconds", "How long the oldest due timer has waited",
                 found.oldest_due_seconds),
                ("casework_outbox_unsent", "Mail waiting to be sent", found.outbox_unsent),
                ("casework_outbox_failed", "Mail given up after its attempts",
                 found.outbox_failed)):
            yield GaugeMetricFamily(name, text, value=value)
        queues = GaugeMetricFamily("casework_queue_open_cases", "Open cases per queue",
                                   labels=["queue"])
        for queue, count in sorted(found.open_by_queue.items()):
            queues.add_metric([queue], count)
        yield queues


def worker_registry(operating: Operating, clock: Callable[[], datetime]) -> CollectorRegistry:
    """What `casework worker --metrics-port` serves: this process's counts and the figures."""
    registry = CollectorRegistry()
    registry.register(_Counted())
    registry.register(Figures(operating, clock))
    return registry


class _Counted(Collector):
    """This process's own metrics (the default registry), inside another registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(operating: Operating, clock: Callable[[], datetime]) -> bytes:
    """The text a scrape gets: this process's (or its siblings') counts, then the figures."""
    if os.environ.get(MULTIPROCESS):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    figures = CollectorRegistry()
    figures.register(Figures(operating, clock))
    return generate_latest(counted) + generate_latest(figures)
