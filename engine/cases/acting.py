"""Running a `do:` (or `on_start:`) list of actions on a case, inside the caller's transaction.

Each action sees the case as the actions before it left it: `set` and `decide` write `values`,
a routing decision or `assign` moves the case, `update_customer` collects what it writes on the
customer (written once, after the list), `measure` sets the KPI fields, `mail` queues a mail to
the customer (engine.cases.mailing) with the case as the actions before it left it, `survey`
sends the customer a survey link through the Surveyor the runtime was given
(engine.channels.surveys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.cases.actions import customer_values, measure_kpis, update_customer
from engine.cases.context import Actor, context_for, evaluator
from engine.cases.deciding import run_decision
from engine.cases.facts import Facts
from engine.cases.mailing import CustomerMailer, NoMailer
from engine.kernel.errors import CaseworkError, ExpressionError, InvalidInput
from engine.kernel.fields import coerce, to_json
from engine.kernel.history import EventDraft
from engine.kernel.records import CaseRecord, Transaction
from engine.kernel.specs import (
    Action,
    AssignAction,
    CustomerAction,
    DecideAction,
    MailAction,
    MeasureAction,
    SetAction,
    SurveyAction,
    WorkflowSpec,
)
from engine.workflows.registry import Registry


class Surveyor(Protocol):
    """Sends surveys (engine.channels.surveys, above this layer, is one)."""

    def issue(self, tx: Transaction, case: CaseRecord, kind: str, now: datetime) -> EventDraft:
        """Issue a survey of `kind` to the case's customer in the fire's transaction; the
        history event that says so (`survey.sent`, or `survey.not_sent` and why)."""


class NoSurveyor:
    """A runtime without surveys: a `survey` action says plainly that none are set up."""

    def issue(self, tx: Transaction, case: CaseRecord, kind: str, now: datetime) -> EventDraft:
        raise CaseworkError(f"case {case.id}: a '{kind}' survey is due, but this process has no "
                            "survey sender; open casework through engine.wiring.open_casework")


@dataclass(frozen=True)
class Acting:
    """The actions of one fire or start: whose case, by whom, when."""

    registry: Registry
    tx: Transaction
    spec: WorkflowSpec
    actor: Actor
    now: datetime
    facts: Facts | None
    mailer: CustomerMailer = field(default_factory=NoMailer)
    surveyor: Surveyor = field(default_factory=NoSurveyor)

    def run(self, actions: Sequence[Action], case: CaseRecord, values: dict[str, Any],
            cause: str) -> tuple[CaseRecord, list[EventDraft]]:
        """Run `actions`, writing `values` in place: the case moved (queue, assignee) and the
        history drafts of the decisions, measures and customer update (`cause`: the trigger,
        or on_start)."""
        decided: list[EventDraft] = []
        updates: dict[str, Any] = {}  # what update_customer actions write on the customer
        mark: int | None = None  # which table versions are published: read once per fire
        for action in actions:
            evaluate = evaluator(self.spec, case, values, self.actor, self.now, self.facts)
            if isinstance(action, SetAction):
                values[action.field] = self._set(action, evaluate(action.expression))
            elif isinstance(action, DecideAction):
                if action.when is not None and evaluate(action.when) is not True:
                    continue
                mark = self.tx.publication_mark() if mark is None else mark
                case, event = self._decide(action, case, values, mark)
                decided.append(event)
            elif isinstance(action, CustomerAction):
                updates.update(customer_values(self.tx, action, evaluate))
            elif isinstance(action, MeasureAction):
                decided.append(measure_kpis(self.tx, self.spec, action, case, values, evaluate))
            elif isinstance(action, MailAction):
                decided.append(self._mail(action, case, values))
            elif isinstance(action, SurveyAction):
                decided.append(self.surveyor.issue(self.tx, case, action.kind, self.now))
            else:
                case = case.evolve(assignee=self._assign(action, evaluate))
        if updates:
            updated = update_customer(self.tx, case, updates, cause, self.actor.name,
                                      self.actor.role, self.now)
            decided += [updated] if updated is not None else []
        return case, decided

    def _mail(self, action: MailAction, case: CaseRecord, values: dict[str, Any]) -> EventDraft:
        """Mail the customer (an automatic mail: the workflow sends it, not a person)."""
        fields = {name: to_json(self.spec.fields[name], value) for name, value in values.items()
                  if value is not None}
        return self.mailer.mail(self.tx, case.evolve(fields=fields), action.template, self.now,
                                automatic=True).draft()

    def _set(self, action: SetAction, result: Any) -> Any:
        try:
            return coerce(self.spec.fields[action.field], result)
        except InvalidInput as exc:
            raise InvalidInput(action.field, f"set by '{action.expression.source}' (line "
                               f"{action.line}): {exc.detail}") from None

    def _decide(self, action: DecideAction, case: CaseRecord, values: dict[str, Any],
                mark: int) -> tuple[CaseRecord, EventDraft]:
        table = self.registry.active_table(action.table, self.now, mark)
        spec, actor, now, facts = self.spec, self.actor, self.now, self.facts
        moved, event, _ = run_decision(
            table, action, spec, case, values,
            lambda e: context_for(e, spec, case, values, actor, now, facts))
        return moved, event

    def _assign(self, action: AssignAction, evaluate: Any) -> str | None:
        if action.strategy == "nobody":
            return None
        if action.expression is not None:
            user = evaluate(action.expression)
            if user is not None and not isinstance(user, str):
                raise ExpressionError(f"assign '{action.expression.source}' gave {user!r}, "
                                      "not a user name")
            return user
        return self.tx.pick_assignee(action.strategy, action.among,
                                     f"{self.spec.name}:{','.join(action.among)}")
