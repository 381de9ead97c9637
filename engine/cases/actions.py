"""The actions that reach past the case itself: `update_customer` writes the case's customer
record (recorded in both histories), `measure` computes the customer's annual KPIs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.customers.kpis import attainment, measure
from engine.kernel.errors import InvalidInput
from engine.kernel.expressions import Expression
from engine.kernel.fields import coerce, to_json
from engine.kernel.history import EventDraft, chain_customer
from engine.kernel.personal import Sealer, sealed_changes
from engine.kernel.records import CaseRecord, CustomerHead, Transaction
from engine.kernel.specs import CUSTOMER_WRITABLE, KPIS, CustomerAction, MeasureAction, WorkflowSpec

Evaluate = Callable[[Expression], Any]


def customer_values(tx: Transaction, action: CustomerAction,
                    evaluate: Evaluate) -> dict[str, Any]:
    """What an update_customer action writes, each value checked as its attribute; an
    expression giving null or an empty string leaves that attribute as it is (a correction
    left empty in a form keeps what the record holds)."""
    changes = {}
    for name, expression in action.values.items():
        value = evaluate(expression)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            changes[name] = coerce(CUSTOMER_WRITABLE[name], value)
        except InvalidInput as exc:
            raise InvalidInput(f"customer.{name}", f"set by '{expression.source}' (line "
                               f"{action.line}): {exc.detail}") from None
        if name == "owner" and changes[name] is not None and not tx.exists("user",
                                                                            changes[name]):
            raise InvalidInput("customer.owner", f"there is no active user '{changes[name]}' "
                               "to own the customer")
    return changes


def update_customer(tx: Transaction, case: CaseRecord, updates: dict[str, Any], trigger: str,
                    actor: str, role: str, now: datetime) -> EventDraft | None:
    """Write the case's customer: a `customer.updated` event in the customer's history, and
    the `case.customer_updated` draft returned for the case's; None when nothing changes (a
    retained customer who was active already)."""
    assert case.customer is not None  # the loader allows update_customer on such cases only
    head, record = tx.customer_record(case.customer)
    changed = {}
    for name, value in updates.items():
        spec = CUSTOMER_WRITABLE[name]
        old, new = to_json(spec, getattr(record, name)), to_json(spec, value)
        if old != new:
            changed[name] = {"old": old, "new": new}
    if not changed:
        return None
    sealer = Sealer()  # one marker per value, in both histories
    payload = {"customer": case.customer, "changes": sealed_changes(sealer, changed)}
    tx.keep_personal(sealer.kept, case.customer, case.id, now)
    events = chain_customer(head.id, head.seq, head.head, [EventDraft("customer.updated", {
        **payload, "case": case.id, "workflow": case.workflow, "trigger": trigger})],
        actor, role, now)
    moved = CustomerHead(head.id, head.tier, head.churn_risk, events[-1].seq, events[-1].hash)
    tx.update_customer(moved, {name: updates[name] for name in changed}, events, now)
    return EventDraft("case.customer_updated", payload)


def measure_kpis(tx: Transaction, spec: WorkflowSpec, action: MeasureAction, case: CaseRecord,
                 values: dict[str, Any], evaluate: Evaluate) -> EventDraft:
    """Set actual_<kpi> and attainment_<kpi> in `values` from the customer's stored year."""
    year = evaluate(action.year)
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 < year < 3000:
        raise InvalidInput("year", f"measure '{action.year.source}' (line {action.line}) gave "
                           f"{year!r}, not a year")
    assert case.customer is not None
    actual = measure(tx.year_activity(case.customer, year))
    measured = {}
    for kpi in KPIS:
        if f"actual_{kpi}" not in spec.fields:
            continue
        goal = values.get(f"goal_{kpi}")
        values[f"actual_{kpi}"] = actual[kpi]
        values[f"attainment_{kpi}"] = attainment(goal, actual[kpi])
        measured[kpi] = {name: None if v is None else str(v) for name, v in (
            ("goal", goal), ("actual", actual[kpi]), ("attainment", values[f"attainment_{kpi}"]))}
    return EventDraft("case.kpis_measured", {"year": year, "kpis": measured})
