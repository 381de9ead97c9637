"""Starting cases and firing triggers: each one a single transaction, all or nothing.

fire = load the case -> role -> fields given -> guard -> needed fields -> state change (on the
version's `transitions` machine) -> actions -> history -> write, inside one store transaction.
A refusal raises before anything is written, so a refused fire changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from engine.cases.acting import Acting, NoSurveyor, Surveyor
from engine.cases.context import Actor, case_values, context_for, evaluator
from engine.cases.facts import Facts, facts_for
from engine.cases.mailing import CustomerMailer, NoMailer
from engine.cases.notifying import assignments, deliver
from engine.cases.scheduling import Scheduler
from engine.cases.sealing import seal_drafts
from engine.kernel.errors import (
    Conflict,
    ExpressionError,
    InvalidInput,
    Refusal,
    RoleRefused,
    TransitionRefused,
)
from engine.kernel.fields import REFERENCE_TYPES, coerce, to_json
from engine.kernel.history import GENESIS, EventDraft, chain
from engine.kernel.personal import Sealed
from engine.kernel.records import CaseRecord, ClockRecord, Store, TimerRecord, Transaction
from engine.kernel.roles import READ_ONLY_ROLES
from engine.kernel.specs import MailAction, SetAction, TransitionSpec, WorkflowSpec
from engine.kernel.yaml_source import known_list, suggest
from engine.sla.clocks import Reckoner
from engine.workflows.machine import MachineError
from engine.workflows.registry import Deployed, Registry

# What a refusal by a guard without a `message:` says (its expression is for the workflow's
# readers, not for the person refused).
GUARD_UNMET = "This step's condition is not met"
# Actor, case_values and context_for live in engine.cases.context; offered here as before.
# the events that may give a case to somebody (engine.cases.notifying.assignments tells them)
_ASSIGNING = frozenset({"case.created", "case.assigned"})
__all__ = ["Actor", "Runtime", "StartRequest", "case_values", "context_for"]


class FireOutcome(StrEnum):
    """How a fire ended, as the metrics count it (web/observability.py)."""

    FIRED = "fired"
    REFUSED = "refused"  # a role, guard or the state refused the trigger
    INVALID = "invalid"  # a field given was wrong or missing
    CONFLICT = "conflict"  # the case changed since the caller read it
    FAILED = "failed"  # anything else: a definition's expression, the database


# Told of every fire() with the case's workflow and the outcome, after the transaction ended.
FireObserver = Callable[[str, FireOutcome], None]


def fire_outcome(exc: BaseException) -> FireOutcome:
    if isinstance(exc, TransitionRefused):
        return FireOutcome.REFUSED
    if isinstance(exc, InvalidInput):
        return FireOutcome.INVALID
    if isinstance(exc, Conflict):
        return FireOutcome.CONFLICT
    return FireOutcome.FAILED


@dataclass(frozen=True)
class StartRequest:
    """A case to open: on which workflow version, with what fields, about which customer, and
    why (an automatic start names the event that caused it)."""

    deployed: Deployed
    fields: Mapping[str, Any]
    customer: str | None = None
    because: Mapping[str, Any] | None = None


class Runtime:
    """Runs cases of the workflows in a registry against a store."""

    def __init__(self, store: Store, registry: Registry, reckoner: Reckoner | None = None,
                 mailer: CustomerMailer | None = None, surveyor: Surveyor | None = None) -> None:
        self.store = store
        self.registry = registry
        self.scheduler = Scheduler(reckoner or Reckoner({}))
        self.mailer: CustomerMailer = mailer or NoMailer()
        self.surveyor = surveyor or NoSurveyor()  # wiring gives engine.channels.surveys
        self.observers: list[FireObserver] = []

    # --- start ----------------------------------------------------------------------------

    def start(self, workflow: str, fields: Mapping[str, Any], actor: Actor, now: datetime,
              customer: str | None = None) -> CaseRecord:
        """Open a case on the newest version of `workflow`."""
        with self.store.transaction() as tx:
            return self.start_in(tx, workflow, fields, actor, now, customer)

    def start_in(self, tx: Transaction, workflow: str, fields: Mapping[str, Any], actor: Actor,
                 now: datetime, customer: str | None = None) -> CaseRecord:
        """start() inside the caller's transaction."""
        deployed = self.registry.active(workflow)
        record, created = self._new_case(StartRequest(deployed, fields, customer), now)
        self._check_subject(tx, deployed.spec, customer)
        _check_references(tx, deployed.spec, case_values(deployed.spec, record.fields))
        record = record.evolve(id=tx.insert_case(record))
        record, drafts = self._started(tx, deployed.spec, record, created, actor, now)
        return self._write(tx, record, drafts, actor, now, bump=False,
                           personal=deployed.spec.personal)

    def start_many(self, tx: Transaction, requests: Sequence[StartRequest], actor: Actor,
                   now: datetime) -> list[CaseRecord]:
        """Open many cases inside the caller's transaction (automatic starts commit or roll back
        with what caused them), written in bulk; every request is checked before any write."""
        if any(_mails_on_start(r.deployed.spec) for r in requests):
            # a mail's outbox row names its case, which must be written first: one at a time
            return [self._start_one(tx, request, actor, now) for request in requests]
        drafted = [self._new_case(request, now) for request in requests]
        if not drafted:
            return []
        deadlines = _Deadlines(tx)  # the new cases' clocks and timers, written after them
        started, events, told = [], [], []
        kept: list[tuple[list[Sealed], str | None, int]] = []
        for (new, created), case_id, request in zip(
                drafted, tx.reserve_case_ids(len(drafted)), requests, strict=True):
            record, drafts = self._started(cast(Transaction, deadlines), request.deployed.spec,
                                           new.evolve(id=case_id), created, actor, now)
            drafts, sealed = seal_drafts(request.deployed.spec.personal, drafts)
            if sealed:
                kept.append((sealed, record.customer, case_id))
            chained = chain(case_id, 0, GENESIS, drafts, actor.name, actor.role, now)
            started.append(record.evolve(history_seq=chained[-1].seq,
                                         history_head=chained[-1].hash))
            events += chained
            if record.assignee is not None:
                told += assignments(record, drafts, actor.name)
        tx.insert_cases(started)
        tx.save_clocks(deadlines.clocks)
        tx.arm_timers(deadlines.timers, now)
        tx.append_events(events)
        for sealed, customer, case_id in kept:
            tx.keep_personal(sealed, customer, case_id, now)
        deliver(tx, told, now)
        return started

    def _start_one(self, tx: Transaction, request: StartRequest, actor: Actor,
                   now: datetime) -> CaseRecord:
        record, created = self._new_case(request, now)
        record = record.evolve(id=tx.insert_case(record))
        record, drafts = self._started(tx, request.deployed.spec, record, created, actor, now)
        return self._write(tx, record, drafts, actor, now, bump=False,
                           personal=request.deployed.spec.personal)

    def _started(self, tx: Transaction, spec: WorkflowSpec, record: CaseRecord,
                 created: EventDraft, actor: Actor,
                 now: datetime) -> tuple[CaseRecord, list[EventDraft]]:
        """A new case after its `on_start` actions, and its first history drafts: created (with
        the fields, queue and assignee the actions left it), what they decided, its deadlines
        (whose targets the actions may set)."""
        drafts = [created]
        values, facts = None, None
        if spec.on_start:
            values = case_values(spec, record.fields)
            facts = facts_for(tx, spec, record.customer)
            moved, decided = Acting(self.registry, tx, spec, actor, now, facts, self.mailer,
                                    self.surveyor).run(
                spec.on_start, record, values, "on_start")
            _check_required(spec, values)
            record = moved.evolve(fields=_json_fields(spec, values))
            drafts = [replace(created, payload={
                **created.payload, "fields": record.fields, "queue": record.queue,
                **({"assignee": record.assignee} if record.assignee else {})}), *decided]
        if spec.timers or spec.sla:
            drafts += self._entered(tx, spec, record, None, None, actor, now, values,
                                    facts=facts)
        return record, drafts

    @staticmethod
    def _check_subject(tx: Transaction, spec: WorkflowSpec, customer: str | None) -> None:
        """A case names a customer that exists, and is its only open one where it must be."""
        if customer is None:
            return
        if not tx.exists("customer", customer):
            raise InvalidInput("customer", f"there is no customer '{customer}'; import or "
                               "create the customer first (casework customers import)")
        if spec.one_open_per_customer:
            open_id = tx.open_case(spec.name, customer)
            if open_id is not None:
                raise InvalidInput("customer", f"customer '{customer}' already has an open "
                                   f"{spec.name} case (#{open_id}); work that one, or close it "
                                   "first")

    @staticmethod
    def _new_case(request: StartRequest, now: datetime) -> tuple[CaseRecord, EventDraft]:
        """A new case's row and its `case.created` event, its fields checked."""
        deployed, customer = request.deployed, request.customer
        spec = deployed.spec
        if spec.subject == "customer" and not customer:
            raise InvalidInput("customer", f"a {spec.name} case is about a customer; "
                               "say which one (--customer ID)")
        values = {name: f.default for name, f in spec.fields.items() if f.default is not None}
        values.update(_coerce_all(spec, request.fields, allowed=spec.fields))
        _check_required(spec, values)
        state = spec.initial
        record = CaseRecord(
            id=0, definition_id=deployed.definition_id, workflow=spec.name, version=spec.version,
            state=state.name, queue=state.queue, assignee=None, customer=customer,
            fields=_json_fields(spec, values), lock_version=1, history_seq=0,
            history_head=GENESIS, created_at=now, updated_at=now,
            closed_at=now if state.final else None,
        )
        created = EventDraft("case.created", {
            "workflow": spec.name, "version": spec.version, "content_hash": spec.content_hash,
            "customer": customer, "fields": record.fields, "queue": state.queue,
            **({"because": dict(request.because)} if request.because else {}),
        }, None, state.name)
        return record, created

    # --- fire -----------------------------------------------------------------------------

    def fire(self, case_id: int, trigger: str, actor: Actor, now: datetime,
             inputs: Mapping[str, Any] | None = None,
             expected_version: int | None = None) -> CaseRecord:
        """Fire `trigger` on a case; raise TransitionRefused, InvalidInput or Conflict."""
        try:
            with self.store.transaction() as tx:
                case = self.fire_in(tx, case_id, trigger, actor, now, inputs, expected_version)
        except Exception as exc:
            if self.observers:
                self._observe(self._workflow_of(case_id), fire_outcome(exc))
            raise
        if self.observers:
            self._observe(case.workflow, FireOutcome.FIRED)
        return case

    def _observe(self, workflow: str, outcome: FireOutcome) -> None:
        for observe in self.observers:
            observe(workflow, outcome)

    def _workflow_of(self, case_id: int) -> str:
        try:
            return self.store.get_case(case_id).workflow
        except Exception:  # no such case, or the database that just failed the fire
            return "unknown"

    def fire_in(self, tx: Transaction, case_id: int, trigger: str, actor: Actor, now: datetime,
                inputs: Mapping[str, Any] | None = None, expected_version: int | None = None,
                timer: str | None = None,
                because: Mapping[str, Any] | None = None) -> CaseRecord:
        """fire() inside the caller's transaction. A `timer`, or a customer event (`because`),
        fires as the workflow itself, so roles do not apply to it (its guard and fields do)."""
        case = tx.get_case(case_id)
        if expected_version is not None and expected_version != case.lock_version:
            raise Conflict(case_id, expected_version, case.lock_version)
        deployed = self.registry.get(case.definition_id)
        spec = deployed.spec
        transition = self._transition(spec, case, trigger, actor,
                                      timer is not None or because is not None)
        given = _coerce_all(spec, inputs or {}, allowed=transition.inputs, trigger=trigger)
        _check_asks(transition, given)
        _check_references(tx, spec, given)
        values = {**case_values(spec, case.fields), **given}
        facts = facts_for(tx, spec, case.customer)
        filled_by_actions = {a.field for a in transition.actions if isinstance(a, SetAction)}
        _check_needs(transition, values, skip=filled_by_actions)
        self._check_guard(transition, spec, case, values, actor, now, facts)
        dest = self._move(deployed, case.state, trigger)
        moved = case.evolve(state=dest, queue=_queue(spec, dest, case.queue))
        moved, decided = Acting(self.registry, tx, spec, actor, now, facts, self.mailer,
                                    self.surveyor).run(
            transition.actions, moved, values, transition.trigger)
        _check_needs(transition, values, skip=set())
        _check_required(spec, values)
        cause = {**({"timer": timer} if timer else {}),
                 **({"because": dict(because)} if because else {})}
        return self._commit(tx, spec, case, moved, transition, values, decided, actor, now,
                            cause, facts)

    def signalled(self, tx: Transaction, case: CaseRecord, signal: str, actor: Actor,
                  now: datetime) -> list[EventDraft]:
        """What a conversation signal (message_in, message_out) does to the case's clocks, as
        a trigger that leaves the case where it is; the history drafts to record."""
        spec = self.registry.get(case.definition_id).spec
        if spec.sla is None:
            return []
        return self._entered(tx, spec, case, signal, case.state, actor, now,
                             facts=facts_for(tx, spec, case.customer))

    def triggers_for(self, case: CaseRecord, roles: Collection[str]) -> list[TransitionSpec]:
        """What someone holding `roles` may fire from the case's state now (a page's buttons,
        the API's `may_fire`): transitions that one of their roles, not a read-only one, may
        fire. Guards and fields are checked when they fire."""
        usable = set(roles) - READ_ONLY_ROLES
        deployed = self.registry.get(case.definition_id)
        return [
            t for name in deployed.machine.triggers(case.state)
            if (t := deployed.spec.transition(name, case.state)) is not None
            and usable and (not t.roles or not usable.isdisjoint(t.roles))
        ]

    # --- the steps ------------------------------------------------------------------------

    @staticmethod
    def _transition(spec: WorkflowSpec, case: CaseRecord, trigger: str, actor: Actor,
                    by_timer: bool = False) -> TransitionSpec:
        transition = spec.transition(trigger, case.state)
        if transition is None:
            if trigger not in spec.triggers:
                raise TransitionRefused(trigger, Refusal.TRIGGER, f"workflow '{spec.name}' has no "
                                        f"trigger '{trigger}'{suggest(trigger, spec.triggers)} "
                                        f"(triggers: {known_list(spec.triggers)})")
            here = [t.trigger for t in spec.transitions_from(case.state)]
            raise TransitionRefused(trigger, Refusal.STATE, f"case {case.id} is in state "
                                    f"'{case.state}', where '{trigger}' does not apply (from "
                                    f"here: {', '.join(here) or 'nothing'})")
        if by_timer:
            return transition
        if actor.role in READ_ONLY_ROLES:
            raise RoleRefused(trigger, f"role '{actor.role}' is read-only")
        if transition.roles and actor.role not in transition.roles:
            raise RoleRefused(trigger, f"role '{actor.role}' may not fire it "
                              f"(allowed: {', '.join(sorted(transition.roles))})")
        return transition

    @staticmethod
    def _check_guard(transition: TransitionSpec, spec: WorkflowSpec, case: CaseRecord,
                     values: dict[str, Any], actor: Actor, now: datetime,
                     facts: Facts | None) -> None:
        if transition.when is None:
            return
        try:
            allowed = transition.when.evaluate(context_for(transition.when, spec, case, values,
                                                        actor, now, facts))
        except ExpressionError as exc:
            raise TransitionRefused(transition.trigger, Refusal.GUARD, str(exc)) from None
        if allowed is not True:
            raise TransitionRefused(transition.trigger, Refusal.GUARD,
                                    transition.message or GUARD_UNMET, transition.when.source)

    @staticmethod
    def _move(deployed: Deployed, state: str, trigger: str) -> str:
        try:
            return deployed.machine.move(state, trigger)
        except MachineError as exc:  # the spec and the machine disagree: a bug, say so plainly
            raise TransitionRefused(trigger, Refusal.STATE, str(exc)) from None

    def _commit(self, tx: Transaction, spec: WorkflowSpec, case: CaseRecord, moved: CaseRecord,
                transition: TransitionSpec, values: dict[str, Any], decided: list[EventDraft],
                actor: Actor, now: datetime, cause: dict[str, Any],
                facts: Facts | None) -> CaseRecord:
        new_fields = _json_fields(spec, values)
        fired = {"trigger": transition.trigger, **cause}
        drafts = [EventDraft("case.transitioned", fired, case.state, moved.state), *decided,
                  *_changes(spec, case, moved, new_fields)]
        closed_at = (case.closed_at or now) if spec.states[moved.state].final else None
        updated = moved.evolve(fields=new_fields, updated_at=now, closed_at=closed_at)
        drafts += self._entered(tx, spec, updated, transition.trigger, case.state, actor, now,
                                values, fired_timer=cause.get("timer"), facts=facts)
        return self._write(tx, updated, drafts, actor, now, bump=True, personal=spec.personal)

    def amend(self, tx: Transaction, case: CaseRecord, moved: CaseRecord,
              values: dict[str, Any] | None, drafts: list[EventDraft], actor: Actor,
              now: datetime) -> CaseRecord:
        """Record events, and any field, queue or assignee changes (`moved`, `values`; None
        keeps the fields), on a case without a transition: what timers and escalations do."""
        spec = self.registry.get(case.definition_id).spec
        values = case_values(spec, case.fields) if values is None else values
        new_fields = _json_fields(spec, values)
        drafts = [*drafts, *_changes(spec, case, moved, new_fields)]
        return self._write(tx, moved.evolve(fields=new_fields, updated_at=now), drafts, actor,
                           now, bump=True, personal=spec.personal)

    def _entered(self, tx: Transaction, spec: WorkflowSpec, case: CaseRecord,
                 trigger: str | None, left: str | None, actor: Actor, now: datetime,
                 values: dict[str, Any] | None = None, fired_timer: str | None = None,
                 facts: Facts | None = None) -> list[EventDraft]:
        """The deadlines of a case that has just entered its state (engine.cases.scheduling);
        `fired_timer`: the timer of the state left that caused the fire."""
        if not spec.timers and not spec.sla:
            return []
        values = case_values(spec, case.fields) if values is None else values
        return self.scheduler.entered(
            tx, spec, case.id, trigger, left, case.state,
            evaluator(spec, case, values, actor, now, facts), now, fired_timer)

    @staticmethod
    def _write(tx: Transaction, case: CaseRecord, drafts: list[EventDraft], actor: Actor,
               now: datetime, bump: bool, personal: frozenset[str]) -> CaseRecord:
        """Chain the events onto the case's history and write both; `bump` the row version.
        Without events nothing happened to the case (an escalation step past the highest level
        it reached): its row stays as it is. The `personal` fields' values, and comments, go
        to the vault, and markers standing for them into the history."""
        if not drafts:
            return case
        if actor.operator:
            drafts = [replace(d, payload={**d.payload, "operator": True}) for d in drafts]
        drafts, sealed = seal_drafts(personal, drafts)
        if sealed:
            tx.keep_personal(sealed, case.customer, case.id, now)
        events = chain(case.id, case.history_seq, case.history_head, drafts, actor.name,
                       actor.role, now)
        version = case.lock_version + 1 if bump else case.lock_version
        updated = case.evolve(history_seq=events[-1].seq, history_head=events[-1].hash,
                              lock_version=version)
        tx.update_case(updated, case.lock_version)
        tx.append_events(events)
        if updated.assignee is not None and any(d.name in _ASSIGNING for d in drafts):
            deliver(tx, assignments(updated, drafts, actor.name), now)
        return updated


class _Deadlines:
    """What scheduling a batch of new cases writes, kept to be written after the cases in one
    statement each; anything else scheduling asks of the transaction goes to it. (A new case
    has no clocks or timers to read or cancel, and the clocks' SLA columns belong on its row,
    which must exist first.)"""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.clocks: list[ClockRecord] = []
        self.timers: list[TimerRecord] = []

    def save_clocks(self, clocks: Sequence[ClockRecord]) -> None:
        self.clocks += clocks

    def arm_timers(self, timers: Sequence[TimerRecord], at: datetime) -> None:
        self.timers += timers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tx, name)


def _mails_on_start(spec: WorkflowSpec) -> bool:
    return any(isinstance(action, MailAction) for action in spec.on_start)


def _changes(spec: WorkflowSpec, case: CaseRecord, moved: CaseRecord,
             new_fields: dict[str, Any]) -> list[EventDraft]:
    """case.field_changed for each field that changed, case.assigned for a new assignee."""
    drafts = [
        EventDraft("case.field_changed", {"field": name, "old": case.fields.get(name),
                                          "new": new_fields.get(name)})
        for name in spec.fields if case.fields.get(name) != new_fields.get(name)
    ]
    if moved.assignee != case.assignee:
        drafts.append(EventDraft("case.assigned", {"from": case.assignee, "to": moved.assignee}))
    return drafts


def _coerce_all(spec: WorkflowSpec, raw: Mapping[str, Any], allowed: Any,
                trigger: str | None = None) -> dict[str, Any]:
    result = {}
    for name, value in raw.items():
        if name not in spec.fields:
            raise InvalidInput(name, f"workflow '{spec.name}' has no such field"
                               f"{suggest(name, spec.fields)} (fields: {known_list(spec.fields)})")
        if name not in allowed:
            raise TransitionRefused(str(trigger), Refusal.FIELD, f"'{trigger}' does not take field "
                                    f"'{name}' (it takes: {', '.join(allowed) or 'no fields'})")
        result[name] = coerce(spec.fields[name], value)
    return result


def _check_references(tx: Transaction, spec: WorkflowSpec, values: Mapping[str, Any]) -> None:
    """A field naming a customer, user or case names one that exists."""
    for name, value in values.items():
        kind = spec.fields[name].type
        if kind in REFERENCE_TYPES and value is not None and not tx.exists(kind, value):
            what = {"user": "active user"}.get(kind, kind)
            raise InvalidInput(name, f"there is no {what} {value!r}")


def _queue(spec: WorkflowSpec, state: str, current: str | None) -> str | None:
    """A state's own queue; else the queue the case is in; none once the case is final."""
    target = spec.states[state]
    return target.queue or (None if target.final else current)


def _check_needs(transition: TransitionSpec, values: dict[str, Any], skip: set[str]) -> None:
    missing = [f for f in transition.needs if f not in skip and values.get(f) in (None, "", [])]
    if missing:
        raise TransitionRefused(transition.trigger, Refusal.FIELD, f"needs {', '.join(missing)}: "
                                "give " + " ".join(f"--field {f}=..." for f in missing))


def _check_asks(transition: TransitionSpec, given: dict[str, Any]) -> None:
    """`asks:` fields must be given in this fire: a value from an earlier one does not do."""
    missing = [f for f in transition.asks if given.get(f) in (None, "", [])]
    if missing:
        raise TransitionRefused(transition.trigger, Refusal.FIELD, f"needs {', '.join(missing)}: "
                                "give " + " ".join(f"--field {f}=..." for f in missing)
                                + " (now: an earlier value does not count)")


def _check_required(spec: WorkflowSpec, values: dict[str, Any]) -> None:
    for name, field in spec.fields.items():
        if field.required and values.get(name) in (None, "", []):
            raise InvalidInput(name, "is required and has no value")


def _json_fields(spec: WorkflowSpec, values: dict[str, Any]) -> dict[str, Any]:
    return {name: to_json(spec.fields[name], value) for name, value in values.items()
            if value is not None}
