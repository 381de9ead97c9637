"""Moving a workflow's running cases to another of its versions from the browser: choose the
versions, map each state in use to a state of the target, see a dry run, then run it.

The moving is engine/cases/version_moves.py's Migrator, as `casework workflows migrate` does
it: each moved case gets its audited `case.migrated` event. A map naming a state unknown in
either version is refused (422) before any case is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from engine.cases.version_moves import Migration
from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput
from engine.kernel.records import DefinitionRecord
from engine.kernel.roles import Permission
from engine.kernel.specs import WorkflowSpec
from engine.wiring import Casework
from web.areas import area, get, post
from web.common import acting, casework_of, now_of
from web.pages.rule_editing import FormBody
from web.pages.rules import stored
from web.rendering import page

MAP_FIELD = "map-"  # a form field `map-<old state>` names the state it moves to


@dataclass(frozen=True)
class StateInUse:
    """A state of the from-version that open cases are in, and where the form moves them."""

    name: str
    cases: int
    to: str  # "" when the target has no state of its name: the case is refused


@dataclass(frozen=True)
class Plan:
    """The form: the versions chosen and the states to map."""

    versions: tuple[int, ...]
    from_version: int
    to_version: int
    target: WorkflowSpec
    states: tuple[StateInUse, ...]
    open_by_version: dict[int, int]


def _version(records: list[DefinitionRecord], wanted: object, default: int, option: str) -> int:
    """A version the form names, one that is stored; InvalidInput (422) otherwise."""
    if wanted in (None, ""):
        return default
    known = [r.version for r in records]
    try:
        version = int(str(wanted))
    except ValueError:
        version = -1
    if version not in known:
        raise InvalidInput(option, f"workflow '{records[0].name}' has no stored version "
                           f"{wanted!r} (stored: {', '.join(map(str, known))})")
    return version


def plan(casework: Casework, name: str, wanted_from: object, wanted_to: object,
         chosen: dict[str, str] | None = None) -> Plan:
    records = stored(casework, "workflow", name)
    counts = casework.store.open_states_of(name)
    by_version: dict[int, int] = {}
    for (version, _), n in counts.items():
        by_version[version] = by_version.get(version, 0) + n
    to_version = _version(records, wanted_to, records[-1].version, "to_version")
    older = sorted(v for v in by_version if v != to_version)
    default_from = older[0] if older else (records[-2].version if len(records) > 1
                                           else to_version)
    from_version = _version(records, wanted_from, default_from, "from_version")
    target = casework.registry.get(next(r.id for r in records
                                        if r.version == to_version)).spec
    chosen = chosen or {}
    states = tuple(StateInUse(state, n, chosen.get(state, state if state in target.states
                                                   else ""))
                   for (version, state), n in sorted(counts.items()) if version == from_version)
    return Plan(tuple(r.version for r in records), from_version, to_version, target, states,
                by_version)


def _mapping(data: dict[str, Any]) -> dict[str, str]:
    """The map the form gives: each state in use to the state it names (blank: none)."""
    return {key.removeprefix(MAP_FIELD): str(value).strip() for key, value in data.items()
            if key.startswith(MAP_FIELD) and str(value).strip()}


def _page(request: Request[User, Any, Any], name: str, shown: Plan | None,
          done: Migration | None = None, dry_run: bool = True, error: str | None = None,
          status_code: int = 200) -> Template:
    return page(request, "workflow_migrate.html", "moves", status_code=status_code,
                user=request.user, name=name, plan=shown, done=done, dry_run=dry_run,
                error=error)


@get("/{name:str}/migrate")
def migrate_form(request: Request[User, Any, Any], name: FromPath[str],
                 from_version: FromQuery[str | None] = None,
                 to_version: FromQuery[str | None] = None) -> Template:
    return _page(request, name, plan(casework_of(request), name, from_version, to_version))


def _migrate(request: Request[User, Any, Any], name: str, data: dict[str, Any],
             dry_run: bool) -> Template:
    casework = casework_of(request)
    mapping = _mapping(data)
    try:
        shown = plan(casework, name, data.get("from_version"), data.get("to_version"), mapping)
    except InvalidInput as exc:
        return _page(request, name, plan(casework, name, None, None), error=exc.detail,
                     status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    try:
        if shown.from_version == shown.to_version:
            raise InvalidInput("from_version", f"cases on v{shown.from_version} are on the "
                               "version to move to already; choose another version to move from")
        done = casework.migrator.migrate(name, shown.to_version, mapping, acting(request.user),
                                         now_of(request), dry_run, shown.from_version)
    except InvalidInput as exc:  # nothing was moved: the map and versions are checked first
        return _page(request, name, shown, error=exc.detail,
                     status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return _page(request, name, plan(casework, name, shown.from_version, shown.to_version,
                                     mapping), done, dry_run)


@post("/{name:str}/migrate/dry-run")
def migrate_dry_run(request: Request[User, Any, Any], name: FromPath[str],
                    data: FormBody) -> Template:
    return _migrate(request, name, data, dry_run=True)


@post("/{name:str}/migrate/run")
def migrate_run(request: Request[User, Any, Any], name: FromPath[str],
                data: FormBody) -> Template:
    return _migrate(request, name, data, dry_run=False)


ROUTER = area("/rules/workflows", Permission.EDIT_RULES, [
    migrate_form, migrate_dry_run, migrate_run])
