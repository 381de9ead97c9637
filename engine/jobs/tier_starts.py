"""The cases a recompute starts: which workflows' starts (or reactions) a customer's changes call
for (Starts), and new cases drafted apart from the database (draft), so that a helper process
can draft them while the writer writes; the writer replays the drafted writes in its
transaction once that has reserved the very ids they were drafted with.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from engine.cases.runtime import Actor, Runtime, StartRequest
from engine.kernel.records import CaseRecord, Transaction
from engine.kernel.specs import ReactSpec, StartSpec
from engine.workflows.registry import Deployed

SYSTEM = Actor("casework", "system")


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

    def due(self, happened: frozenset[str], row: dict[str, Any], extra: dict[str, Any],
            now: datetime) -> list[int]:
        """The starts (by index) these events call for; `customer.<member>` is read from extra,
        then row."""
        if not happened & self.events:
            return []
        if not self._timeless:
            return self._due(happened, row, extra, now)
        key = (happened, *[extra[m] if m in extra else row.get(m) for m in self._read])
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) > self.LIMIT:
                self._seen.clear()
            found = self._seen[key] = self._due(happened, row, extra, now)
        return found

    def _due(self, happened: frozenset[str], row: dict[str, Any], extra: dict[str, Any],
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
class Drafted:
    """New cases as Runtime.start_many drafts them against ids predicted for them: the ids, the
    cases, and the writes it asked of its transaction, in order."""

    ids: list[int]
    cases: list[CaseRecord]
    writes: list[tuple[str, tuple[Any, ...]]]

    def replay(self, tx: Transaction) -> None:
        """Make the drafted writes in `tx`, which has reserved exactly `ids` for new cases."""
        for name, args in self.writes:
            getattr(tx, name)(*args)


def draft(runtime: Runtime, requests: Sequence[StartRequest], first_id: int,
          now: datetime) -> Drafted:
    """The cases start_many would start, given that the transaction reserves the ids from
    first_id on: no database is touched."""
    drafting = _Drafting(first_id)
    cases = runtime.start_many(cast(Transaction, drafting), requests, SYSTEM, now)
    return Drafted(drafting.ids, cases, drafting.writes)


class _Drafting:
    """The transaction start_many drafts new cases against: it reserves the predicted ids and
    keeps every write (a Transaction method returning None) to be replayed. What start_many
    might read of it (any other method) it cannot answer: drafting then fails, and the writer
    starts those cases itself."""

    def __init__(self, first_id: int) -> None:
        self.next_id = first_id
        self.ids: list[int] = []
        self.writes: list[tuple[str, tuple[Any, ...]]] = []

    def reserve_case_ids(self, count: int) -> list[int]:
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        self.ids += ids
        return ids

    def __getattr__(self, name: str) -> Callable[..., None]:
        if not _writes(name):
            raise AttributeError(f"drafting new cases apart from the database cannot answer "
                                 f"'{name}'")
        return lambda *args: self.writes.append((name, args))


def _writes(name: str) -> bool:
    """Whether `name` is a Transaction method that only writes (returns None)."""
    method = getattr(Transaction, name, None)
    return callable(method) and not name.startswith("_") and \
        inspect.signature(method).return_annotation in ("None", None)
