"""The rules pages for reading: every decision table and workflow with its active version, a
table as a grid with its tests and version history (with diffs), a workflow with its diagram.

Editing, testing, simulating and publishing a table is web/pages/rule_editing.py.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from engine.kernel.accounts import User
from engine.kernel.errors import NotFound
from engine.kernel.records import DefinitionRecord
from engine.kernel.roles import Permission
from engine.rules.loading import load_table_text
from engine.rules.tables import TableSpec, TestResult, run_tests
from engine.wiring import Casework
from engine.workflows.publications import Publication
from web.areas import area, get
from web.common import casework_of, now_of
from web.rendering import page

# Who reads the rules; who edits, tests, simulates and publishes them (admin always may).


@dataclass(frozen=True)
class GridRow:
    """One rule as the grid shows it: each input's cell and each output as written."""

    id: str
    cells: tuple[str, ...]
    condition: str | None
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Version:
    """One stored version of a table or workflow, with every time it was made active."""

    record: DefinitionRecord
    publications: tuple[Publication, ...]
    active: bool
    previous: int | None  # the stored version before it, which its diff compares with


@dataclass(frozen=True)
class DiffLine:
    kind: str  # add | del | hunk | head | same
    text: str


def written(value: Any) -> str:
    """An output value the way YAML spells it: strings bare, the rest as JSON (true, 1.5)."""
    return value if isinstance(value, str) else json.dumps(value)


def grid(spec: TableSpec) -> list[GridRow]:
    rows = []
    for row in spec.rows:
        cells = dict(row.cells)
        outputs = tuple(f"={row.computed[name].source}" if name in row.computed
                        else written(row.then.get(name)) for name in spec.outputs)
        rows.append(GridRow(row.id, tuple(cells[name].source if name in cells else "-"
                                          for name in spec.inputs),
                            row.condition.source if row.condition else None, outputs))
    return rows


def diff_lines(before: DefinitionRecord, after: DefinitionRecord) -> list[DiffLine]:
    """The unified diff of two stored sources, each line marked for the page."""
    lines = difflib.unified_diff(before.source.splitlines(), after.source.splitlines(),
                                 fromfile=f"{before.name} v{before.version}",
                                 tofile=f"{after.name} v{after.version}", lineterm="")
    marked = []
    for line in lines:
        kind = ("head" if line.startswith(("---", "+++")) else "hunk" if line.startswith("@@")
                else "add" if line.startswith("+") else "del" if line.startswith("-")
                else "same")
        marked.append(DiffLine(kind, line))
    return marked


def stored(casework: Casework, kind: str, name: str) -> list[DefinitionRecord]:
    """Every stored version of one table or workflow, oldest first; NotFound if none."""
    records = [d for d in casework.store.definitions(kind) if d.name == name]
    if not records:
        known = sorted({d.name for d in casework.store.definitions(kind)})
        what = "decision table" if kind == "table" else "workflow"
        raise NotFound(f"{what} '{name}' is not stored (stored: {', '.join(known) or 'none'})")
    return records


def active_spec(casework: Casework, name: str, request: Request[User, Any, Any]
                ) -> TableSpec | None:
    """The version of a table in force now, or None if no published version is."""
    try:
        return casework.registry.active_table(name, now_of(request))
    except NotFound:
        return None


def chosen(records: list[DefinitionRecord], version: int | None,
           active: TableSpec | None) -> DefinitionRecord:
    """The stored version asked for; else the active one; else the newest stored."""
    wanted = version if version is not None else active.version if active else \
        records[-1].version
    for record in records:
        if record.version == wanted:
            return record
    raise NotFound(f"{records[-1].kind} '{records[-1].name}' has no version {wanted} (stored: "
                   f"{', '.join(str(r.version) for r in records)})")


def versions(records: list[DefinitionRecord], published: list[Publication],
             active: int | None) -> list[Version]:
    """Newest first, each with its publications (newest first) and the version before it."""
    result = []
    for index, record in enumerate(records):
        result.append(Version(record, tuple(p for p in published
                                            if p.definition_id == record.id),
                              record.version == active,
                              records[index - 1].version if index else None))
    return result[::-1]


@get("/")
def rules_index(request: Request[User, Any, Any]) -> Template:
    casework = casework_of(request)
    published = casework.publications.of("table")
    tables = []
    for name in sorted({d.name for d in casework.store.definitions("table")}):
        spec = active_spec(casework, name, request)
        shown = next((p for p in published if spec and p.name == name
                      and p.version == spec.version), None)
        tables.append((name, spec, shown))
    newest: dict[str, DefinitionRecord] = {}
    for record in casework.store.definitions("workflow"):  # ordered by name, then version
        newest[record.name] = record
    workflows = [(record, casework.registry.get(record.id).spec) for record in newest.values()]
    return page(request, "rules.html", user=request.user, tables=tables, workflows=workflows,
                may_edit=request.user.may(Permission.EDIT_RULES))


@get("/tables/{name:str}")
def table_page(request: Request[User, Any, Any], name: FromPath[str],
               version: FromQuery[int | None] = None,
               published: FromQuery[int | None] = None) -> Template:
    casework = casework_of(request)
    records = stored(casework, "table", name)
    active = active_spec(casework, name, request)
    record = chosen(records, version, active)
    spec = active if active and active.version == record.version else \
        load_table_text(record.source, record.source_path)
    results: list[TestResult] = run_tests(spec)
    publications = casework.publications.of("table", name)
    return page(request, "table.html", user=request.user, spec=spec, record=record,
                active=active, grid=grid(spec), results=results,
                failed=sum(1 for r in results if r.failure),
                just_published=published if any(p.version == published for p in publications)
                else None,
                versions=versions(records, publications, active.version if active else None),
                may_edit=request.user.may(Permission.EDIT_RULES))


def _diff(request: Request[User, Any, Any], kind: str, name: str, version: int) -> Template:
    """What changed from the stored version before `version` to `version`."""
    records = stored(casework_of(request), kind, name)
    index = records.index(chosen(records, version, None))
    before = records[index - 1] if index else None
    lines = diff_lines(before, records[index]) if before else []
    return page(request, "diff.html", "diff", user=request.user, kind=kind, name=name,
                record=records[index], before=before, lines=lines)


@get("/tables/{name:str}/versions/{version:int}/diff")
def table_diff(request: Request[User, Any, Any], name: FromPath[str],
               version: FromPath[int]) -> Template:
    return _diff(request, "table", name, version)


@get("/workflows/{name:str}/versions/{version:int}/diff")
def workflow_diff(request: Request[User, Any, Any], name: FromPath[str],
                  version: FromPath[int]) -> Template:
    return _diff(request, "workflow", name, version)


@get("/workflows/{name:str}")
def workflow_page(request: Request[User, Any, Any], name: FromPath[str],
                  version: FromQuery[int | None] = None) -> Template:
    casework = casework_of(request)
    records = stored(casework, "workflow", name)
    record = chosen(records, version, None)
    spec = casework.registry.get(record.id).spec
    return page(request, "workflow.html", user=request.user, spec=spec, record=record,
                newest=records[-1].version,
                versions=versions(records, casework.publications.of("workflow", name),
                                  records[-1].version),
                may_edit=request.user.may(Permission.EDIT_RULES))


ROUTER = area("/rules", Permission.READ_RULES, [
    rules_index, table_page, table_diff, workflow_page, workflow_diff])
