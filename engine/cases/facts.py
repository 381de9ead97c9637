"""A case's customer as its expressions see it: `customer.tier`, `customer.clv`, ...

The facts are the customer's record and the figures of its latest recompute, read in the fire's
own transaction (one read by primary key) and only for a workflow whose expressions read more
than the customer's id (WorkflowSpec.customer_facts). A value not known (no figures yet, no
industry) is left out, so that `has(customer.industry)` means "is set", as for case fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from engine.kernel.records import Transaction
from engine.kernel.specs import CUSTOMER_ATTRIBUTES, WorkflowSpec

Facts = Mapping[str, Any]


def facts_for(tx: Transaction, spec: WorkflowSpec, customer: str | None) -> Facts | None:
    """The customer's facts when the workflow's expressions read them, else None (only the
    id is offered then, which the case row holds)."""
    if not spec.customer_facts or customer is None:
        return None
    return cel_facts(tx.customer_facts(customer, spec.customer_facts))


def cel_facts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The facts as CEL takes them: money and shares as doubles, days as midnight UTC, the
    RFM scores also as the map `rfm` ({r, f, m}) a customer decision table reads."""
    facts = {name: _cel(value) for name, value in raw.items()
             if name in CUSTOMER_ATTRIBUTES and value is not None}
    if all(f"{s}_score" in facts for s in "rfm"):
        facts["rfm"] = {s: facts[f"{s}_score"] for s in "rfm"}
    return facts


def customer_context(facts: Facts | None, customer: str | None,
                     members: frozenset[str]) -> dict[str, Any]:
    """`customer` for an expression reading `members`."""
    if facts is None:
        return {"id": customer}
    return {m: facts[m] for m in members if m in facts}


def _cel(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value
