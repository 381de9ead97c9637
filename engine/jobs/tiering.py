"""Tiers and churn warnings for the whole customer base: `casework tiers recompute`.

A recompute refreshes every customer's figures as of a day, runs the customer_tier table (and
the churn_risk table, if one is published) for every customer, and for each customer whose tier
or churn risk changed writes a `customer.tier_changed` / `customer.churn_risk_changed` event to
the customer's own history, with the table version, matched row and the inputs it read. Those
events start the cases that workflows ask for in `starts:`. Each batch of customers is one
transaction: figures, tier, history and started cases together or not at all; a recompute that
stops halfway is finished by running it again (unchanged customers write nothing).

The batches are worked out (engine/jobs/tier_changes.py) apart from their writing
(engine/jobs/tier_writing.py); with enough of them, a helper process works the next ones out
while this one writes (engine/jobs/tier_helper.py). What is written is the same either way.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.cases.runtime import Runtime
from engine.customers.figures import Figures, Models, compute_figures
from engine.customers.records import TIER_TABLE, CustomerStore
from engine.jobs.tier_changes import Preparer
from engine.jobs.tier_helper import Helper, can_help
from engine.jobs.tier_starts import Starts
from engine.jobs.tier_writing import BatchWriter
from engine.kernel.errors import NotFound, RuleError
from engine.kernel.specs import CUSTOMER_FIGURES
from engine.rules.tables import Decision, TableSpec, decide
from engine.workflows.registry import Registry

CHURN_TABLE = "churn_risk"
BATCH = 10_000  # at a million customers 5,000 took 5% longer; 20,000 no less
HELP_FROM = 4


@dataclass
class Recomputed:
    """What a recompute did."""

    as_of: date
    customers: int
    buyers: int
    tiers: Counter[str | None]
    tier_changes: int = 0
    risk_changes: int = 0
    started: Counter[str] = field(default_factory=Counter)
    moved: Counter[str] = field(default_factory=Counter)  # open cases a reaction fired on
    tier_table: tuple[str, int] = ("", 0)
    churn_table: tuple[str, int] | None = None
    models: Models | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # figures, decide, write
    batches: int = 0
    helped: int = 0  # batches a helper process worked out (engine/jobs/tier_helper.py)
    drafted: int = 0  # batches whose cases it drafted, started as drafted


def decide_all(table: TableSpec, rows: Sequence[dict[str, Any]],
               offered: dict[str, str]) -> list[Decision]:
    """Run a customer table over every customer's inputs, after checking it reads only what
    customers offer (so a misnamed input fails before anything is written)."""
    check_inputs(table, offered)
    return [decide(table, row) for row in rows]


def check_inputs(table: TableSpec, offered: dict[str, str]) -> None:
    """Refuse a customer table that reads an input customers lack, or one of another type."""
    missing = [name for name in table.inputs if name not in offered]
    if missing:
        raise RuleError(f"{table.name} reads {', '.join(missing)}, which customers do not offer "
                        f"(customer inputs: {', '.join(sorted(offered))}); see {table.path}")
    wrong = [f"{n} is {offered[n]}, not {t}" for n, t in table.inputs.items()
             if offered[n] != t and not (t == "double" and offered[n] == "int")]
    if wrong:
        raise RuleError(f"{table.name} declares inputs with the wrong type: {'; '.join(wrong)}")


@dataclass(frozen=True)
class Simulation:
    """What a candidate table version would decide over the stored customers, next to the
    active version: counts by (active decision, candidate decision) of one output."""

    table: str
    output: str
    active_version: int
    candidate_version: int
    as_of: date
    matrix: Counter[tuple[Any, Any]]
    order: tuple[Any, ...] = ()  # the output's declared values (strategic, key, ordinary)

    @property
    def values(self) -> list[Any]:
        """The values the matrix holds, in the output's declared order; values the
        declaration lacks after them (by their text), none last."""
        present = {v for pair in self.matrix for v in pair}
        known = [v for v in dict.fromkeys(self.order) if v in present]
        rest = sorted((v for v in present if v not in known and v is not None), key=str)
        return [*known, *rest, *([None] if None in present else [])]

    @property
    def customers(self) -> int:
        return sum(self.matrix.values())

    @property
    def changed(self) -> int:
        return sum(n for (old, new), n in self.matrix.items() if old != new)

    def to_json(self) -> dict[str, Any]:
        nested: dict[str, dict[str, int]] = {}
        for (old, new), count in sorted(self.matrix.items(), key=str):
            nested.setdefault(str(old), {})[str(new)] = count
        return {"table": self.table, "output": self.output,
                "active_version": self.active_version,
                "candidate_version": self.candidate_version, "as_of": self.as_of.isoformat(),
                "customers": self.customers, "changed": self.changed, "matrix": nested}


class Tiering:
    def __init__(self, customers: CustomerStore, registry: Registry, runtime: Runtime) -> None:
        self.customers = customers
        self.registry = registry
        self.runtime = runtime
        self.batch = BATCH  # customers per transaction
        self.help_from = HELP_FROM  # batches from which a helper process works them out

    def figures(self, as_of: date) -> Figures:
        with _collector_paused():
            return compute_figures(self.customers.totals(as_of))

    def recompute(self, as_of: date, now: datetime,
                  progress: Callable[[int, int], None] = lambda done, total: None) -> Recomputed:
        started_at = time.perf_counter()
        tables = (self.registry.active_table(TIER_TABLE, now), self._churn_table(now))
        check_inputs(tables[0], CUSTOMER_FIGURES)
        if tables[1]:
            check_inputs(tables[1], {**CUSTOMER_FIGURES, "tier": "string"})
        figures = self.figures(as_of)
        done = Recomputed(as_of, len(figures.ids), int(figures.bought.sum()), Counter(),
                          tier_table=(tables[0].name, tables[0].version),
                          churn_table=(tables[1].name, tables[1].version) if tables[1] else None,
                          models=figures.models)
        done.seconds = {"figures": time.perf_counter() - started_at, "decide": 0.0,
                        "write": 0.0}
        starts, reacts = Starts(self.registry.starts()), Starts(self.registry.reacts())
        with _collector_paused():
            self._write(Preparer(figures, tables, starts, reacts, now),
                        BatchWriter(self.runtime, starts, reacts, as_of, now), done, progress)
        return done

    def _write(self, preparer: Preparer, writer: BatchWriter, done: Recomputed,
               progress: Callable[[int, int], None]) -> None:
        """The batches, one transaction each, worked out by a helper process while the one
        before is written (engine/jobs/tier_helper.py) when there are enough of them.

        Each batch's objects live until it is written and hold no cycles: the collector, left
        on, walked them again and again (a quarter of the time); a young-generation pass after
        each batch takes what cycles the database layer leaves."""
        ids = preparer.figures.ids
        spans = [range(first, min(first + self.batch, len(ids)))
                 for first in range(0, len(ids), self.batch)]
        helping = len(spans) >= self.help_from and can_help()
        with (Helper(preparer, self.customers, self.runtime) if helping else
              nullcontext()) as helper:
            for index, span in enumerate(spans):
                first, last = ids[span.start], ids[span.stop - 1]
                with self.customers.transaction() as tx:
                    batch_at = time.perf_counter()
                    heads = tx.heads(first, last)
                    batch = (helper.prepare(spans, index, heads) if helper else
                             preparer.prepare(span, heads))
                    decided_at = time.perf_counter()
                    writer.write(tx, batch, first, last)
                if helper:
                    helper.rebase(writer.shift)
                done.seconds["decide"] += decided_at - batch_at
                done.seconds["write"] += time.perf_counter() - decided_at
                done.tiers.update(batch.tiers)
                done.tier_changes += batch.tier_changes
                done.risk_changes += batch.risk_changes
                del batch
                gc.collect(0)
                progress(span.stop, len(ids))
            done.batches, done.helped = len(spans), helper.taken if helper else 0
        done.started, done.moved, done.drafted = (writer.done.started, writer.done.moved,
                                                  writer.done.drafted)

    def simulate(self, candidate: TableSpec, as_of: date, now: datetime,
                 output: str | None = None) -> Simulation:
        """Run the candidate and the active version over every customer's figures; write
        nothing. A churn_risk candidate sees the tiers the active customer_tier decides."""
        name = output or next(iter(candidate.outputs))
        if name not in candidate.outputs:
            raise RuleError(f"{candidate.name} has no output '{name}' (outputs: "
                            f"{', '.join(candidate.outputs)})")
        active = self.registry.active_table(candidate.name, now)
        rows = self.figures(as_of).rows()
        offered = dict(CUSTOMER_FIGURES)
        if candidate.name != TIER_TABLE:
            tier_table = self.registry.active_table(TIER_TABLE, now)
            for row, decision in zip(rows, decide_all(tier_table, rows, offered), strict=True):
                row["tier"] = decision.outputs.get("tier")
            offered["tier"] = "string"
        old = decide_all(active, rows, offered)
        new = decide_all(candidate, rows, offered)
        matrix = Counter((a.outputs.get(name), b.outputs.get(name))
                         for a, b in zip(old, new, strict=True))
        return Simulation(candidate.name, name, active.version, candidate.version, as_of, matrix,
                          (*candidate.values_of(name), *active.values_of(name)))

    def figures_as_of(self, now: datetime) -> date:
        """The day a simulation reads figures as of unless told: the day the stored figures
        count up to (so it compares like with like), today before the first recompute."""
        return self.customers.figures_as_of() or now.date()

    def _churn_table(self, now: datetime) -> TableSpec | None:
        try:
            return self.registry.active_table(CHURN_TABLE, now)
        except NotFound:
            return None  # churn warnings are optional: a site without the table has none


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the figures are read and worked out, and while the
    batches are written: they are millions of rows in lists and tuples that hold no cycles, and
    each collection the allocations set off walked all of them again (at a million customers
    the per-day sums took 23 s instead of 6). Whatever cycles arise meanwhile are collected
    when it is back on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
