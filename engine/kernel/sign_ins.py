"""Signing in to the web pages: password guessing slowed per client address and per account
name, accounts locked after consecutive failures, and every sign-in event in the security log.

Both counts are kept in the database (engine/store/sign_ins.py), so every server process of one
casework counts alike. An attempt is decided and recorded in one transaction that holds the
rows of its name and its address, so two processes cannot both count the same failure as the
last one allowed. An unknown name is counted, locked and answered exactly like a known one:
the answers never tell whether a name exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from engine.kernel.errors import CaseworkError

LONGEST_NAME = 150  # characters of a name kept (the column's size)
LONGEST_AGENT = 200  # characters of a user agent kept


class SecurityEventKind(StrEnum):
    """What happened, in a row of the security log."""

    SUCCEEDED = "succeeded"  # signed in
    FAILED = "failed"  # a wrong name or password
    THROTTLED = "throttled"  # refused unchecked: too many failures of the address or name
    LOCKED = "locked"  # the name's failures reached the limit: locked for a while
    UNLOCKED = "unlocked"  # an admin lifted a lock (casework users unlock)
    SIGNED_OUT = "signed_out"


@dataclass(frozen=True)
class SecurityEvent:
    """One row of the security log (append-only)."""

    kind: SecurityEventKind
    at: datetime
    name: str | None
    client: str | None = None
    user_agent: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class SignInLimits:
    """How many failures are allowed (engine.kernel.settings.WebSettings documents them)."""

    per_address: int = 20  # failed sign-ins of one client address within `window`
    window: timedelta = timedelta(minutes=15)
    lock_after: int = 10  # consecutive failures of one name that lock it
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Throttle:
    """What the store holds of one name or one address: its failures and since when they are
    counted (`since`), and for a name, until when it is locked."""

    failures: int = 0
    since: datetime | None = None
    locked_until: datetime | None = None


class SignInRefused(CaseworkError):
    """A wrong name or password, or a disabled account (the answer does not say which)."""


class SignInThrottled(CaseworkError):
    """Too many failed sign-ins of this address or name: refused without looking at the
    password; `retry_after` says in how many seconds to try again."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(f"too many failed sign-ins; try again in {minutes} minute"
                         f"{'s' if minutes != 1 else ''}, or ask an administrator to unlock "
                         "the account")


class SignInTransaction(Protocol):
    def hold_throttles(self, name: str, client: str | None) -> tuple[Throttle, Throttle]:
        """The name's and the address's throttle, their rows locked to this transaction."""
    def save_throttles(self, name: str, client: str | None, by_name: Throttle,
                       by_address: Throttle) -> None: ...
    def log(self, event: SecurityEvent) -> None: ...
    def forget_throttles(self, counted_before: datetime, now: datetime) -> None:
        """Delete the throttles counted before then that lock nothing now."""


class SignInStore(Protocol):
    def transaction(self) -> AbstractContextManager[SignInTransaction]: ...
    def throttles(self, name: str, client: str | None) -> tuple[Throttle, Throttle]:
        """The name's and the address's throttle, read without a lock."""
    def unlock(self, name: str, now: datetime) -> bool:
        """Lift the name's lock and forget its failures; whether it was locked."""
    def log(self, event: SecurityEvent) -> None:
        """Append one event in a transaction of its own."""
    def events(self, name: str | None, limit: int) -> list[SecurityEvent]:
        """The latest events, newest first, of one name or of everyone."""


@dataclass(frozen=True)
class Attempt:
    """One sign-in: who it claims to be, from where, with which browser."""

    name: str
    client: str | None
    user_agent: str | None
    at: datetime

    def event(self, kind: SecurityEventKind, detail: str | None = None) -> SecurityEvent:
        return SecurityEvent(kind, self.at, self.name[:LONGEST_NAME] or None,
                             self.client, (self.user_agent or "")[:LONGEST_AGENT] or None,
                             detail)


class SignIns:
    """Decides each sign-in: throttled, refused or signed in, and records it."""

    def __init__(self, store: SignInStore, limits: SignInLimits,
                 password_ok: Callable[[str, str], bool]) -> None:
        self.store = store
        self.limits = limits
        self.password_ok = password_ok  # (name, password): is it the active user's password

    def sign_in(self, attempt: Attempt, password: str) -> None:
        """Returns when `password` signs `attempt.name` in; SignInThrottled or SignInRefused
        (each recorded in the security log) otherwise."""
        # a first look without a lock: a throttled attempt costs no password hash
        if self._wait(*self.store.throttles(attempt.name, attempt.client), attempt.at) > 0:
            self._refuse_throttled(attempt)
        ok = self.password_ok(attempt.name, password)
        with self.store.transaction() as tx:
            by_name, by_address = tx.hold_throttles(attempt.name, attempt.client)
            wait = self._wait(by_name, by_address, attempt.at)
            if wait > 0:  # another process counted the last failure meanwhile
                tx.log(attempt.event(SecurityEventKind.THROTTLED, "counted meanwhile"))
            elif ok:
                tx.save_throttles(attempt.name, attempt.client, Throttle(), by_address)
                tx.log(attempt.event(SecurityEventKind.SUCCEEDED))
                # old counts are swept where sign-ins succeed: the table does not grow
                tx.forget_throttles(attempt.at - max(self.limits.window, self.limits.lock_for)
                                    - self.limits.window, attempt.at)
            else:
                by_name, by_address = self._count_failure(by_name, by_address, attempt.at)
                tx.save_throttles(attempt.name, attempt.client, by_name, by_address)
                tx.log(attempt.event(SecurityEventKind.FAILED))
                if by_name.locked_until is not None:
                    tx.log(attempt.event(SecurityEventKind.LOCKED,
                                         f"until {by_name.locked_until.isoformat()}"))
        if wait > 0:
            raise SignInThrottled(wait)
        if not ok:
            raise SignInRefused("wrong name or password, or the account is disabled")

    def _refuse_throttled(self, attempt: Attempt) -> None:
        by_name, by_address = self.store.throttles(attempt.name, attempt.client)
        reason = "account locked" if self._locked_for(by_name, attempt.at) > 0 \
            else "too many failures from this address"
        self.store.log(attempt.event(SecurityEventKind.THROTTLED, reason))
        raise SignInThrottled(self._wait(by_name, by_address, attempt.at))

    def _locked_for(self, by_name: Throttle, now: datetime) -> int:
        if by_name.locked_until is None:
            return 0
        return math.ceil((by_name.locked_until - now).total_seconds())

    def _wait(self, by_name: Throttle, by_address: Throttle, now: datetime) -> int:
        """Seconds until an attempt will be looked at again; 0: now."""
        address = 0
        if by_address.since is not None and by_address.failures >= self.limits.per_address:
            address = math.ceil((by_address.since + self.limits.window - now).total_seconds())
        return max(0, address, self._locked_for(by_name, now))

    def _count_failure(self, by_name: Throttle, by_address: Throttle, now: datetime
                       ) -> tuple[Throttle, Throttle]:
        """Both throttles after one more failure: the address's within its window (a new
        window when the last one ended), the name's towards a lock (counted afresh after)."""
        if by_address.since is None or by_address.since + self.limits.window <= now:
            by_address = Throttle(0, now)
        by_address = Throttle(by_address.failures + 1, by_address.since)
        failures = by_name.failures + 1
        if failures >= self.limits.lock_after:
            return Throttle(0, now, now + self.limits.lock_for), by_address
        return Throttle(failures, by_name.since or now), by_address

    def events(self, name: str | None = None, limit: int = 50) -> list[SecurityEvent]:
        """The security log's latest events, newest first (of one name, or everyone's)."""
        return self.store.events(name, limit)

    def signed_out(self, attempt: Attempt) -> None:
        self.store.log(attempt.event(SecurityEventKind.SIGNED_OUT))

    def unlock(self, name: str, by: str, now: datetime) -> bool:
        """Lift a lock (an admin's command); recorded whether or not there was one."""
        was = self.store.unlock(name, now)
        self.store.log(SecurityEvent(SecurityEventKind.UNLOCKED, now, name[:LONGEST_NAME],
                                     detail=f"by {by}" + ("" if was else " (was not locked)")))
        return was
