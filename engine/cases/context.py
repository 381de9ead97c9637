"""What a case's expressions see: `case`, `before`, `customer`, `actor` and `now`, and who fires.

Only the members an expression reads are passed to CEL: it is much faster with small inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.cases.facts import Facts, customer_context
from engine.kernel.expressions import Expression
from engine.kernel.fields import coerce, to_cel
from engine.kernel.records import CaseRecord
from engine.kernel.specs import WorkflowSpec


@dataclass(frozen=True)
class Actor:
    """Who fires: a user name and the role they act in. `operator`: the command line acting
    on the operator's own authority (`--as-operator`), not as a checked user; every event it
    writes says so."""

    name: str
    role: str
    operator: bool = False


def case_values(spec: WorkflowSpec, stored: dict[str, Any]) -> dict[str, Any]:
    """A case's stored (JSON) fields as their Python values."""
    return {name: coerce(spec.fields[name], value) for name, value in stored.items()
            if name in spec.fields}


def context_for(expression: Expression, spec: WorkflowSpec, case: CaseRecord,
                values: dict[str, Any], actor: Actor, now: datetime,
                facts: Facts | None = None) -> dict[str, Any]:
    """The variables `expression` reads. `case` reads `values` (the fields as the fire has
    them so far), `before` the fields as stored when the fire began (case.fields), `customer`
    the customer's `facts` (only its id when None)."""
    context: dict[str, Any] = {}
    for root, members in expression.members.items():
        if root == "case":  # unset fields are left out, so that has(case.x) means "is set"
            context["case"] = {
                m: to_cel(spec.fields[m], values[m]) if m in spec.fields else getattr(case, m)
                for m in members if m not in spec.fields or values.get(m) is not None
            }
        elif root == "before":
            context["before"] = {
                m: to_cel(spec.fields[m], coerce(spec.fields[m], case.fields[m]))
                for m in members if case.fields.get(m) is not None}
        elif root == "actor":
            context["actor"] = {"name": actor.name, "role": actor.role}
        elif root == "now":
            context["now"] = now
        elif root == "customer":
            context["customer"] = customer_context(facts, case.customer, members)
    return context


def evaluator(spec: WorkflowSpec, case: CaseRecord, values: dict[str, Any], actor: Actor,
              now: datetime, facts: Facts | None = None) -> Callable[[Expression], Any]:
    """Evaluate expressions over the case as `context_for` gives it."""
    return lambda e: e.evaluate(context_for(e, spec, case, values, actor, now, facts))
