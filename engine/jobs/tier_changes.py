"""What a recompute batch changes, worked out apart from its transaction.

For the customers of one batch: the tier and churn risk the tables decide, which customers
moved, the events that go into their histories (chained from the heads they had), and which
reactions and starts those events call for. Nothing here reads or writes the database: heads
come in, a `Prepared` batch comes out, and engine/jobs/tier_writing.py writes it in one
transaction (adding what only the transaction knows: open cases, case ids).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.cases.runtime import Actor
from engine.customers.figures import Figures
from engine.kernel.history import CustomerEvent, EventDraft, chain_customer
from engine.kernel.records import CustomerHead
from engine.kernel.specs import ReactSpec, StartSpec
from engine.rules.tables import Decision, TableSpec, decide
from engine.workflows.registry import Deployed

SYSTEM = Actor("casework", "system")
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


class Starts:
    """The workflows' automatic starts (or reactions), with what is due remembered by the
    values the `when`s read: CEL is deterministic, and most customers share a tier and a risk.
    (A `when` that reads `now` is evaluated every time.)"""

    LIMIT = 1 << 16

    def __init__(self, starts: Sequence[tuple[Deployed, StartSpec | ReactSpec]]) -> None:
        self.starts = starts
        self.events = {start.on for _, start in starts}
        self.workflows = sorted({deployed.spec.name for deployed, _ in starts})
        self._reads = [sorted(start.when.members.get("customer", ())) if start.when else []
                       for _, start in starts]
        self._read = sorted({member for members in self._reads for member in members})
        self._timeless = not any(start.when and start.when.reads("now") for _, start in starts)
        self._seen: dict[tuple[Any, ...], list[int]] = {}

    def due(self, happened: set[str], row: dict[str, Any], extra: dict[str, Any],
            now: datetime) -> list[int]:
        """The starts (by index) these events call for; `customer.<member>` is read from extra,
        then row."""
        if not happened & self.events:
            return []
        if not self._timeless:
            return self._due(happened, row, extra, now)
        key = (frozenset(happened), *[extra[m] if m in extra else row.get(m)
                                      for m in self._read])
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) > self.LIMIT:
                self._seen.clear()
            found = self._seen[key] = self._due(happened, row, extra, now)
        return found

    def _due(self, happened: set[str], row: dict[str, Any], extra: dict[str, Any],
             now: datetime) -> list[int]:
        found = []
        for index, (_, start) in enumerate(self.starts):
            if start.on not in happened:
                continue
            when = start.when
            if when is not None:
                members = self._reads[index]
                scope: dict[str, Any] = {"customer": _present(members, [
                    extra[m] if m in extra else row.get(m) for m in members])}
                if when.reads("now"):
                    scope["now"] = now
                if not when.evaluate(scope):
                    continue
            found.append(index)
        return found


def _present(members: list[str], values: list[Any]) -> dict[str, Any]:
    """The members that hold a value: an unset one is left out, so has() tells."""
    return {m: v for m, v in zip(members, values, strict=True) if v is not None}


@dataclass
class Change:
    """A customer whose tier or churn risk moved: the events it makes so far (chained from the
    customer's head), and the reactions and starts (indexes into Starts.starts) they call for.
    The writer appends what the transaction adds (cases moved or started) to `more`."""

    customer: str
    tier: Any  # the new tier
    risk: Any  # the new churn risk (None without a churn_risk table)
    events: list[CustomerEvent]
    reacts: list[int]
    starts: list[int]
    scope: dict[str, Any] | None  # what `customer.<name>` reads in a start's `set:`
    more: list[EventDraft] = field(default_factory=list)


@dataclass
class Prepared:
    """One batch of customers, ready to be written, and the heads it was worked out from."""

    span: range
    heads: dict[str, tuple[Any, ...]]  # CustomerHead as plain tuples: cheap between processes
    figures: list[tuple[Any, ...]]  # customer_figures rows (Figures.stored)
    changes: list[Change]
    tiers: list[Any]  # each customer's new tier
    tier_changes: int = 0
    risk_changes: int = 0


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
        drafts = []
        if tier is not None:
            drafts.append(EventDraft(TIER_CHANGED, {
                "old": head.tier, "new": row["tier"], "as_of": self.as_of,
                **_why(self.tables[0], tier, row)}))
        if risk is not None and self.tables[1]:
            drafts.append(EventDraft(RISK_CHANGED, {
                "old": head.churn_risk, "new": new_risk, "as_of": self.as_of,
                **_why(self.tables[1], risk, row)}))
        extra = {"id": head.id, "previous_tier": head.tier,
                 "churn_risk": new_risk if risk is not None else head.churn_risk,
                 "previous_churn_risk": head.churn_risk}
        happened = {d.name for d in drafts}
        starts = self.starts.due(happened, row, extra, self.now)
        return Change(head.id, row["tier"], new_risk,
                      chain_customer(head.id, head.seq, head.head, drafts, SYSTEM.name,
                                     SYSTEM.role, self.now),
                      self.reacts.due(happened, row, extra, self.now), starts,
                      {k: v for k, v in {**row, **extra}.items() if v is not None}
                      if starts else None)


def _why(table: TableSpec, decision: Decision, row: dict[str, Any]) -> dict[str, Any]:
    """What history keeps of a decision: table, version, matched rows, the inputs it read.
    (A stored version never changes content, so table and version name it exactly.)"""
    return {"table": decision.table, "version": decision.version,
            "matched": list(decision.matched),
            "inputs": {name: row[name] for name in table.inputs}}
