"""What the YAML editor of the rule pages reads from the server (editor/src/editor.js).

The editor enhances a `<textarea data-editor="yaml">` (see _yaml_editor.html): it completes the
names `editor_names` gives (a JSON data island in the page, which the Content-Security-Policy
allows as data), and shows the problems a page's JSON endpoint answers with `problem_list`
as lint marks at their lines while the manager types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from engine.kernel.errors import NotFound, Problem
from engine.kernel.roles import ROLES
from engine.kernel.specs import CUSTOMER_FIGURES
from engine.wiring import Casework


@dataclass(frozen=True)
class EditorNames:
    """The names a definition may refer to, each kind sorted, for completion."""

    states: list[str]
    fields: list[str]
    roles: list[str]
    tables: list[str]
    calendars: list[str]
    queues: list[str]
    workflows: list[str]

    def as_json(self) -> dict[str, list[str]]:
        return asdict(self)


def editor_names(casework: Casework, at: datetime) -> EditorNames:
    """The states and fields of the newest version of every workflow, the fields tables read
    and decide (and the customers' figures), the roles, tables, calendars and queues."""
    states: set[str] = set()
    fields: set[str] = set(CUSTOMER_FIGURES)
    workflows = casework.registry.workflow_names()
    for name in workflows:
        spec = casework.registry.active(name).spec
        states.update(spec.states)
        fields.update(spec.fields)
    tables = sorted({record.name for record in casework.store.definitions("table")})
    for name in tables:
        try:
            table = casework.registry.active_table(name, at)
        except NotFound:  # stored, but no version in force now
            continue
        fields.update(table.inputs)
        fields.update(table.outputs)
    return EditorNames(
        states=sorted(states), fields=sorted(fields), roles=sorted(ROLES), tables=tables,
        calendars=sorted(casework.runtime.scheduler.reckoner.calendars),
        queues=sorted(casework.registry.queues(at)), workflows=list(workflows))


def problem_list(problems: list[Problem]) -> list[dict[str, int | str]]:
    """Problems as the editor's lint reads them: [{"line": 3, "message": "..."}]."""
    return [{"line": p.line, "message": p.message} for p in problems]
