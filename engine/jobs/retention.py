"""The retention job: applies rules/retention.yaml to the closed cases whose time has come.

For each rule, the cases of its workflow closed longer ago than `closed_for` are found; those
under a legal hold (their own or their customer's) are left and counted, those retention already
erased are not found again, and each other case gets `then`, in a transaction of its own:

- `delete`: the case and everything of it go (engine/store/retention.py), then its attachment
  files; the protection log keeps `case.deleted` with the head of its history;
- `erase_personal`: the erasure casework wires in (`erase_case(case_id, actor, reason, now)`)
  erases its personal values; the protection log gets `case.erased` (from the erasure, or else
  from here).

One case failing is logged and counted and does not stop the others. The run ends with one
`retention.run` entry in the protection log with its counts (not for a dry run, which changes
nothing and says what a run would do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from engine.cases.holds import HeldCase
from engine.jobs.periodic import Periodic
from engine.kernel.errors import CaseworkError
from engine.kernel.protection import Act
from engine.rules.retention import RetentionRule, Then

log = logging.getLogger(__name__)
ACTOR = "casework"  # who the protection log says acted: casework's own job
EraseCase = Callable[[int, str, str, datetime], object]


class DueCase(Protocol):
    id: int
    workflow: str
    customer: str | None
    closed_at: datetime
    held: bool


class RetentionStore(Protocol):
    def due(self, workflow: str, closed_before: datetime,
            skip_erased: bool) -> list[Any]: ...
    def erased(self, case_id: int) -> bool: ...
    def log(self, act: Act, subject: str, reason: str, payload: dict[str, Any], actor: str,
            at: datetime) -> None: ...
    def delete_case(self, case_id: int, reason: str, actor: str, at: datetime) -> list[str]: ...


@dataclass
class RetentionRun:
    """What one run did (or, dry, would do): case ids by outcome."""

    at: datetime
    dry_run: bool
    deleted: list[int] = field(default_factory=list)
    erased: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    # erase_personal cases left because this casework has no erasure wired in
    waiting: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"deleted": len(self.deleted), "erased": len(self.erased),
                "held": len(self.held), "failed": len(self.failed),
                "waiting": len(self.waiting)}

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "dry_run": self.dry_run, **self.counts(),
                "cases": {"deleted": self.deleted, "erased": self.erased, "held": self.held,
                          "failed": {str(k): v for k, v in self.failed.items()},
                          "waiting": self.waiting}}


class Retention:
    """Runs the retention rules over the store's closed cases."""

    def __init__(self, store: RetentionStore, rules: Callable[[], Mapping[str, RetentionRule]],
                 attachments: Path, erase_case: EraseCase | None = None) -> None:
        self.store = store
        self.rules = rules  # read at each run: an edited file applies from the next run
        self.attachments = attachments
        self.erase_case = erase_case

    def run(self, now: datetime, dry_run: bool = False) -> RetentionRun:
        done = RetentionRun(now, dry_run)
        rules = self.rules()
        for rule in rules.values():
            cutoff = rule.closed_for.before(now)
            for case in self.store.due(rule.workflow, cutoff, rule.then is Then.ERASE_PERSONAL):
                self._apply(rule, case, now, done)
        if not dry_run:
            self.store.log(Act.RETENTION_RUN, "retention", "retention rules applied",
                           {**done.counts(), "rules": {name: f"{r.closed_for} {r.then}"
                                                       for name, r in rules.items()}},
                           ACTOR, now)
        return done

    def _apply(self, rule: RetentionRule, case: DueCase, now: datetime,
               done: RetentionRun) -> None:
        if case.held:
            done.held.append(case.id)
            return
        if rule.then is Then.ERASE_PERSONAL and self.erase_case is None:
            done.waiting.append(case.id)
            return
        outcome = done.deleted if rule.then is Then.DELETE else done.erased
        if done.dry_run:
            outcome.append(case.id)
            return
        reason = (f"retention: {rule.workflow} closed {case.closed_at:%Y-%m-%d}, kept "
                  f"{rule.closed_for} (rules/retention.yaml:{rule.line})")
        try:
            if rule.then is Then.DELETE:
                self._delete(case.id, reason, now)
            else:
                self._erase(case, reason, now)
        except HeldCase:  # a hold placed since the case was found
            done.held.append(case.id)
        except CaseworkError as exc:
            log.warning("retention of case %s failed: %s", case.id, exc)
            done.failed[case.id] = str(exc)
        else:
            outcome.append(case.id)

    def _delete(self, case_id: int, reason: str, now: datetime) -> None:
        for key in self.store.delete_case(case_id, reason, ACTOR, now):
            # after the commit: a file left by a crash here is an orphan, never a case's loss
            (self.attachments / key).unlink(missing_ok=True)

    def _erase(self, case: DueCase, reason: str, now: datetime) -> None:
        assert self.erase_case is not None
        self.erase_case(case.id, ACTOR, reason, now)
        if not self.store.erased(case.id):
            self.store.log(Act.CASE_ERASED, str(case.id), reason,
                           {"workflow": case.workflow, "customer": case.customer,
                            "closed_at": case.closed_at.isoformat()}, ACTOR, now)


class RetentionTimer(Periodic):
    """Runs retention every `every` seconds on a thread of its own until stopped (`casework
    worker --retention-every`); a failed run is logged and the next one tries again."""

    def __init__(self, retention: Retention, clock: Callable[[], datetime], every: float,
                 on_run: Callable[[RetentionRun], None] = lambda done: None) -> None:
        super().__init__("casework-retention", "a retention run", every,
                         lambda stopping: on_run(retention.run(clock())))
