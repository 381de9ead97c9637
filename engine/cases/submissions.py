"""A step applied once per submission: a page's form carries a key made when it was shown, an
API request an Idempotency-Key header. The first submission with a key fires and stores the key
in the same transaction; a second one (a double click, a retried request) fires nothing and is
told so: `Applied.again`. A fire without a key is a plain fire, with no extra write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.cases.runtime import Actor, Runtime
from engine.kernel.errors import InvalidInput
from engine.kernel.records import CaseRecord, Submission, Transaction

MAX_KEY = 100  # characters: a UUID is 36, a form's key 22
KEPT = timedelta(days=1)  # how long a key is remembered (the worker forgets older ones)


@dataclass(frozen=True)
class Applied:
    """The case after a submission, and whether this submission found its step applied
    already (by an earlier one with the same key) rather than applying it."""

    case: CaseRecord
    again: bool = False


def checked_key(key: str | None) -> str | None:
    """The key as given (None or blank: none); InvalidInput if it cannot be one."""
    if key is None or not key.strip():
        return None
    if len(key) > MAX_KEY or not key.isprintable() or not key.isascii():
        raise InvalidInput("idempotency key", f"must be at most {MAX_KEY} printable ASCII "
                           "characters, e.g. a UUID")
    return key.strip()


def fire_once(runtime: Runtime, key: str | None, case_id: int, trigger: str, actor: Actor,
              now: datetime, inputs: Mapping[str, Any] | None = None,
              expected_version: int | None = None) -> Applied:
    """Fire `trigger` unless a submission with `key` fired it already (see the module)."""
    key = checked_key(key)
    if key is None:
        return Applied(runtime.fire(case_id, trigger, actor, now, inputs, expected_version))
    with runtime.store.transaction() as tx:
        if submitted_before(tx, key, actor.name, case_id, f"fired {trigger}", now) is None:
            return Applied(runtime.fire_in(tx, case_id, trigger, actor, now, inputs,
                                           expected_version))
        return Applied(tx.get_case(case_id), again=True)


def submitted_before(tx: Transaction, key: str, user: str, case_id: int, outcome: str,
                     now: datetime) -> Submission | None:
    """The submission with `key` that did `outcome` already; None if there is none, and then
    the key is kept in `tx` (whose writes do it). A key used for anything else is refused."""
    tx.get_case(case_id)  # NotFound for an unknown case, before the key names it
    earlier = tx.remember_submission(Submission(key, user, case_id, now, outcome))
    if earlier is None:
        return None
    if (earlier.user, earlier.case_id, earlier.outcome) != (user, case_id, outcome):
        raise InvalidInput("idempotency key", f"was used by another request ({earlier.user}, "
                           f"case {earlier.case_id}, {earlier.outcome}); send a new key with "
                           "each new request")
    return earlier
