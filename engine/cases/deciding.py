"""The `decide` action: run a published decision table for a case and apply its outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.kernel.errors import InvalidInput, RuleError
from engine.kernel.expressions import Expression
from engine.kernel.fields import coerce, to_cel
from engine.kernel.history import EventDraft, iso
from engine.kernel.records import CaseRecord
from engine.kernel.specs import CASE_ATTRIBUTES, DECIDABLE_ATTRIBUTES, DecideAction, WorkflowSpec
from engine.rules.tables import Decision, TableSpec, decide

Context = Callable[[Expression], dict[str, Any]]


def run_decision(table: TableSpec, action: DecideAction, spec: WorkflowSpec, case: CaseRecord,
                 values: dict[str, Any], context: Context, given: Mapping[str, Any] | None = None,
                 own: frozenset[str] = frozenset()) -> tuple[CaseRecord, EventDraft, Decision]:
    """Decide for the case; write the outputs into `values` (or the case's queue/assignee).

    `given` inputs come from the caller; outputs named in `own` are the caller's to apply.
    Returns the case with any queue/assignee change, the `rule.decided` event to record, and
    the decision.
    """
    inputs = {name: given[name] if given and name in given
              else _input(table, action, spec, case, values, context, name)
              for name in table.inputs}
    decision = decide(table, inputs)
    if not isinstance(decision.outputs, Mapping):
        raise RuleError(f"{table.name} gave a list ('{table.hit}'); a decide action needs a table "
                        "that gives one result")
    for name, value in decision.outputs.items():
        if name in own:
            continue
        if name in DECIDABLE_ATTRIBUTES:
            case = case.evolve(**{name: value})
        elif name in spec.fields:
            try:
                values[name] = coerce(spec.fields[name], value)
            except InvalidInput as exc:
                raise RuleError(f"{table.name} v{table.version} decided {name}={value!r}, which "
                                f"the case cannot hold: {exc.detail}") from None
        else:
            raise RuleError(f"{table.name} decides '{name}', which workflow '{spec.name}' has no "
                            "field for")
    return case, decided_event(decision, inputs), decision


def decided_event(decision: Decision, inputs: Mapping[str, Any]) -> EventDraft:
    payload = decision.to_json()
    payload["inputs"] = {k: _jsonable(v) for k, v in inputs.items()}
    return EventDraft("rule.decided", payload)


def _input(table: TableSpec, action: DecideAction, spec: WorkflowSpec, case: CaseRecord,
           values: dict[str, Any], context: Context, name: str) -> Any:
    expression = action.bindings.get(name)
    if expression is not None:
        return expression.evaluate(context(expression))
    if name in spec.fields:
        return to_cel(spec.fields[name], values.get(name))
    if name in CASE_ATTRIBUTES:
        return getattr(case, name)
    raise RuleError(f"{table.name} needs input '{name}', which workflow '{spec.name}' neither has "
                    f"as a field nor gives with `with:` (line {action.line})")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value
