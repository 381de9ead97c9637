"""The workflow editor for managers: YAML in a textarea, validated with the loader the CLI
uses (engine/workflows/loading.py, checked against the stored tables, the home's calendars and
mail templates), its diagram and its diff against the newest version, and publishing as the
next version through the registry. Then the move of running cases to it (web/pages/
workflow_moves.py).

Nothing the page says is trusted: every action loads the posted text again, so a draft that
does not load is never published.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from litestar import Request
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from engine.kernel.accounts import User
from engine.kernel.errors import DefinitionError, NotFound, Problem
from engine.kernel.records import DefinitionRecord
from engine.kernel.roles import Permission
from engine.kernel.specs import WorkflowSpec
from engine.rules.loading import load_table_text
from engine.rules.tables import TableSpec
from engine.wiring import Casework
from engine.workflows.drafts import DraftKind
from engine.workflows.loading import load_workflow_text
from engine.workflows.mail_files import template_names
from engine.workflows.registry import definitions_home, load_calendars
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.pages.drafting import drafts_seen
from web.pages.rule_editing import MAX_SOURCE, FormBody, Outcome, editor_path, lines_of
from web.pages.rules import DiffLine, stored
from web.rendering import page
from web.yaml_editor import editor_names, problem_list

_WORKFLOW_LINE = re.compile(r"^workflow\s*:", re.MULTILINE)
_VERSION = re.compile(r"^version\s*:\s*(\d+)\s*$", re.MULTILINE)


def known_tables(casework: Casework, request: Request[User, Any, Any]
                 ) -> dict[str, TableSpec | None]:
    """Each stored table a workflow may decide with: the version in force, else the newest."""
    tables: dict[str, TableSpec | None] = {}
    for record in casework.store.definitions("table"):  # by name, then version: newest last
        try:
            tables[record.name] = casework.registry.active_table(record.name, now_of(request))
        except NotFound:
            tables[record.name] = load_table_text(record.source, record.source_path)
    return tables


def load(request: Request[User, Any, Any], name: str, text: str
         ) -> tuple[WorkflowSpec | None, list[Problem]]:
    """The workflow the text defines, or every problem found in it (each at its line)."""
    casework = casework_of(request)
    path = editor_path(name)
    if len(text) > MAX_SOURCE:
        return None, [Problem(path, 1, f"the text is {len(text)} characters; the editor takes "
                              f"at most {MAX_SOURCE}")]
    home = casework.settings.home
    try:
        spec = load_workflow_text(
            text, path, known_tables(casework, request), set(load_calendars(home)),
            # the mail templates of the workflow edited here, whatever name the text gives
            lambda _: template_names(definitions_home(home), name))
    except DefinitionError as exc:
        return None, exc.problems
    if spec.name != name:
        match = _WORKFLOW_LINE.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        return None, [Problem(path, line, f"this editor is for workflow '{name}', but the text "
                              f"defines '{spec.name}'; write 'workflow: {name}'")]
    return spec, []


def proposed(source: str, newest: int) -> str:
    """The newest version's source with its version raised to the next number."""
    return _VERSION.sub(f"version: {newest + 1}", source, count=1)


def diff_against(newest: DefinitionRecord, text: str, version: str) -> list[DiffLine]:
    """The unified diff from the newest stored version to the text, each line marked."""
    marked = []
    for line in difflib.unified_diff(newest.source.splitlines(), text.splitlines(),
                                     fromfile=f"{newest.name} v{newest.version}",
                                     tofile=f"{newest.name} {version}", lineterm=""):
        kind = ("head" if line.startswith(("---", "+++")) else "hunk" if line.startswith("@@")
                else "add" if line.startswith("+") else "del" if line.startswith("-")
                else "same")
        marked.append(DiffLine(kind, line))
    return marked


def _editor(request: Request[User, Any, Any], name: str, text: str, spec: WorkflowSpec | None,
            outcome: Outcome | None = None, status_code: int = 200) -> Template:
    """The editor with the text as posted, what the last button found, the text's diagram
    and its changes from the newest version."""
    casework = casework_of(request)
    newest = stored(casework, "workflow", name)[-1]
    problems = outcome.problems if outcome else []
    return page(request, "workflow_edit.html", "result", status_code=status_code,
                user=request.user, name=name, source=text, newest=newest, outcome=outcome,
                spec=spec, lines=lines_of(text, problems) if problems else [],
                diff=diff_against(newest, text, f"v{spec.version}" if spec else "(edited)"),
                drafts=drafts_seen(casework, DraftKind.WORKFLOW, name, request.user),
                editor_names=editor_names(casework, now_of(request)))


def _checked(request: Request[User, Any, Any], name: str, data: dict[str, Any]
             ) -> tuple[str, WorkflowSpec | None, list[Problem]]:
    """The posted text, and the workflow it defines or its problems; NotFound (404) for a
    workflow that is not stored (the editor changes workflows, it does not add them)."""
    stored(casework_of(request), "workflow", name)
    text = str(data.get("source") or "").replace("\r\n", "\n")
    return text, *load(request, name, text)


def _refused(request: Request[User, Any, Any], name: str, text: str, action: str,
             problems: list[Problem], spec: WorkflowSpec | None = None) -> Template:
    what = "the workflow was not published" if action == "publish" else \
        "the workflow does not load"
    outcome = Outcome(action, False, f"{len(problems)} problem(s): {what}", problems)
    return _editor(request, name, text, spec, outcome, HTTP_422_UNPROCESSABLE_ENTITY)


@get("/{name:str}/edit")
def edit_workflow(request: Request[User, Any, Any], name: FromPath[str]) -> Template:
    casework = casework_of(request)
    newest = stored(casework, "workflow", name)[-1]
    mine = drafts_seen(casework, DraftKind.WORKFLOW, name, request.user).mine
    text = mine.text if mine is not None else proposed(newest.source, newest.version)
    return _editor(request, name, text, load(request, name, text)[0])


@post("/{name:str}/validate")
def validate_workflow(request: Request[User, Any, Any], name: FromPath[str],
                      data: FormBody) -> Template:
    text, spec, problems = _checked(request, name, data)
    if spec is None:
        return _refused(request, name, text, "validate", problems)
    newest = stored(casework_of(request), "workflow", name)[-1]
    note = (f"it would be published as v{spec.version}" if spec.version > newest.version
            else f"set 'version: {newest.version + 1}' to publish it (v{spec.version} is taken)")
    return _editor(request, name, text, spec, Outcome(
        "validate", True, f"valid: {spec.name} v{spec.version}, {len(spec.states)} states, "
        f"{len(spec.transitions)} transitions; {note}"))


@post("/{name:str}/problems", status_code=HTTP_200_OK)
def workflow_problems(request: Request[User, Any, Any], name: FromPath[str],
                      data: FormBody) -> list[dict[str, int | str]]:
    """The problems of the posted text as JSON, [] when it loads: the editor's lint, which
    asks as the manager types."""
    return problem_list(_checked(request, name, data)[2])


@post("/{name:str}/publish")
def publish_workflow(request: Request[User, Any, Any], name: FromPath[str],
                     data: FormBody) -> Template | Response[Any]:
    text, spec, problems = _checked(request, name, data)
    if spec is None:
        return _refused(request, name, text, "publish", problems)
    casework = casework_of(request)
    try:
        deployed = casework.registry.publish_workflow(spec, text, now_of(request),
                                                      by=request.user.name)
    except DefinitionError as exc:  # a version taken, or nothing changed but the version
        return _refused(request, name, text, "publish", exc.problems, spec)
    casework.drafts.discard(DraftKind.WORKFLOW, name, request.user.name)  # published now
    target = (f"/rules/workflows/{name}?version={deployed.version}" if deployed.request is None
              else f"/rules/approvals/{deployed.request.id}")  # awaiting a second manager
    if getattr(request, "htmx", None):  # leave the editor for the workflow as it now is
        return Response("", status_code=HTTP_200_OK, headers={"HX-Redirect": target})
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


ROUTER = area("/rules/workflows", Permission.EDIT_RULES, [
    edit_workflow, validate_workflow, workflow_problems, publish_workflow])
