"""Opening cases for groups of customers on a schedule: the year's annual management cycles
(`casework cycles start --year Y`) and the record reviews that have fallen due
(`casework reviews start`).

Both open each case at most once: a customer gets one annual_cycle per year (whatever state an
earlier one of that year is in) and no second record_review while one is open. Each start is
recorded in the customer's history (`customer.case_started`) and the case's `case.created`
says why. Customers are opened in batches, each batch one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from dateutil.relativedelta import relativedelta

from engine.cases.runtime import Actor, Runtime, StartRequest
from engine.customers.records import TIER_TABLE, CustomerTransaction
from engine.kernel.errors import DefinitionError, InvalidInput, NotFound, Problem, RuleError
from engine.kernel.history import EventDraft, chain_customer
from engine.kernel.records import CustomerHead
from engine.rules.tables import TableSpec, decide
from engine.workflows.registry import Registry

CYCLE_WORKFLOW = "annual_cycle"
REVIEW_WORKFLOW = "record_review"
REVIEW_TABLE = "record_review"
MANAGED_TIERS = ("strategic", "key")  # the tiers annual cycles are opened for by default
SYSTEM = Actor("casework", "system")
BATCH = 1000


class OpeningStore(Protocol):
    """What opening reads (engine.store.customers.SqlCustomers)."""

    def transaction(self) -> Any: ...
    def tiered(self, tiers: Sequence[str] | None) -> list[tuple[str, str | None, datetime]]:
        """(id, tier, last reviewed or else created) of customers in these tiers (None: all)."""
    def field_values(self, workflow: str, name: str) -> set[tuple[str, Any]]:
        """(customer, value of field `name`) over every case of `workflow`, open or closed."""
    def open_customers(self, workflow: str) -> set[str]: ...


@dataclass
class Opened:
    """What a run opened: case ids by customer, and the customers it passed over and why."""

    workflow: str
    started: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


class Opening:
    def __init__(self, customers: OpeningStore, registry: Registry, runtime: Runtime) -> None:
        self.customers = customers
        self.registry = registry
        self.runtime = runtime

    def cycles(self, year: int, now: datetime,
               tiers: Sequence[str] = MANAGED_TIERS) -> Opened:
        """Open the year's annual_cycle for every customer in `tiers` that has none for it."""
        if not 1900 < year < 3000:
            raise RuleError(f"{year} is not a year to open cycles for")
        self._check_tiers(tiers, now)
        deployed = self.registry.active(CYCLE_WORKFLOW)
        if "year" not in deployed.spec.fields:
            raise RuleError(f"workflow '{CYCLE_WORKFLOW}' has no 'year' field to open a "
                            f"year's cycles with (see {deployed.spec.path})")
        done = Opened(CYCLE_WORKFLOW)
        have = {customer for customer, value in
                self.customers.field_values(CYCLE_WORKFLOW, "year") if value == year}
        wanted = []
        for customer, tier, _ in self.customers.tiered(tiers):
            if customer in have:
                done.skipped[customer] = f"has the {year} cycle already"
                continue
            fields = {"year": year, **({"tier": tier} if "tier" in deployed.spec.fields else {})}
            wanted.append(StartRequest(deployed, fields, customer,
                                       because={"event": "cycle.year_opened", "year": year}))
        self._start(wanted, now, done)
        return done

    def reviews(self, as_of: date, now: datetime) -> Opened:
        """Open a record_review for each customer whose record has not been reviewed (or, never
        reviewed, was created) within the months the record_review table gives its tier."""
        deployed = self.registry.active(REVIEW_WORKFLOW)
        table = self.registry.active_table(REVIEW_TABLE, now)
        if set(table.inputs) - {"tier"} or "months" not in table.outputs:
            raise RuleError(f"table '{REVIEW_TABLE}' must read only 'tier' and decide 'months' "
                            f"(it reads {', '.join(table.inputs)}; see {table.path})")
        done = Opened(REVIEW_WORKFLOW)
        busy = self.customers.open_customers(REVIEW_WORKFLOW)
        months: dict[str | None, int | None] = {}
        wanted = []
        for customer, tier, last in self.customers.tiered(None):
            if tier not in months:
                decision = decide(table, {"tier": tier or ""})
                months[tier] = decision.outputs.get("months")
            every = months[tier]
            if every is None or last.date() + relativedelta(months=every) > as_of:
                continue
            if customer in busy:
                done.skipped[customer] = "has an open review"
                continue
            fields = {k: v for k, v in (("tier", tier), ("last_reviewed", last.date()))
                      if k in deployed.spec.fields and v is not None}
            wanted.append(StartRequest(deployed, fields, customer, because={
                "event": "record.stale", "months": every, "since": last.date().isoformat()}))
        self._start(wanted, now, done)
        return done

    def _check_tiers(self, tiers: Sequence[str], now: datetime) -> None:
        """The tiers asked for are ones the customer_tier table in force decides: a wrong
        table is the table's problem (by default), a wrong tier asked for the caller's."""
        try:
            table = self.registry.active_table(TIER_TABLE, now)
        except NotFound:
            return  # nothing is tiered yet: there is nothing to open, and no list to check
        if tuple(tiers) == MANAGED_TIERS:
            problems = managed_tier_problems(table)
            if problems:
                raise DefinitionError(problems)
        decided = table.values_of("tier")
        unknown = [tier for tier in tiers if tier not in decided]
        if unknown:
            raise InvalidInput("tier", f"{TIER_TABLE} v{table.version} decides no tier "
                               f"{', '.join(map(repr, unknown))} (its tiers: "
                               f"{', '.join(map(str, decided)) or 'none'}; see {table.path})")

    def _start(self, wanted: list[StartRequest], now: datetime, done: Opened) -> None:
        for first in range(0, len(wanted), BATCH):
            batch = wanted[first:first + BATCH]
            with self.customers.transaction() as tx:
                cases = self.runtime.start_many(tx, batch, SYSTEM, now)
                for request, case in zip(batch, cases, strict=True):
                    assert request.customer is not None and request.because is not None
                    _record(tx, request.customer, case.workflow, case.id,
                            str(request.because["event"]), now)
                    done.started[request.customer] = case.id


def managed_tier_problems(table: TableSpec) -> list[Problem]:
    """What is wrong with a customer_tier table that does not decide every managed tier: the
    annual cycles are opened for them (the registry refuses to publish such a version)."""
    decided = table.values_of("tier")
    missing = [tier for tier in MANAGED_TIERS if tier not in decided]
    if not missing:
        return []
    output = table.outputs.get("tier")
    where = f"its 'tier' values are {', '.join(map(str, decided)) or 'none'}" if output else \
        "it has no 'tier' output"
    return [Problem(table.path, output.line if output else 1,
                    f"table '{table.name}' must decide the managed tiers "
                    f"{', '.join(MANAGED_TIERS)}, but {where}; add "
                    f"{', '.join(missing)} (annual cycles are opened for the managed tiers)")]


def _record(tx: CustomerTransaction, customer: str, workflow: str, case_id: int, on: str,
            now: datetime) -> None:
    """`customer.case_started` in the customer's history."""
    head, _ = tx.customer_record(customer)
    events = chain_customer(head.id, head.seq, head.head, [EventDraft(
        "customer.case_started", {"workflow": workflow, "case": case_id, "on": on})],
        SYSTEM.name, SYSTEM.role, now)
    tx.update_customer(CustomerHead(head.id, head.tier, head.churn_risk, events[-1].seq,
                                    events[-1].hash), {}, events, now)
