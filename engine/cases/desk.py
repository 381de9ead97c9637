"""What people do to a case besides firing a trigger: comment on it, claim it, assign it.

Each is one transaction that writes the case row and its history together, like a fire, and
moves the case's row version: someone who loaded the case before is told it changed.
"""

from __future__ import annotations

from datetime import datetime

from engine.cases.runtime import Actor, Runtime
from engine.kernel.errors import Conflict, InvalidInput, Refusal, RoleRefused, TransitionRefused
from engine.kernel.history import EventDraft
from engine.kernel.records import CaseRecord
from engine.kernel.roles import READ_ONLY_ROLES, Permission, holders

MAX_COMMENT = 10_000
# Who may hand a case to somebody else; anyone who may work cases may claim one for themself.
ASSIGNING_ROLES = holders(Permission.ASSIGN_CASES)


def assignment_refusal(actor: Actor, assignee: str | None, current: str | None
                       ) -> RoleRefused | None:
    """The one rule of who may assign (the case page, the queue's bulk form and the API all
    reach it through Desk.assign): anyone who works cases may claim an unassigned case or give
    back their own; handing a case to someone else, or taking one from someone, needs an
    assigning role. None when `actor` may give the case held by `current` to `assignee`."""
    own = (assignee == actor.name and current is None) \
        or (assignee is None and current == actor.name)
    if own or actor.role in ASSIGNING_ROLES:
        return None
    held = f"assigned to {current}" if current else "unassigned"
    return RoleRefused("assign", f"role '{actor.role}' may claim an unassigned case or give "
                       f"back its own; this case is {held} (a supervisor may reassign it)")


class Desk:
    """Comments and assignments on cases, through the runtime's store and history."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def comment(self, case_id: int, text: str, actor: Actor, now: datetime,
                expected_version: int | None = None) -> CaseRecord:
        """Add a comment to the case's history (`case.commented`)."""
        _may_work(actor, "comment")
        text = text.strip()
        if not text:
            raise InvalidInput("comment", "is empty; write something")
        if len(text) > MAX_COMMENT:
            raise InvalidInput("comment", f"is {len(text):,} characters long; the most is "
                               f"{MAX_COMMENT:,}")
        with self.runtime.store.transaction() as tx:
            case = self._current(tx.get_case(case_id), expected_version)
            return self.runtime.amend(tx, case, case, None,
                                      [EventDraft("case.commented", {"text": text})], actor, now)

    def assign(self, case_id: int, assignee: str | None, actor: Actor, now: datetime,
               expected_version: int | None = None) -> CaseRecord:
        """Give the case to `assignee` (None: to nobody). Claiming (to oneself) an unassigned
        case, or giving back one's own, is open to all who work cases; the rest needs a
        supervisor, manager or admin."""
        _may_work(actor, "assign")
        with self.runtime.store.transaction() as tx:
            case = tx.get_case(case_id)
            if assignee == case.assignee and case.closed_at is None:
                return case  # so already (a claim sent twice): nothing to do, whoever asks
            case = self._current(case, expected_version)
            if case.closed_at is not None:
                raise TransitionRefused("assign", Refusal.STATE, f"case {case_id} is closed "
                                        f"(state '{case.state}')")
            refused = assignment_refusal(actor, assignee, case.assignee)
            if refused is not None:
                raise refused
            if assignee is not None and not tx.exists("user", assignee):
                raise InvalidInput("assignee", f"there is no active user '{assignee}'")
            return self.runtime.amend(tx, case, case.evolve(assignee=assignee), None, [],
                                      actor, now)

    @staticmethod
    def _current(case: CaseRecord, expected_version: int | None) -> CaseRecord:
        if expected_version is not None and expected_version != case.lock_version:
            raise Conflict(case.id, expected_version, case.lock_version)
        return case


def _may_work(actor: Actor, what: str) -> None:
    if actor.role in READ_ONLY_ROLES:
        raise RoleRefused(what, f"role '{actor.role}' is read-only")
