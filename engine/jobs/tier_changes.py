"""What a recompute batch changes, worked out apart from its transaction.

For the customers of one batch: the tier and churn risk the tables decide, which customers
moved, the events that go into their histories (chained from the heads they had), which
reactions and starts those events call for, and, given the customers' open cases, which starts
go ahead (plan) and the cases they open (drafted against predicted ids). Nothing here reads or
writes the database: heads and open cases come in, a `Prepared` batch comes out, and
engine/jobs/tier_writing.py writes it in one transaction, checking what it was worked out from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from engine.cases.runtime import Runtime, StartRequest
from engine.customers.figures import Figures
from engine.jobs.tier_starts import SYSTEM, Drafted, Starts, draft
from engine.kernel.history import (
    CustomerEvent,
    EventDraft,
    canonical,
    chain_customer,
    chain_customer_texts,
)
from engine.kernel.records import CaseRecord, CustomerHead
from engine.kernel.specs import StartSpec
from engine.rules.tables import Decision, TableSpec, decide

OpenCases = dict[tuple[str, str], list[int]]  # (workflow, customer) -> open case ids
TIER_CHANGED = "customer.tier_changed"
RISK_CHANGED = "customer.churn_risk_changed"

Tables = tuple[TableSpec, TableSpec | None]  # customer_tier, churn_risk (if published)


class Decider:
    """A decision table run once per distinct tuple of its inputs: most customers share theirs
    with others (the same scores, the same purchase history), and a table decides the same for
    the same inputs. The memory is dropped when it grows past LIMIT tuples, so a customer base
    of all-different figures costs a lookup per customer and no more memory than a batch."""

    LIMIT = 1 << 17

    def __init__(self, table: TableSpec) -> None:
        self.table = table
        self.names = list(table.inputs)
        self.known: dict[tuple[Any, ...], Decision] = {}

    def decide(self, columns: Mapping[str, Sequence[Any]]) -> list[Decision]:
        """One decision per customer of the columns (input name -> one value per customer)."""
        table, names = self.table, self.names
        if len(self.known) > self.LIMIT:
            self.known.clear()
        known = self.known
        decisions = []
        for key in zip(*(columns[name] for name in names), strict=True):
            decision = known.get(key)
            if decision is None:
                decision = known[key] = decide(table, dict(zip(names, key, strict=True)))
            decisions.append(decision)
        return decisions


class Change(NamedTuple):
    """A customer whose tier or churn risk moved: the events it makes so far (chained from the
    customer's head), and the reactions and starts (indexes into Starts.starts) they call for.
    The events still to chain after them, in this order: the reactions' (`reacted`, by the
    writer), the starts not made because a case is open (`skipped`, by plan), the cases
    started (`started`, by record_started). (A named tuple, pickled as a plain one: a batch of
    them crosses from the helper process to the writer.)"""

    customer: str
    tier: Any  # the new tier
    risk: Any  # the new churn risk (None without a churn_risk table)
    events: list[CustomerEvent]
    reacts: list[int]
    starts: list[int]
    scope: dict[str, Any] | None  # what `customer.<name>` reads in a start's `set:`
    reacted: list[EventDraft]
    skipped: list[EventDraft]
    started: list[EventDraft]
    tail: list[CustomerEvent]  # skipped and started chained after events, if none reacted

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (type(self), tuple(self))


class Planned(NamedTuple):
    """A start that goes ahead: the change it is recorded in (by index in its batch), the start
    (by index into Starts.starts) and the new case's fields."""

    change: int
    start: int
    fields: dict[str, Any]

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (type(self), tuple(self))


@dataclass
class Prepared:
    """One batch of customers, ready to be written, and what it was worked out from: the heads
    and, once planned, the open cases (drafted cases carry the ids they were drafted with)."""

    span: range
    heads: dict[str, tuple[Any, ...]]  # CustomerHead as plain tuples: cheap between processes
    figures: list[tuple[Any, ...]]  # customer_figures rows (Figures.stored)
    changes: list[Change]
    tiers: list[Any]  # each customer's new tier
    tier_changes: int = 0
    risk_changes: int = 0
    open_cases: OpenCases | None = None  # as planned against (None: not planned)
    planned: list[Planned] = field(default_factory=list)
    drafted: Drafted | None = None
    rebased: int = 0  # the id corrections the drafts had seen (engine/jobs/tier_helper.py)


def plan(batch: Prepared, starts: Starts, open_cases: OpenCases, now: datetime) -> None:
    """Which of the batch's due starts go ahead: none while the customer has an open case of
    the workflow (recorded as not started), so at most one per workflow and customer."""
    busy = {key for key in open_cases if key[0] in starts.workflows}
    batch.open_cases, batch.planned, batch.drafted = open_cases, [], None
    for number, change in enumerate(batch.changes):
        change.skipped.clear()
        change.started.clear()
        change.tail.clear()
        for index in change.starts:
            deployed, start = starts.starts[index]
            assert isinstance(start, StartSpec)
            if (deployed.spec.name, change.customer) in busy:
                change.skipped.append(EventDraft("customer.case_not_started", {
                    "workflow": deployed.spec.name, "on": start.on,
                    "reason": f"an open {deployed.spec.name} case"}))
                continue
            busy.add((deployed.spec.name, change.customer))
            variables = {"customer": change.scope, "now": now}
            batch.planned.append(Planned(number, index, {
                name: e.evaluate(variables) for name, e in start.fields.items()}))


def record_started(batch: Prepared, starts: Starts, cases: Sequence[CaseRecord]) -> None:
    """`customer.case_started` for each planned start, with the case it started."""
    for planned, case in zip(batch.planned, cases, strict=True):
        batch.changes[planned.change].started.append(EventDraft("customer.case_started", {
            "workflow": case.workflow, "case": case.id,
            "on": starts.starts[planned.start][1].on}))


def requests(batch: Prepared, starts: Starts) -> list[StartRequest]:
    """The batch's planned starts as the runtime takes them."""
    found = []
    for planned in batch.planned:
        deployed, start = starts.starts[planned.start]
        found.append(StartRequest(deployed, planned.fields, batch.changes[planned.change].customer,
                                  because={"event": start.on}))
    return found


class Preparer:
    """Works out the batches of one recompute: the figures, the tables in force, the starts and
    reactions deployed, and the moment it runs at."""

    def __init__(self, figures: Figures, tables: Tables, starts: Starts, reacts: Starts,
                 now: datetime) -> None:
        self.figures = figures
        self.tables = tables
        self.tier = Decider(tables[0])
        self.risk = Decider(tables[1]) if tables[1] else None
        self.starts = starts
        self.reacts = reacts
        self.now = now
        self.as_of = figures.as_of.isoformat()
        self.inputs = [list(table.inputs) if table else [] for table in tables]
        self.workflows = sorted({*starts.workflows, *reacts.workflows})  # open cases read
        self.runtime: Runtime | None = None  # with a next case id: cases are drafted
        self.next_case_id: int | None = None  # the id the next drafted case gets (None: none)
        self.rebased = 0

    def rebase(self, shift: int) -> None:
        """The ids drafted from now on move by `shift`: cases were started elsewhere."""
        if self.next_case_id is not None:
            self.next_case_id += shift
            self.rebased += 1

    def plan_and_draft(self, batch: Prepared, open_cases: OpenCases) -> None:
        """plan() the batch and, with a runtime and a next case id (set in the helper process
        on SQLite), draft its cases and chain their starts into the customers' tails."""
        plan(batch, self.starts, open_cases, self.now)
        if not batch.planned or self.runtime is None or self.next_case_id is None:
            return
        first, self.next_case_id = self.next_case_id, self.next_case_id + len(batch.planned)
        batch.rebased = self.rebased
        try:
            batch.drafted = draft(self.runtime, requests(batch, self.starts), first, self.now)
        except Exception:  # the writer starts them itself, and meets any error there
            batch.drafted = None
            return
        record_started(batch, self.starts, batch.drafted.cases)
        for change in batch.changes:
            if change.skipped or change.started:
                last = change.events[-1]
                change.tail.extend(chain_customer(
                    change.customer, last.seq, last.hash, change.skipped + change.started,
                    SYSTEM.name, SYSTEM.role, self.now))
                change.started.clear()  # the drafted cases tell them again if need be

    def prepare(self, span: range, heads: Mapping[str, CustomerHead]) -> Prepared:
        """The batch of the customers in span, against their heads (customers are never
        deleted: every one has a head)."""
        columns = self.figures.columns(span)
        tiers = self.tier.decide(columns)
        new_tiers = columns["tier"] = [d.outputs.get("tier") for d in tiers]
        risks = self.risk.decide(columns) if self.risk else None
        new_risks = [r.outputs.get("risk") for r in risks] if risks else [None] * len(tiers)
        done = Prepared(span, {k: tuple(h) for k, h in heads.items()}, self.figures.stored(
            span, new_risks, [t.matched[0] if t.matched else None for t in tiers],
            [t.version for t in tiers]), [], new_tiers)
        names = list(columns)
        values = list(columns.values())
        for i, customer in enumerate(self.figures.ids[span.start:span.stop]):
            head = heads[customer]
            moved_tier = new_tiers[i] != head.tier
            moved_risk = risks is not None and new_risks[i] != head.churn_risk
            if moved_tier or moved_risk:
                row = dict(zip(names, [column[i] for column in values], strict=True))
                done.changes.append(self._change(
                    head, row, tiers[i] if moved_tier else None,
                    risks[i] if risks is not None and moved_risk else None, new_risks[i]))
                done.tier_changes += moved_tier
                done.risk_changes += moved_risk
        return done

    def _change(self, head: CustomerHead, row: dict[str, Any], tier: Decision | None,
                risk: Decision | None, new_risk: Any) -> Change:
        named = []
        if tier is not None:
            named.append((TIER_CHANGED, self._why(0, head.tier, row["tier"], tier, row)))
        if risk is not None:  # only with a churn_risk table
            named.append((RISK_CHANGED, self._why(1, head.churn_risk, new_risk, risk, row)))
        extra = {"id": head.id, "previous_tier": head.tier,
                 "churn_risk": new_risk if risk is not None else head.churn_risk,
                 "previous_churn_risk": head.churn_risk}
        happened = _HAPPENED[tier is not None, risk is not None]
        starts = self.starts.due(happened, row, extra, self.now)
        return Change(head.id, row["tier"], new_risk,
                      chain_customer_texts(head.id, head.seq, head.head, named, SYSTEM.name,
                                           SYSTEM.role, self.now),
                      self.reacts.due(happened, row, extra, self.now), starts,
                      {k: v for k, v in {**row, **extra}.items() if v is not None}
                      if starts else None, [], [], [], [])

    def _why(self, table: int, old: Any, new: Any, decision: Decision,
             row: dict[str, Any]) -> str:
        """A change's payload, as its canonical text: old and new value, as of when, and what
        history keeps of the decision: table, version, matched rows, the inputs it read. (A
        stored version never changes content, so table and version name it exactly.)"""
        return canonical({"old": old, "new": new, "as_of": self.as_of, "table": decision.table,
                          "version": decision.version, "matched": list(decision.matched),
                          "inputs": {name: row[name] for name in self.inputs[table]}})


# the events a change makes, by whether its tier and its churn risk moved
_HAPPENED = {(True, False): frozenset({TIER_CHANGED}), (False, True): frozenset({RISK_CHANGED}),
             (True, True): frozenset({TIER_CHANGED, RISK_CHANGED})}
