"""Moving running cases to another version of their workflow: `casework workflows migrate`.

A case stays on the version it started on; a manager moves running cases explicitly. Each
open case of the workflow that is not on the target version gets a state in the target: the
one the `--map` names for its state, else the state of the same name. A case is refused, and
left as it is, when its state has no such state, when the target state is final (closing is a
transition's work), or when its fields do not fit the target's (a value of a wrong type, a
required field without a value). Fields the target lacks are dropped and named in the event.
Each moved case is one transaction: the case row, a `case.migrated` event in its chain, and
its state timers disarmed and the target state's armed. SLA clocks keep running by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from engine.cases.runtime import Actor, context_for
from engine.cases.scheduling import Scheduler
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.fields import coerce, to_json
from engine.kernel.history import EventDraft, chain
from engine.kernel.records import CaseRecord, Store, TimerKind, Transaction
from engine.kernel.yaml_source import known_list, suggest
from engine.workflows.registry import Deployed, Registry


class OpenCases(Protocol):
    def open_case_ids_of(self, workflow: str, version: int | None = None) -> list[int]: ...

    def open_states_of(self, workflow: str) -> dict[tuple[int, str], int]:
        """How many open cases of a workflow are in each (version, state)."""


@dataclass(frozen=True)
class Move:
    """What migrating one case does, or why it does not."""

    case_id: int
    from_version: int
    from_state: str
    to_state: str | None
    dropped: tuple[str, ...] = ()
    refused: str | None = None


@dataclass
class Migration:
    workflow: str
    to_version: int
    moves: list[Move] = field(default_factory=list)

    @property
    def moved(self) -> list[Move]:
        return [m for m in self.moves if m.refused is None]

    @property
    def refused(self) -> list[Move]:
        return [m for m in self.moves if m.refused is not None]


class Migrator:
    def __init__(self, store: Store, cases: OpenCases, registry: Registry,
                 scheduler: Scheduler) -> None:
        self.store = store
        self.cases = cases
        self.registry = registry
        self.scheduler = scheduler

    def migrate(self, workflow: str, version: int, mapping: Mapping[str, str], actor: Actor,
                now: datetime, dry_run: bool, from_version: int | None = None) -> Migration:
        """Plan (dry_run) or carry out the move of every open case of `workflow` (on
        `from_version` only, if given) to `version`. A map naming unknown states is refused
        before anything is looked at."""
        target = self._target(workflow, version)
        source = self._target(workflow, from_version, "from") if from_version else None
        self._check_map(workflow, target, mapping, source)
        done = Migration(workflow, version)
        for case_id in self.cases.open_case_ids_of(workflow, from_version):
            if dry_run:
                move = self._plan(self.store.get_case(case_id), target, mapping)
                if move is not None:
                    done.moves.append(move)
                continue
            with self.store.transaction() as tx:
                case = tx.get_case(case_id)
                move = self._plan(case, target, mapping)
                if move is None:
                    continue
                if move.refused is None:
                    self._apply(tx, case, move, target, actor, now)
                done.moves.append(move)
        return done

    def _target(self, workflow: str, version: int, option: str = "to") -> Deployed:
        try:
            return self.registry.get(self.store.definition("workflow", workflow, version).id)
        except NotFound:
            versions = sorted(d.version for d in self.store.definitions("workflow")
                              if d.name == workflow)
            raise InvalidInput(f"--{option}", f"workflow '{workflow}' has no stored version "
                               f"{version} (stored: {', '.join(map(str, versions)) or 'none'}); "
                               "load it first with casework check / cases start") from None

    def _check_map(self, workflow: str, target: Deployed, mapping: Mapping[str, str],
                   source: Deployed | None = None) -> None:
        old_states = set(source.spec.states) if source else {
            state for record in self.store.definitions("workflow") if record.name == workflow
            for state in self.registry.get(record.id).spec.states}
        where = f"{workflow} v{source.spec.version}" if source else \
            f"any version of '{workflow}'"
        for old, new in mapping.items():
            if old not in old_states:
                raise InvalidInput("--map", f"'{old}' is not a state of {where}"
                                   f"{suggest(old, old_states)} (states: "
                                   f"{known_list(old_states)})")
            if new not in target.spec.states:
                raise InvalidInput("--map", f"'{new}' is not a state of {workflow} "
                                   f"v{target.spec.version}{suggest(new, target.spec.states)} "
                                   f"(states: {known_list(target.spec.states)})")

    @staticmethod
    def _plan(case: CaseRecord, target: Deployed, mapping: Mapping[str, str]) -> Move | None:
        spec = target.spec
        if case.definition_id == target.definition_id or case.closed_at is not None:
            return None
        dest = mapping.get(case.state, case.state if case.state in spec.states else None)
        dropped = tuple(sorted(name for name in case.fields if name not in spec.fields))
        base = Move(case.id, case.version, case.state, dest, dropped)
        if dest is None:
            return _refuse(base, f"state '{case.state}' has no state in v{spec.version}; map it "
                           f"with --map {case.state}=STATE")
        if spec.states[dest].final:
            return _refuse(base, f"'{dest}' is final in v{spec.version}; close cases with a "
                           "transition, not a migration")
        try:
            values = {n: coerce(spec.fields[n], v) for n, v in case.fields.items()
                      if n in spec.fields}
        except InvalidInput as exc:
            return _refuse(base, f"field '{exc.field}' does not fit v{spec.version}: {exc.detail}")
        missing = [n for n, f in spec.fields.items()
                   if f.required and values.get(n) in (None, "", []) and f.default is None]
        if missing:
            return _refuse(base, f"v{spec.version} requires {', '.join(missing)}, which the case "
                           "does not hold")
        return base

    def _apply(self, tx: Transaction, case: CaseRecord, move: Move, target: Deployed, actor: Actor,
               now: datetime) -> None:
        spec = target.spec
        assert move.to_state is not None
        values = {n: coerce(spec.fields[n], v) for n, v in case.fields.items() if n in spec.fields}
        for name, f in spec.fields.items():
            if f.default is not None and values.get(name) is None:
                values[name] = f.default
        fields = {n: to_json(spec.fields[n], v) for n, v in values.items() if v is not None}
        state = spec.states[move.to_state]
        moved = case.evolve(definition_id=target.definition_id, version=spec.version,
                            state=move.to_state, queue=state.queue or case.queue,
                            fields=fields, updated_at=now)
        tx.cancel_timers(case.id, TimerKind.TIMER, None, now)
        evaluate = lambda e: e.evaluate(  # noqa: E731 - one use, the scheduler's signature
            context_for(e, spec, moved, values, actor, now))
        tx.arm_timers([self.scheduler.arm(t, case.id, evaluate, now)
                       for t in spec.timers if t.state == move.to_state], now)
        events = chain(case.id, case.history_seq, case.history_head, [EventDraft(
            "case.migrated", {
                "from_version": case.version, "to_version": spec.version,
                "content_hash": spec.content_hash, "dropped_fields": list(move.dropped)},
            case.state, move.to_state)], actor.name, actor.role, now)
        moved = moved.evolve(history_seq=events[-1].seq, history_head=events[-1].hash,
                             lock_version=case.lock_version + 1)
        tx.rebase_case(moved, case.lock_version)
        tx.append_events(events)


def _refuse(move: Move, reason: str) -> Move:
    return Move(move.case_id, move.from_version, move.from_state, move.to_state, move.dropped,
                reason)
