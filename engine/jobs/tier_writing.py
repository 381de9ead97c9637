"""Writing one prepared recompute batch (engine/jobs/tier_changes.py) in its transaction.

What only the transaction knows is added here: the customers' open cases (a reaction fires on
them; a start is not repeated while one is open) and the cases started, with their ids. Then
the figures, the history events and the new heads are written, each in one statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from engine.cases.runtime import Runtime, StartRequest
from engine.customers.records import CustomerTransaction
from engine.jobs.tier_changes import SYSTEM, Change, Prepared, Starts
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.kernel.history import CustomerEvent, EventDraft, chain_customer
from engine.kernel.records import CustomerHead
from engine.kernel.specs import ReactSpec, StartSpec


@dataclass
class Written:
    """What the batches written so far did to cases."""

    started: Counter[str] = field(default_factory=Counter)
    moved: Counter[str] = field(default_factory=Counter)  # open cases a reaction fired on


class BatchWriter:
    """Writes prepared batches, one transaction each, at one moment."""

    def __init__(self, runtime: Runtime, starts: Starts, reacts: Starts, as_of: date,
                 now: datetime) -> None:
        self.runtime = runtime
        self.starts = starts
        self.reacts = reacts
        self.as_of = as_of
        self.now = now
        self.done = Written()

    def write(self, tx: CustomerTransaction, batch: Prepared, first: str, last: str) -> None:
        """Write `batch` (the customers first..last) in `tx`."""
        # one read before anything moves: what the reactions fire on, what the starts skip
        open_ids = tx.open_cases(sorted({*self.starts.workflows, *self.reacts.workflows}),
                                 first, last)
        open_cases = {key for key in open_ids if key[0] in self.starts.workflows}
        if self.reacts.starts:
            self._react(tx, batch.changes, open_ids)
        requests: list[tuple[Change, StartRequest]] = []
        for change in batch.changes:
            if change.starts:
                requests += self._requests(change, open_cases)
        cases = self.runtime.start_many(tx, [r for _, r in requests], SYSTEM, self.now)
        for (change, request), case in zip(requests, cases, strict=True):
            self.done.started[case.workflow] += 1
            change.more.append(EventDraft("customer.case_started", {
                "workflow": case.workflow, "case": case.id,
                "on": request.because["event"] if request.because else None}))
        events: list[CustomerEvent] = []
        moved = []
        for change in batch.changes:
            chained = change.events
            if change.more:
                last_event = chained[-1]
                chained = chained + chain_customer(
                    change.customer, last_event.seq, last_event.hash, change.more, SYSTEM.name,
                    SYSTEM.role, self.now)
            events += chained
            moved.append((CustomerHead(change.customer, change.tier, change.risk,
                                       chained[-1].seq, chained[-1].hash), self.now))
        tx.save_figures(self.as_of, self.now, batch.figures)
        tx.append_customer_events(events)
        tx.set_heads(moved)

    def _react(self, tx: CustomerTransaction, changes: Sequence[Change],
               open_ids: dict[tuple[str, str], list[int]]) -> None:
        """Fire the reactions these changes call for on the customers' open cases (before any
        case is started, so a case never reacts to the change that opened it)."""
        for change in changes:
            for index in change.reacts:
                deployed, react = self.reacts.starts[index]
                assert isinstance(react, ReactSpec)
                for case_id in open_ids.get((deployed.spec.name, change.customer), []):
                    change.more.append(self._fire(tx, case_id, deployed.spec.name, react))

    def _fire(self, tx: CustomerTransaction, case_id: int, workflow: str,
              react: ReactSpec) -> EventDraft:
        what = {"workflow": workflow, "case": case_id, "trigger": react.fire, "on": react.on}
        try:
            self.runtime.fire_in(tx, case_id, react.fire, SYSTEM, self.now,
                                 because={"event": react.on})
        except (TransitionRefused, InvalidInput) as exc:  # raised before anything is written
            return EventDraft("customer.case_not_moved", {**what, "reason": str(exc)})
        self.done.moved[workflow] += 1
        return EventDraft("customer.case_moved", what)

    def _requests(self, change: Change,
                  open_cases: set[tuple[str, str]]) -> list[tuple[Change, StartRequest]]:
        """The cases this change starts (a start is recorded in the change's history)."""
        customer = change.customer
        found = []
        for index in change.starts:
            deployed, start = self.starts.starts[index]
            assert isinstance(start, StartSpec)
            if (deployed.spec.name, customer) in open_cases:
                # one open case of a workflow per customer: starts happen once; say so
                change.more.append(EventDraft("customer.case_not_started", {
                    "workflow": deployed.spec.name, "on": start.on,
                    "reason": f"an open {deployed.spec.name} case"}))
                continue
            open_cases.add((deployed.spec.name, customer))
            variables = {"customer": change.scope, "now": self.now}
            fields = {name: e.evaluate(variables) for name, e in start.fields.items()}
            found.append((change, StartRequest(deployed, fields, customer,
                                               because={"event": start.on})))
        return found
