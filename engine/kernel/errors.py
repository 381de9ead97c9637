"""The casework error hierarchy: every error says what, where, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CaseworkError(Exception):
    """Base of every error casework raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One finding in a definition file: where it is and what is wrong."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class DefinitionError(CaseworkError):
    """A workflow or rule file that does not load; carries every problem found, not just one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line))
        super().__init__("\n".join(str(p) for p in self.problems))


class RuleError(CaseworkError):
    """A decision table that cannot decide for these inputs: names the table, input or rows."""


class NotFound(CaseworkError):
    """A case, workflow or definition that does not exist."""


class InvalidInput(CaseworkError):
    """A field value that does not fit its declared type; names the field and the value."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"field '{field}': {message}")


class Refusal(StrEnum):
    """What refused a fire: TransitionRefused.reason, and the API's `reason`."""

    TRIGGER = "trigger"  # the workflow has no such trigger
    STATE = "state"  # it does not apply in the case's state (or the case is closed)
    ROLE = "role"  # the actor's role may not (always a RoleRefused)
    GUARD = "guard"  # the transition's condition is not met
    FIELD = "field"  # a field it needs is missing, or it was given one it does not take


class TransitionRefused(CaseworkError):
    """A fire that was not allowed: says whether a role, guard, field or the state refused it."""

    def __init__(self, trigger: str, reason: Refusal, detail: str,
                 condition: str | None = None) -> None:
        # the edge answers 403 by the class: a role refusal of the plain class would be a 422
        if reason == Refusal.ROLE and not isinstance(self, RoleRefused):
            raise TypeError(f"refusing '{trigger}' for a role: raise RoleRefused, not "
                            "TransitionRefused with reason 'role'")
        self.trigger = trigger
        self.reason = reason
        self.detail = detail  # in words, for the person refused
        self.condition = condition  # a guard's expression, for those who read the workflow
        super().__init__(f"'{trigger}' refused ({reason}): {detail}")


class RoleRefused(TransitionRefused):
    """A fire or a change the actor's role may not make (forbidden, where HTTP answers)."""

    def __init__(self, trigger: str, detail: str) -> None:
        super().__init__(trigger, Refusal.ROLE, detail)


class Conflict(CaseworkError):
    """Somebody else changed the case first; reload it and try again."""

    def __init__(self, case_id: int, expected: int, actual: int | None) -> None:
        self.case_id = case_id
        self.expected = expected
        self.actual = actual
        now = "deleted" if actual is None else f"now at version {actual}"
        super().__init__(
            f"case {case_id} was changed by someone else (expected version {expected}, {now}); "
            "reload the case and try again"
        )


class ExpressionError(CaseworkError):
    """A CEL expression failed while being evaluated (its source is part of the message)."""


class BackupRefused(CaseworkError):
    """A backup that may not be restored here (not a backup, damaged, of a newer schema or
    another database kind), or a target that may not be restored into; nothing was changed."""


class Busy(CaseworkError):
    """The database stayed locked by another writer for the whole configured wait
    (CASEWORK_LOCK_TIMEOUT): nothing was written, and the same request may simply be tried
    again after `retry_after` seconds (HTTP 503 with Retry-After; the CLI's exit code 75)."""

    def __init__(self, waited: float, retry_after: int = 1) -> None:
        self.waited = waited
        self.retry_after = retry_after
        super().__init__(
            f"the database is busy: another writer held its lock for the whole {waited:g} s "
            f"wait (CASEWORK_LOCK_TIMEOUT); nothing was written; try again in {retry_after} s")


class ApprovalRefused(CaseworkError):
    """A publication request that may not be decided so: it is not pending any more, or its
    base is no longer the active version (stale). Nothing was changed."""


class SelfApproval(ApprovalRefused):
    """A manager approving (or rejecting) their own publication request: four eyes need a
    second person (forbidden, where HTTP answers)."""


class JobRefused(CaseworkError):
    """A job that may not be requested now (a tier recompute while one is queued or running),
    or one requested with arguments it cannot run with. Nothing was queued."""
