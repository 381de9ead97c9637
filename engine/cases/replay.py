"""Replaying a case's history to the row it should have produced, and saying where the stored
row disagrees: a state, field, assignee or version changed in the database with no event, or a
last event deleted and the head rewritten (the row's updated_at is then newer than the newest
event left).

Pure: the store feeds the row, the events and the vault rows; `spec_of` gives the workflow
versions a `case.migrated` moved the case to (a migration fills defaults the event does not
list).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.kernel.errors import CaseworkError
from engine.kernel.fields import coerce, to_json
from engine.kernel.history import Event, iso
from engine.kernel.personal import holds, ref_of
from engine.kernel.specs import WorkflowSpec

SpecOf = Callable[[str, int], WorkflowSpec | None]


@dataclass(frozen=True)
class CaseRow:
    """What verify compares of a stored case row."""

    id: int
    workflow: str
    version: int
    state: str
    assignee: str | None
    customer: str | None
    fields: Mapping[str, Any]
    updated_at: datetime
    history_seq: int
    history_head: str


@dataclass(frozen=True)
class VaultRow:
    """A personal value as the vault keeps it (value and salt None once erased)."""

    ref: str
    customer_id: str | None
    case_id: int | None
    value: str | None  # canonical JSON
    salt: str | None
    erased_at: datetime | None = None
    erased_by: str | None = None
    erasure_seq: int | None = None

    @property
    def erased(self) -> bool:
        return self.value is None

    def intact(self) -> bool:
        """Whether the value kept is the one the reference was made from (an erased row is)."""
        if self.value is None or self.salt is None:
            return self.value is None and self.erased_at is not None
        try:
            return holds(self.ref, self.salt, self.value)
        except ValueError:  # a salt that is no longer hex text
            return False


@dataclass
class Replayed:
    """A case as its history says it is."""

    workflow: str | None = None
    version: int | None = None
    state: str | None = None
    assignee: str | None = None
    customer: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    last_at: datetime | None = None
    problems: list[str] = field(default_factory=list)


def replay(events: Sequence[Event], spec_of: SpecOf) -> Replayed:
    """The case its events describe, oldest first (events already verified as a chain)."""
    case = Replayed()
    for event in events:
        payload = json.loads(event.payload)
        _apply(case, event.name, payload, spec_of)
        if event.to_state is not None:
            case.state = event.to_state
        case.last_at = event.at
    return case


def _apply(case: Replayed, name: str, payload: dict[str, Any], spec_of: SpecOf) -> None:
    if name == "case.created":
        case.workflow, case.version = payload.get("workflow"), payload.get("version")
        case.customer = payload.get("customer")
        case.assignee = payload.get("assignee")
        case.fields = {k: v for k, v in dict(payload.get("fields") or {}).items()
                       if v is not None}
    elif name == "case.field_changed":
        if payload.get("new") is None:
            case.fields.pop(payload["field"], None)
        else:
            case.fields[payload["field"]] = payload["new"]
    elif name == "case.assigned":
        case.assignee = payload.get("to")
    elif name == "case.migrated":
        _migrated(case, payload, spec_of)


def _migrated(case: Replayed, payload: dict[str, Any], spec_of: SpecOf) -> None:
    """What engine.cases.version_moves does to the fields: dropped ones go, the others take
    the new version's form, missing ones with a default get it."""
    version = int(payload["to_version"])
    case.version = version
    spec = spec_of(case.workflow or "", version)
    if spec is None:
        case.problems.append(f"its history moves it to {case.workflow} v{version}, which is not "
                             "loaded: its fields cannot be replayed")
        return
    fields = {}
    for name, value in case.fields.items():
        if name not in spec.fields:
            continue
        if ref_of(value) is not None:  # a sealed value keeps its marker
            fields[name] = value
            continue
        try:
            fields[name] = to_json(spec.fields[name], coerce(spec.fields[name], value))
        except CaseworkError:
            fields[name] = value
    for name, spec_field in spec.fields.items():
        if spec_field.default is not None and fields.get(name) is None:
            fields[name] = to_json(spec_field, spec_field.default)
    case.fields = {k: v for k, v in fields.items() if v is not None}


def disagreements(row: CaseRow, case: Replayed, vault: Mapping[str, VaultRow]) -> list[str]:
    """How the stored row differs from its replayed history, in words (empty: it agrees)."""
    found = list(case.problems)
    for what, stored, replayed in (("workflow", row.workflow, case.workflow),
                                   ("version", row.version, case.version),
                                   ("state", row.state, case.state),
                                   ("assignee", row.assignee, case.assignee),
                                   ("customer", row.customer, case.customer)):
        if stored != replayed:
            found.append(f"its {what} is {stored!r} but its history says {replayed!r}")
    if case.last_at is not None and row.updated_at != case.last_at:
        found.append(f"it was last updated at {iso(row.updated_at)} but its newest event is of "
                     f"{iso(case.last_at)} (later events were removed, or the row was edited)")
    for name in sorted(set(row.fields) | set(case.fields)):
        problem = _field_problem(name, row.fields.get(name), case.fields.get(name), vault)
        if problem is not None:
            found.append(problem)
    return found


def _field_problem(name: str, stored: Any, replayed: Any,
                   vault: Mapping[str, VaultRow]) -> str | None:
    ref = ref_of(replayed)
    if ref is None:
        if stored == replayed:
            return None
        return f"field '{name}' is {_shown(stored)} but its history says {_shown(replayed)}"
    kept = vault.get(ref)
    if kept is None:
        return f"field '{name}' is personal, and its value's vault row ({ref[:12]}) is missing"
    if kept.erased:
        return None if stored is None else (
            f"field '{name}' holds a value, but the vault says it was erased")
    if stored is None or kept.salt is None or not holds(
            ref, kept.salt, json.dumps(stored, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False)):
        return f"field '{name}' is not the personal value its history refers to"
    return None


def _shown(value: Any) -> str:
    return "missing" if value is None else json.dumps(value, ensure_ascii=False)[:80]
