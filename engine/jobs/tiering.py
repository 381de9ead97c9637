"""Tiers and churn warnings for the whole customer base: `casework tiers recompute`.

A recompute refreshes every customer's figures as of a day, runs the customer_tier table (and
the churn_risk table, if one is published) for every customer, and for each customer whose tier
or churn risk changed writes a `customer.tier_changed` / `customer.churn_risk_changed` event to
the customer's own history, with the table version, matched row and the inputs it read. Those
events start the cases that workflows ask for in `starts:`. Each batch of customers is one
transaction: figures, tier, history and started cases together or not at all; a recompute that
stops halfway is finished by running it again (unchanged customers write nothing).
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.cases.runtime import Actor, Runtime, StartRequest
from engine.customers.figures import Figures, Models, compute_figures
from engine.customers.records import TIER_TABLE, CustomerStore, CustomerTransaction
from engine.kernel.errors import InvalidInput, NotFound, RuleError, TransitionRefused
from engine.kernel.expressions import Expression
from engine.kernel.history import EventDraft, chain_customer
from engine.kernel.records import CustomerHead
from engine.kernel.specs import CUSTOMER_FIGURES, ReactSpec, StartSpec
from engine.rules.tables import Decision, TableSpec, decide
from engine.workflows.registry import Deployed, Registry

CHURN_TABLE = "churn_risk"
SYSTEM = Actor("casework", "system")
BATCH = 5000

_Tables = tuple[TableSpec, TableSpec | None]  # customer_tier, churn_risk (if published)


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
        starts = _Starts(self.registry.starts())
        reacts = _Starts(self.registry.reacts())
        for first in range(0, len(figures.ids), BATCH):
            span = range(first, min(first + BATCH, len(figures.ids)))
            batch_at = time.perf_counter()
            rows, tiers, risks = _decide(tables, figures.rows(span))
            done.tiers.update(row["tier"] for row in rows)
            decided_at = time.perf_counter()
            with self.customers.transaction() as tx:
                _Batch(self.runtime, tx, tables, (starts, reacts), now, done).write(
                    figures, span, rows, tiers, risks)
            done.seconds["decide"] += decided_at - batch_at
            done.seconds["write"] += time.perf_counter() - decided_at
            progress(span.stop, len(figures.ids))
        return done

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
        return Simulation(candidate.name, name, active.version, candidate.version, as_of, matrix)

    def _churn_table(self, now: datetime) -> TableSpec | None:
        try:
            return self.registry.active_table(CHURN_TABLE, now)
        except NotFound:
            return None  # churn warnings are optional: a site without the table has none


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the figures are read and worked out: they are millions
    of rows in lists and tuples that hold no cycles, and each collection the allocations set
    off walked all of them again (at a million customers the per-day sums took 23 s instead of
    6). Whatever cycles arise meanwhile are collected when it is back on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _decide(tables: _Tables, rows: list[dict[str, Any]]
            ) -> tuple[list[dict[str, Any]], list[Decision], list[Decision] | None]:
    """Tier (into each row, for the churn table to read) and churn risk of these customers."""
    tiers = [decide(tables[0], row) for row in rows]
    for row, decision in zip(rows, tiers, strict=True):
        row["tier"] = decision.outputs.get("tier")
    risks = [decide(tables[1], row) for row in rows] if tables[1] else None
    return rows, tiers, risks


class _Starts:
    """The workflows' automatic starts, with each `when` remembered by the values it read:
    CEL is deterministic, and most customers share a tier and a risk."""

    def __init__(self, starts: Sequence[tuple[Deployed, StartSpec | ReactSpec]]) -> None:
        self.starts = starts
        self.events = {start.on for _, start in starts}
        self.workflows = sorted({deployed.spec.name for deployed, _ in starts})
        self._reads = [sorted(start.when.members.get("customer", ())) if start.when else []
                       for _, start in starts]
        self._seen: dict[tuple[int, tuple[Any, ...]], bool] = {}

    def due(self, happened: set[str], row: dict[str, Any], extra: dict[str, Any],
            now: datetime) -> list[tuple[Deployed, Any]]:
        """The starts these events call for; `customer.<member>` is read from extra, then row."""
        found = []
        for index, (deployed, start) in enumerate(self.starts):
            if start.on in happened and (start.when is None or self._holds(
                    index, start.when, [extra[m] if m in extra else row.get(m)
                                        for m in self._reads[index]], now)):
                found.append((deployed, start))
        return found

    def _holds(self, index: int, when: Expression, values: list[Any], now: datetime) -> bool:
        members = self._reads[index]
        if when.reads("now"):
            return bool(when.evaluate({"customer": _present(members, values), "now": now}))
        key = (index, tuple(values))
        known = self._seen.get(key)
        if known is None:
            known = self._seen[key] = bool(when.evaluate(
                {"customer": _present(members, values)}))
        return known


def _present(members: list[str], values: list[Any]) -> dict[str, Any]:
    """The members that hold a value: an unset one is left out, so has() tells."""
    return {m: v for m, v in zip(members, values, strict=True) if v is not None}


class _Batch:
    """One transaction's worth of customers."""

    def __init__(self, runtime: Runtime, tx: CustomerTransaction, tables: _Tables,
                 starts: tuple[_Starts, _Starts], now: datetime, done: Recomputed) -> None:
        self.runtime = runtime
        self.tx = tx
        self.tables = tables
        self.starts, self.reacts = starts
        self.now = now
        self.done = done
        self.as_of = done.as_of.isoformat()
        self.open: set[tuple[str, str]] = set()

    def write(self, figures: Figures, span: range, rows: list[dict[str, Any]],
              tiers: list[Decision], risks: list[Decision] | None) -> None:
        first, last = figures.ids[span.start], figures.ids[span.stop - 1]
        heads = self.tx.heads(first, last)
        if self.starts.workflows:
            self.open = self.tx.open_cases(self.starts.workflows, first, last)
        each_risk: list[Decision | None] = list(risks) if risks else [None] * len(rows)
        risk_values = [r.outputs.get("risk") if r else None for r in each_risk]
        changed, requests = [], []
        for customer, row, tier, risk, risk_value in zip(
                figures.ids[span.start:span.stop], rows, tiers, each_risk, risk_values,
                strict=True):
            head = heads[customer]  # customers are never deleted
            drafts = self._changes(head, row, tier, risk)
            if drafts:
                changed.append((head, row, risk_value, drafts))
        if self.reacts.starts:
            self._react(changed)
        for head, row, _, drafts in changed:
            if self.starts.starts:
                requests += self._requests(head.id, head, row, drafts)
        cases = self.runtime.start_many(self.tx, [r for _, r in requests], SYSTEM, self.now)
        for (drafts, request), case in zip(requests, cases, strict=True):
            self.done.started[case.workflow] += 1
            drafts.append(EventDraft("customer.case_started", {
                "workflow": case.workflow, "case": case.id,
                "on": request.because["event"] if request.because else None}))
        events, moved = [], []
        for head, row, risk_value, drafts in changed:
            chained = chain_customer(head.id, head.seq, head.head, drafts, SYSTEM.name,
                                     SYSTEM.role, self.now)
            events += chained
            moved.append((CustomerHead(head.id, row["tier"], risk_value,
                                       chained[-1].seq, chained[-1].hash), self.now))
        self.tx.save_figures(self.done.as_of, self.now, figures.stored(
            span, risk_values, [t.matched[0] if t.matched else None for t in tiers],
            [t.version for t in tiers]))
        self.tx.append_customer_events(events)
        self.tx.set_heads(moved)

    def _changes(self, head: CustomerHead, row: dict[str, Any], tier: Decision,
                 risk: Decision | None) -> list[EventDraft]:
        drafts = []
        as_of = self.as_of
        if row["tier"] != head.tier:
            self.done.tier_changes += 1
            drafts.append(EventDraft("customer.tier_changed", {
                "old": head.tier, "new": row["tier"], "as_of": as_of,
                **_why(self.tables[0], tier, row)}))
        new_risk = risk.outputs.get("risk") if risk else None
        if risk is not None and self.tables[1] and new_risk != head.churn_risk:
            self.done.risk_changes += 1
            drafts.append(EventDraft("customer.churn_risk_changed", {
                "old": head.churn_risk, "new": new_risk, "as_of": as_of,
                **_why(self.tables[1], risk, row)}))
        return drafts

    def _react(self, changed: list[tuple[CustomerHead, dict[str, Any], Any,
                                         list[EventDraft]]]) -> None:
        """Fire the reactions these changes call for on the customers' open cases (before any
        case is started, so a case never reacts to the change that opened it)."""
        due = []
        for head, row, _, drafts in changed:
            happened = {d.name for d in drafts}
            if happened & self.reacts.events:
                extra = self._extra(head, drafts)
                due += [(head.id, deployed, react, drafts)
                        for deployed, react in self.reacts.due(happened, row, extra, self.now)]
        if not due:
            return
        open_ids = self.tx.open_case_ids(self.reacts.workflows, sorted({d[0] for d in due}))
        for customer, deployed, react, drafts in due:
            for case_id in open_ids.get((deployed.spec.name, customer), []):
                drafts.append(self._fire(case_id, deployed.spec.name, react))

    def _fire(self, case_id: int, workflow: str, react: ReactSpec) -> EventDraft:
        what = {"workflow": workflow, "case": case_id, "trigger": react.fire, "on": react.on}
        try:
            self.runtime.fire_in(self.tx, case_id, react.fire, SYSTEM, self.now,
                                 because={"event": react.on})
        except (TransitionRefused, InvalidInput) as exc:  # raised before anything is written
            return EventDraft("customer.case_not_moved", {**what, "reason": str(exc)})
        self.done.moved[workflow] += 1
        return EventDraft("customer.case_moved", what)

    @staticmethod
    def _extra(head: CustomerHead, drafts: list[EventDraft]) -> dict[str, Any]:
        """What `customer.<name>` offers besides the figures: the change's before and after."""
        risk = next((d.payload["new"] for d in drafts
                     if d.name == "customer.churn_risk_changed"), head.churn_risk)
        return {"id": head.id, "previous_tier": head.tier, "churn_risk": risk,
                "previous_churn_risk": head.churn_risk}

    def _requests(self, customer: str, head: CustomerHead, row: dict[str, Any],
                  drafts: list[EventDraft]) -> list[tuple[list[EventDraft], StartRequest]]:
        """The cases these changes start, each with the drafts its start is recorded in."""
        happened = {d.name for d in drafts}
        if not happened & self.starts.events:
            return []
        extra = self._extra(head, drafts)
        found = []
        for deployed, start in self.starts.due(happened, row, extra, self.now):
            if (deployed.spec.name, customer) in self.open:
                # one open case of a workflow per customer: starts happen once; say so
                drafts.append(EventDraft("customer.case_not_started", {
                    "workflow": deployed.spec.name, "on": start.on,
                    "reason": f"an open {deployed.spec.name} case"}))
                continue
            self.open.add((deployed.spec.name, customer))
            scope = {k: v for k, v in {**row, **extra}.items() if v is not None}
            variables = {"customer": scope, "now": self.now}
            fields = {name: e.evaluate(variables) for name, e in start.fields.items()}
            found.append((drafts, StartRequest(deployed, fields, customer,
                                               because={"event": start.on})))
        return found


def _why(table: TableSpec, decision: Decision, row: dict[str, Any]) -> dict[str, Any]:
    """What history keeps of a decision: table, version, matched rows, the inputs it read.
    (A stored version never changes content, so table and version name it exactly.)"""
    return {"table": decision.table, "version": decision.version,
            "matched": list(decision.matched),
            "inputs": {name: row[name] for name in table.inputs}}
