"""Writing one prepared recompute batch (engine/jobs/tier_changes.py) in its transaction.

What only the transaction can say is settled here: the customers' open cases (a reaction fires
on them; a start is not repeated while one is open: the batch is planned again if they are not
the ones it was planned against) and the ids of the cases started (drafted cases are taken only
if the transaction reserves the very ids they were drafted with). Then the figures, the history
events and the new heads are written, each in one statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from engine.cases.runtime import Runtime
from engine.customers.records import CustomerTransaction
from engine.jobs.tier_changes import (
    Change,
    OpenCases,
    Prepared,
    plan,
    record_started,
    requests,
)
from engine.jobs.tier_starts import SYSTEM, Starts
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.kernel.history import CustomerEvent, EventDraft, chain_customer
from engine.kernel.records import CaseRecord, CustomerHead
from engine.kernel.specs import ReactSpec


@dataclass
class Written:
    """What the batches written so far did to cases."""

    started: Counter[str] = field(default_factory=Counter)
    moved: Counter[str] = field(default_factory=Counter)  # open cases a reaction fired on
    drafted: int = 0  # batches whose cases were started as drafted apart from the database


class BatchWriter:
    """Writes prepared batches, one transaction each, at one moment."""

    def __init__(self, runtime: Runtime, starts: Starts, reacts: Starts, as_of: date,
                 now: datetime) -> None:
        self.runtime = runtime
        self.starts = starts
        self.reacts = reacts
        self.workflows = sorted({*starts.workflows, *reacts.workflows})  # open cases read
        self.as_of = as_of
        self.now = now
        self.done = Written()
        self.shift: tuple[int, int] | None = None  # the last batch's misdrafted ids: by, seen

    def write(self, tx: CustomerTransaction, batch: Prepared, first: str, last: str) -> None:
        """Write `batch` (the customers first..last) in `tx`."""
        # one read before anything moves: what the reactions fire on, what the starts skip
        open_cases = tx.open_cases(self.workflows, first, last)
        if batch.open_cases != open_cases:
            plan(batch, self.starts, open_cases, self.now)
        if self.reacts.starts:
            self._react(tx, batch.changes, open_cases)
        cases = self._start(tx, batch)
        self.done.started.update(case.workflow for case in cases)
        events: list[CustomerEvent] = []
        moved = []
        for change in batch.changes:
            chained = change.events
            if change.tail and not change.reacted:  # chained as drafted
                chained = chained + change.tail
            elif change.reacted or change.skipped or change.started:
                last_event = chained[-1]
                chained = chained + chain_customer(
                    change.customer, last_event.seq, last_event.hash,
                    change.reacted + change.skipped + change.started, SYSTEM.name,
                    SYSTEM.role, self.now)
            events += chained
            moved.append((CustomerHead(change.customer, change.tier, change.risk,
                                       chained[-1].seq, chained[-1].hash), self.now))
        tx.save_figures(self.as_of, self.now, batch.figures)
        tx.append_customer_events(events)
        tx.set_heads(moved)

    def _start(self, tx: CustomerTransaction, batch: Prepared) -> list[CaseRecord]:
        """The batch's planned cases: as drafted (their starts chained in the changes' tails
        already), if this transaction reserves the ids they were drafted with; else started
        here. Their starts are recorded in the changes that chain here."""
        self.shift = None
        drafted = batch.drafted
        if drafted is not None and drafted.ids:
            reserved = tx.reserve_case_ids(len(drafted.ids))
            if reserved == drafted.ids:
                drafted.replay(tx)
                self.done.drafted += 1
                if any(change.reacted for change in batch.changes):  # these chain here
                    record_started(batch, self.starts, drafted.cases)
                return drafted.cases
            self.shift = (reserved[0] - drafted.ids[0], batch.rebased)
        for change in batch.changes:
            change.started.clear()
            change.tail.clear()
        cases = self.runtime.start_many(tx, requests(batch, self.starts), SYSTEM, self.now)
        record_started(batch, self.starts, cases)
        return cases

    def _react(self, tx: CustomerTransaction, changes: Sequence[Change],
               open_cases: OpenCases) -> None:
        """Fire the reactions these changes call for on the customers' open cases (before any
        case is started, so a case never reacts to the change that opened it)."""
        for change in changes:
            change.reacted.clear()
            for index in change.reacts:
                deployed, react = self.reacts.starts[index]
                assert isinstance(react, ReactSpec)
                for case_id in open_cases.get((deployed.spec.name, change.customer), []):
                    change.reacted.append(self._fire(tx, case_id, deployed.spec.name, react))

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
