"""What the runtime reads and writes, and the small interface a store offers it.

The runtime never sees SQL: it asks a `Store` for a transaction and works through these
methods. engine/store implements them with SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, TypeVar

from engine.kernel.history import CustomerEvent, Event, iso
from engine.kernel.notifications import NewNotification, Recipient
from engine.kernel.personal import Sealed


@dataclass(frozen=True)
class YearActivity:
    """What the store knows of a customer's year Y (purchases of Y-1 and Y by day)."""

    year: int
    days: dict[date, Decimal] = field(default_factory=dict)  # purchase day -> amount
    csat: list[int] = field(default_factory=list)  # every rating given in Y
    nps: list[int] = field(default_factory=list)  # every NPS survey answer (0-10) given in Y


R = TypeVar("R")


def _evolved(record: R, names: frozenset[str], changes: dict[str, Any]) -> R:
    """A copy of a frozen record with `changes`: dataclasses.replace without its per-call
    introspection (records are copied several times a fire), names checked all the same."""
    unknown = changes.keys() - names
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {', '.join(sorted(unknown))}")
    copied: R = object.__new__(type(record))
    copied.__dict__.update(record.__dict__, **changes)
    return copied


@dataclass(frozen=True)
class CaseRecord:
    """One case as stored: fields in their JSON form, plus the head of its history chain."""

    id: int
    definition_id: int
    workflow: str
    version: int
    state: str
    queue: str | None
    assignee: str | None
    customer: str | None
    fields: dict[str, Any]
    lock_version: int
    history_seq: int
    history_head: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None

    def evolve(self, **changes: Any) -> CaseRecord:
        return _evolved(self, _CASE_FIELDS, changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "workflow": self.workflow, "version": self.version,
            "state": self.state, "queue": self.queue, "assignee": self.assignee,
            "customer": self.customer, "fields": self.fields, "lock_version": self.lock_version,
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
            "closed_at": iso(self.closed_at) if self.closed_at else None,
        }


@dataclass(frozen=True)
class DefinitionRecord:
    """One stored version of a workflow or table, with the exact source it was loaded from."""

    id: int
    kind: str
    name: str
    version: int
    content_hash: str
    source: str
    source_path: str
    loaded_at: datetime


@dataclass(frozen=True)
class CustomerRecord:
    """One customer as stored, with the head of its history chain."""

    id: str
    type: str  # personal | enterprise
    status: str  # potential | active | dormant | lost
    name: str | None
    email: str | None
    phone: str | None
    industry: str | None
    region: str | None
    owner: str | None  # the account manager
    tier: str | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    history_seq: int
    history_head: str
    erased_at: datetime | None = None  # its personal data erased (engine/store/erasure.py)


class CustomerHead(NamedTuple):
    """What a recompute compares and moves on: a customer's tier, churn risk, history head. (A
    named tuple: a recompute reads a million, and compares them as they are read.)"""

    id: str
    tier: str | None
    churn_risk: str | None
    seq: int
    head: str


class TimerKind(StrEnum):
    """What a durable timer is for (the `kind` column of timers)."""

    TIMER = "timer"  # a workflow timer: fires its trigger when due
    SLA = "sla"  # an SLA clock's warning or breach: looks at the clock when due


@dataclass(frozen=True)
class TimerRecord:
    """A durable timer: kind TIMER fires `trigger`; kind SLA looks at clock `name` at
    lateness `step`. id 0 until stored."""

    case_id: int
    kind: TimerKind
    name: str
    due_at: datetime
    trigger: str | None = None
    step: float | None = None
    id: int = 0
    attempts: int = 0
    last_error: str | None = None


class ClockStatus(StrEnum):
    """Whether an SLA clock counts (the `status` column of sla_clocks)."""

    RUNNING = "running"
    PAUSED = "paused"  # in a state the clock pauses in
    STOPPED = "stopped"  # its stop trigger fired (a later start trigger begins a new round)


class SlaStatus(StrEnum):
    """What a service desk sees of a clock, or of a case over its clocks (the case row's
    `sla_status` column, and the queue's SLA filter)."""

    MET = "met"  # stopped in time (a clock's only: a case counts only clocks that count)
    BREACHED = "breached"
    WARNING = "warning"
    PAUSED = "paused"
    RUNNING = "running"
    NONE = "none"  # a case without a clock that counts (a case's only, never a clock's)


@dataclass(frozen=True)
class ClockRecord:
    """One SLA clock of a case. Business (or calendar) time counted is `elapsed` plus, while
    running, the time from `since` to now; targets and due times follow the case's fields."""

    case_id: int
    name: str
    status: ClockStatus
    business: bool
    calendar: str
    target: timedelta | None
    elapsed: timedelta
    since: datetime | None
    due_at: datetime | None
    started_at: datetime
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    level: int = 0  # the escalation level reached
    step: float = 0.0  # the highest lateness step looked at

    def evolve(self, **changes: Any) -> ClockRecord:
        return _evolved(self, _CLOCK_FIELDS, changes)

    @property
    def shown(self) -> SlaStatus:
        """What a service desk sees: met, breached, paused, warning or running."""
        if self.status == ClockStatus.STOPPED:
            return SlaStatus.BREACHED if self.breached_at else SlaStatus.MET
        if self.breached_at:
            return SlaStatus.BREACHED
        if self.status == ClockStatus.PAUSED:
            return SlaStatus.PAUSED
        return SlaStatus.WARNING if self.warned_at else SlaStatus.RUNNING


_CASE_FIELDS = frozenset(f.name for f in fields(CaseRecord))
_CLOCK_FIELDS = frozenset(f.name for f in fields(ClockRecord))


def case_sla(clocks: Iterable[ClockRecord]) -> tuple[datetime | None, SlaStatus]:
    """A case's SLA columns (`sla_due_at`, `sla_status`) from all its clocks: over the clocks
    not stopped, the soonest due time; breached if any is, paused if all are, warning if any
    was warned, else running; none without such a clock."""
    live = [clock for clock in clocks if clock.status != ClockStatus.STOPPED]
    if not live:
        return None, SlaStatus.NONE
    due = min((clock.due_at for clock in live if clock.due_at is not None), default=None)
    if any(clock.breached_at is not None for clock in live):
        return due, SlaStatus.BREACHED
    if all(clock.status == ClockStatus.PAUSED for clock in live):
        return due, SlaStatus.PAUSED
    if any(clock.warned_at is not None for clock in live):
        return due, SlaStatus.WARNING
    return due, SlaStatus.RUNNING


def clock_json(clock: ClockRecord, spent: timedelta) -> dict[str, Any]:
    """A clock as JSON (the CLI's --json, the API), with the time it has counted so far."""
    return {"name": clock.name, "status": clock.shown,
            "running": clock.status == ClockStatus.RUNNING, "business": clock.business,
            "calendar": clock.calendar,
            "target_hours": clock.target.total_seconds() / 3600 if clock.target else None,
            "elapsed_hours": round(spent.total_seconds() / 3600, 4),
            "due_at": iso(clock.due_at) if clock.due_at else None,
            "started_at": iso(clock.started_at),
            "warned_at": iso(clock.warned_at) if clock.warned_at else None,
            "breached_at": iso(clock.breached_at) if clock.breached_at else None,
            "stopped_at": iso(clock.stopped_at) if clock.stopped_at else None,
            "level": clock.level}


@dataclass(frozen=True)
class Notice:
    """A message for a person, kept in the outbox until read or sent."""

    recipient: str
    address: str | None
    subject: str
    body: str
    case_id: int | None = None


class Audience(StrEnum):
    """Whom an outbox row's `recipient` names."""

    PERSON = "person"  # a user name: notices to staff
    CUSTOMER = "customer"  # a customer id: mail about their case


@dataclass(frozen=True)
class CustomerMail:
    """A mail to a customer about a case, with the headers that thread it (its own Message-ID,
    the mail it answers and the thread before it), to queue in the outbox."""

    customer: str
    address: str
    subject: str
    body: str
    case_id: int
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False  # sent by casework on its own: Auto-Submitted: auto-generated


@dataclass(frozen=True)
class TimerRow:
    """A stored timer as `casework timers list` shows it: what it does, when, and how it went."""

    id: int
    case_id: int
    kind: str  # timer | sla
    name: str
    trigger: str | None
    step: float | None
    due_at: datetime
    retry_at: datetime  # due_at, later after a failure
    state: str  # pending | fired | cancelled
    attempts: int
    last_error: str | None
    outcome: str | None
    created_at: datetime
    done_at: datetime | None
    claimed_by: str | None = None  # the worker whose lease on it holds (or held)
    lease_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return _instants_as_text(asdict(self))


@dataclass(frozen=True)
class OutboxRow:
    """A notice in the outbox, with whether and when it was sent."""

    id: int
    case_id: int | None
    recipient: str
    address: str | None
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    message_id: str | None = None
    audience: str = Audience.PERSON.value
    in_reply_to: str | None = None
    thread_refs: str | None = None  # the References header: Message-IDs, space-separated
    automatic: bool = False
    next_attempt_at: datetime | None = None  # not tried again before then
    failed_at: datetime | None = None  # given up: refused for good, or too many attempts

    def to_json(self) -> dict[str, Any]:
        return _instants_as_text(asdict(self))


def _instants_as_text(values: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()}


@dataclass(frozen=True)
class Submission:
    """A form or API request that applied something once, by the key it carried."""

    key: str
    user: str
    case_id: int
    at: datetime
    outcome: str  # what it applied, e.g. "fired triage"


class Transaction(Protocol):
    def get_case(self, case_id: int) -> CaseRecord: ...
    def insert_case(self, record: CaseRecord) -> int: ...
    def reserve_case_ids(self, count: int) -> list[int]: ...
    def insert_cases(self, records: Sequence[CaseRecord]) -> None: ...
    def update_case(self, record: CaseRecord, expected_lock_version: int) -> None: ...
    def rebase_case(self, record: CaseRecord, expected_lock_version: int) -> None: ...
    def append_events(self, events: Sequence[Event]) -> None: ...
    def keep_personal(self, sealed: Sequence[Sealed], customer_id: str | None,
                      case_id: int | None, at: datetime) -> None:
        """Put sealed personal values in the vault (engine/kernel/personal.py)."""
    def pick_assignee(self, strategy: str, roles: Sequence[str], pool: str) -> str | None: ...
    def publication_mark(self) -> int: ...
    # Timers and clocks are written before the case row: a worker that holds a claimed timer
    # then waits for nobody (see engine/jobs/worker.py on lock order).
    def clocks(self, case_id: int) -> dict[str, ClockRecord]: ...
    def save_clocks(self, clocks: Sequence[ClockRecord]) -> None: ...
    # arming a timer the case has pending (same kind and name) retargets it
    def arm_timers(self, timers: Sequence[TimerRecord], at: datetime) -> None: ...
    def cancel_timers(self, case_id: int, kind: TimerKind, names: Sequence[str] | None,
                      at: datetime) -> None: ...
    def finish_timer(self, timer: TimerRecord, outcome: str) -> None: ...
    def add_notices(self, notices: Sequence[Notice], at: datetime) -> None: ...
    def recipients(self, role: str) -> list[tuple[str, str | None]]: ...
    def user_email(self, name: str) -> str | None: ...
    def add_notifications(self, notifications: Sequence[NewNotification],
                          at: datetime) -> None: ...
    def notified(self, names: Collection[str]) -> dict[str, Recipient]:
        """The active users among `names`, with their addresses and email choices."""
    def customer_owner(self, customer_id: str) -> str | None: ...
    def exists(self, kind: str, key: str | int) -> bool: ...
    def open_case(self, workflow: str, customer: str) -> int | None: ...
    def open_case_ids(self, workflows: Sequence[str],
                      customers_: Sequence[str]) -> dict[tuple[str, str], list[int]]: ...
    def customer_record(self, customer_id: str) -> tuple[CustomerHead, CustomerRecord]: ...
    def customer_facts(self, customer_id: str, names: frozenset[str]) -> dict[str, Any]:
        """Facts of the customer's record and latest figures (engine.kernel.specs'
        CUSTOMER_ATTRIBUTES) by name, those named only, for a case's expressions."""
    def update_customer(self, head: CustomerHead, changes: Mapping[str, Any],
                        events: Sequence[CustomerEvent], at: datetime) -> None: ...
    def year_activity(self, customer_id: str, year: int) -> YearActivity: ...
    def remember_submission(self, submission: Submission) -> Submission | None:
        """Store the submission's key; if the key is stored already, store nothing and
        return the earlier submission."""


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def get_case(self, case_id: int) -> CaseRecord: ...
    def case_events(self, case_id: int) -> list[Event]: ...
    def definition(self, kind: str, name: str, version: int | None = None) -> DefinitionRecord: ...
    def definition_by_id(self, definition_id: int) -> DefinitionRecord: ...
    def add_definition(self, kind: str, name: str, version: int, content_hash: str, source: str,
                       source_path: str, at: datetime) -> DefinitionRecord: ...
    def definitions(self, kind: str) -> list[DefinitionRecord]: ...
    def definition_marks(self) -> tuple[int, int]:
        """The newest definition's and the newest publication's ids: either changes whenever
        a version is stored or published, in any process."""
    def publications(self, kind: str, name: str) -> list[DefinitionRecord]: ...
    def publish(self, record: DefinitionRecord, at: datetime, by: str,
                approved_by: str | None = None) -> None: ...
    def chains(self) -> Iterator[tuple[int, int, str, Iterable[Event]]]: ...


class TimerStore(Protocol):
    """Where a worker finds due timers (engine.jobs.worker)."""

    def claim(self, now: datetime, worker: str, wall: datetime, lease_until: datetime,
              limit: int) -> list[TimerRecord]:
        """Claim up to `limit` timers due by `now` for `worker` until `lease_until`: those
        nobody holds a lease on at `wall` (the real time); soonest due first."""
    def firing(self, timer: TimerRecord, worker: str,
               now: datetime) -> AbstractContextManager[Transaction | None]:
        """A transaction firing a claimed timer (marked fired at `now`), or None when the
        claim no longer holds (another worker took it over, or it was retargeted)."""
    def failed(self, timer: TimerRecord, worker: str, error: str, retry_at: datetime) -> None: ...
    def release(self, claimed: Sequence[TimerRecord], worker: str) -> None: ...
    def forget_submissions(self, before: datetime) -> int:
        """Drop the submission keys stored before `before`; how many there were."""


class Timers(TimerStore, Protocol):
    """The timers, clocks and outbox as the worker, the case pages and the command line read
    them (engine/store/sweeps.py)."""

    def listing(self, case_id: int | None = None, state: str | None = None,
                failing: bool = False) -> list[TimerRow]:
        """Timers soonest due first: of one case, in one state, or pending and failing."""
    def clocks(self, case_id: int) -> list[ClockRecord]:
        """The case's SLA clocks, by start and name."""
    def notices(self, unsent_only: bool = False) -> list[OutboxRow]:
        """The outbox, oldest first."""
    def mark_sent(self, notice_id: int, at: datetime, error: str | None = None) -> None:
        """Record an attempt to send a notice: sent at `at`, or failed with `error`."""
    def due_mail(self, now: datetime) -> list[OutboxRow]:
        """Unsent mail not given up whose next attempt is due by `now`, oldest first."""
    def mark_failed(self, notice_id: int, at: datetime, error: str,
                    retry_at: datetime | None) -> None:
        """Record a failed attempt: tried again from `retry_at`, or (None) given up."""


@dataclass(frozen=True)
class OperatingFigures:
    """What an operator watches of a running casework, read from the database at one moment:
    the work waiting (timers due, mail unsent, open cases per queue) and how late it is."""

    timers_due: int  # pending timers whose time (or retry) has come
    timers_late: int  # of those, due for more than LATE_AFTER
    oldest_due_seconds: float  # how long the oldest due timer has waited; 0 when none is due
    outbox_unsent: int  # mail neither sent nor given up
    outbox_failed: int  # mail given up after its attempts
    open_by_queue: dict[str, int]


class Operating(Protocol):
    """The store's side of the operating figures (engine/store/operating.py)."""

    def figures(self, now: datetime) -> OperatingFigures: ...

    def ready(self) -> str | None:
        """None when the database answers and its schema is this casework's; else why not."""
