"""The table editor for managers: YAML in a textarea, and validate, test, simulate and publish.

Nothing the page says is trusted: every action loads the posted text with the loader the CLI
uses (engine/rules/loading.py), and publishing loads and tests it again before the registry
stores it (which refuses failing tests and changed content under a stored version itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from engine.customers.records import TIER_TABLE
from engine.jobs.tiering import Simulation
from engine.kernel.accounts import User
from engine.kernel.errors import CaseworkError, DefinitionError, NotFound, Problem
from engine.kernel.roles import Permission
from engine.kernel.specs import CUSTOMER_FIGURES
from engine.rules.loading import load_table_text
from engine.rules.tables import TableSpec, TestResult, run_tests
from engine.wiring import Casework
from engine.workflows.drafts import DraftKind
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.pages.drafting import drafts_seen
from web.pages.rules import active_spec, chosen, stored
from web.rendering import page
from web.yaml_editor import editor_names, problem_list

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MAX_SOURCE = 200_000  # characters: far above any real table, far below a denial of service
_TABLE_LINE = re.compile(r"^table\s*:", re.MULTILINE)
CONTEXT = 2  # lines shown before and after a line with a problem


@dataclass(frozen=True)
class Outcome:
    """What one press of a button found, shown beside the editor."""

    action: str  # validate | test | simulate | publish
    ok: bool
    summary: str
    problems: list[Problem] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    simulation: Simulation | None = None
    note: str | None = None


@dataclass(frozen=True)
class Line:
    """A line of the posted text, with the problems found at it."""

    number: int
    text: str
    problems: tuple[str, ...]


def editor_path(name: str) -> str:
    """How the editor's text is named in messages and in the stored version's source path."""
    return f"{name}.yaml"


def load(name: str, text: str) -> tuple[TableSpec | None, list[Problem]]:
    """The table the text defines, or every problem found in it (each at its line)."""
    path = editor_path(name)
    if len(text) > MAX_SOURCE:
        return None, [Problem(path, 1, f"the text is {len(text)} characters; the editor takes "
                              f"at most {MAX_SOURCE}")]
    try:
        spec = load_table_text(text, path)
    except DefinitionError as exc:
        return None, exc.problems
    if spec.name != name:
        match = _TABLE_LINE.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        return None, [Problem(path, line, f"this editor is for table '{name}', but the text "
                              f"defines '{spec.name}'; write 'table: {name}'")]
    return spec, []


def lines_of(text: str, problems: list[Problem]) -> list[Line | None]:
    """The lines with problems and a few around each (None where lines are left out); a
    problem past the last line goes on the last."""
    texts = text.split("\n")
    found: dict[int, list[str]] = {}
    for problem in problems:
        found.setdefault(min(max(problem.line, 1), len(texts)), []).append(problem.message)
    near = {n for line in found for n in range(line - CONTEXT, line + CONTEXT + 1)}
    shown: list[Line | None] = []
    for number, line in enumerate(texts, start=1):
        if number in near:
            shown.append(Line(number, line, tuple(found.get(number, ()))))
        elif not shown or shown[-1] is not None:
            shown.append(None)
    return shown


def stored_note(casework: Casework, spec: TableSpec) -> str:
    """Whether the version number is new, already stored as it is, or taken by other content."""
    try:
        record = casework.store.definition("table", spec.name, spec.version)
    except NotFound:
        return f"version {spec.version} is new"
    if record.content_hash == spec.content_hash:
        return f"version {spec.version} is stored with exactly this content"
    newest = casework.store.definition("table", spec.name).version
    return (f"version {spec.version} is already stored with other content: set "
            f"'version: {newest + 1}' to publish this")


def not_offered(spec: TableSpec) -> list[str]:
    """The inputs of a table that customers do not offer; a simulation over customers needs
    none (customers offer their figures, and the tier customer_tier decides for the others)."""
    offered = set(CUSTOMER_FIGURES) | ({"tier"} if spec.name != TIER_TABLE else set())
    return [name for name in spec.inputs if name not in offered]


def _editor(request: Request[User, Any, Any], name: str, text: str, spec: TableSpec | None,
            outcome: Outcome | None = None, form: dict[str, Any] | None = None,
            status_code: int = 200) -> Template:
    """The editor with the text as posted, and what the last button found beside it."""
    active = active_spec(casework_of(request), name, request)
    shown = spec or active
    problems = outcome.problems if outcome else []
    simulation = outcome.simulation if outcome else None
    form = form or {}
    return page(request, "table_edit.html", "result", status_code=status_code,
                user=request.user, name=name, source=text, active=active, outcome=outcome,
                drafts=drafts_seen(casework_of(request), DraftKind.TABLE, name, request.user),
                lines=lines_of(text, problems) if problems else [],
                axis=simulation.values if simulation else [],
                outputs=list(shown.outputs) if shown else [],
                missing=not_offered(shown) if shown else [],
                simulable=shown is not None and not not_offered(shown),
                as_of=form.get("as_of") or casework_of(request).tiering.figures_as_of(
                    now_of(request)).isoformat(),
                output=form.get("output") or "",
                editor_names=editor_names(casework_of(request), now_of(request)))


def _checked(request: Request[User, Any, Any], name: str, data: dict[str, Any]
             ) -> tuple[str, TableSpec | None, list[Problem]]:
    """The posted text, and the table it defines or its problems; NotFound (404) for a table
    that is not stored (the editor changes tables, it does not add them)."""
    stored(casework_of(request), "table", name)
    # browsers send a textarea's line breaks as CRLF; the stored source keeps plain newlines
    text = str(data.get("source") or "").replace("\r\n", "\n")
    return text, *load(name, text)


def _refused(request: Request[User, Any, Any], name: str, text: str, action: str,
             data: dict[str, Any], problems: list[Problem] | None = None,
             tests: list[TestResult] | None = None, spec: TableSpec | None = None,
             message: str | None = None) -> Template:
    """422 with the problems at their lines, or with one message about no line in particular."""
    what = {"validate": "the table does not load", "test": "the table does not load",
            "simulate": "the table cannot be simulated",
            "publish": "the table was not published"}[action]
    summary = message or f"{len(problems or [])} problem(s): {what}"
    outcome = Outcome(action, False, summary, problems or [], tests or [])
    return _editor(request, name, text, spec, outcome, data, HTTP_422_UNPROCESSABLE_ENTITY)


@get("/{name:str}/edit")
def edit_table(request: Request[User, Any, Any], name: FromPath[str],
               version: FromQuery[int | None] = None) -> Template:
    casework = casework_of(request)
    records = stored(casework, "table", name)
    record = chosen(records, version, active_spec(casework, name, request))
    mine = drafts_seen(casework, DraftKind.TABLE, name, request.user).mine
    text = mine.text if mine is not None and version is None else record.source
    return _editor(request, name, text, load(name, text)[0])


@post("/{name:str}/validate")
def validate_table(request: Request[User, Any, Any], name: FromPath[str],
                   data: FormBody) -> Template:
    text, spec, problems = _checked(request, name, data)
    if spec is None:
        return _refused(request, name, text, "validate", data, problems)
    note = stored_note(casework_of(request), spec)
    return _editor(request, name, text, spec, Outcome(
        "validate", True, f"valid: {spec.name} v{spec.version}, hit policy {spec.hit}, "
        f"{len(spec.rows)} rules, {len(spec.tests)} tests; {note}"), data)


@post("/{name:str}/problems", status_code=HTTP_200_OK)
def table_problems(request: Request[User, Any, Any], name: FromPath[str],
                   data: FormBody) -> list[dict[str, int | str]]:
    """The problems of the posted text as JSON, [] when it loads: the editor's lint, which
    asks as the manager types."""
    return problem_list(_checked(request, name, data)[2])


@post("/{name:str}/test")
def run_table_tests(request: Request[User, Any, Any], name: FromPath[str],
                    data: FormBody) -> Template:
    text, spec, problems = _checked(request, name, data)
    if spec is None:
        return _refused(request, name, text, "test", data, problems)
    results = run_tests(spec)
    failed = sum(1 for r in results if r.failure)
    outcome = Outcome("test", not failed, f"{len(results) - failed} of {len(results)} tests "
                      "passed" + ("; a version with failing tests cannot be published"
                                  if failed else ""), tests=results)
    return _editor(request, name, text, spec, outcome, data,
                   HTTP_422_UNPROCESSABLE_ENTITY if failed else 200)


@post("/{name:str}/simulate")
def simulate_table(request: Request[User, Any, Any], name: FromPath[str],
                   data: FormBody) -> Template:
    text, spec, problems = _checked(request, name, data)
    if spec is None:
        return _refused(request, name, text, "simulate", data, problems)
    missing = not_offered(spec)
    if missing:
        return _refused(request, name, text, "simulate", data, spec=spec, message=(
            f"{name} reads {', '.join(missing)}, which customers do not offer: simulation over "
            f"customers applies to the tables customers are tiered by ({TIER_TABLE}, "
            f"churn_risk), which read only customer figures ({', '.join(CUSTOMER_FIGURES)})"))
    try:
        as_of = date.fromisoformat(str(data.get("as_of") or casework_of(request).tiering
                                       .figures_as_of(now_of(request))))
    except ValueError:
        return _refused(request, name, text, "simulate", data, spec=spec, message=(
            f"'figures as of' must be a day as YYYY-MM-DD, not {data.get('as_of')!r}"))
    output = str(data.get("output") or "") or None
    if output not in spec.outputs:
        output = None  # chosen for the version before this edit, or none: the first output
    try:
        result = casework_of(request).tiering.simulate(spec, as_of, now_of(request), output)
    except CaseworkError as exc:  # inputs of the wrong type, no version in force to compare
        # with, figures that do not fit (too few buyers)
        return _refused(request, name, text, "simulate", data, spec=spec, message=str(exc))
    failing = sum(1 for r in run_tests(spec) if r.failure)
    return _editor(request, name, text, spec, Outcome(
        "simulate", True, f"{result.changed} of {result.customers} customers would change "
        f"{result.output} (figures as of {result.as_of})", simulation=result,
        note=f"{failing} of the candidate's tests fail; it cannot be published as it is"
        if failing else None), data)


@post("/{name:str}/publish")
def publish_table(request: Request[User, Any, Any], name: FromPath[str],
                  data: FormBody) -> Template | Response[Any]:
    text, spec, problems = _checked(request, name, data)
    if spec is None:
        return _refused(request, name, text, "publish", data, problems)
    results = run_tests(spec)
    failures = [Problem(spec.path, r.test.line, f"test failed: {r.failure}")
                for r in results if r.failure]
    if failures:
        return _refused(request, name, text, "publish", data, failures, results, spec)
    casework = casework_of(request)
    active = active_spec(casework, name, request)
    if active is not None and active.content_hash == spec.content_hash:
        return _refused(request, name, text, "publish", data, spec=spec, message=(
            f"v{active.version} with this content is already the active version; change the "
            "table and raise 'version:' to publish"))
    try:
        done = casework.registry.publish_table(spec, text, now_of(request),
                                               by=request.user.name)
    except DefinitionError as exc:  # a version number stored with other content
        return _refused(request, name, text, "publish", data, exc.problems, spec=spec)
    casework.drafts.discard(DraftKind.TABLE, name, request.user.name)  # published or proposed
    target = (f"/rules/tables/{name}?published={done.version}" if done.request is None
              else f"/rules/approvals/{done.request.id}")  # awaiting a second manager
    if getattr(request, "htmx", None):  # leave the editor for the table as it now is
        return Response("", status_code=HTTP_200_OK, headers={"HX-Redirect": target})
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


ROUTER = area("/rules/tables", Permission.EDIT_RULES, [
    edit_table, validate_table, table_problems, run_table_tests, simulate_table, publish_table])
