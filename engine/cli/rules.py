"""`casework rules ...`: what a manager does with decision tables before and after publishing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from engine.cli.support import common, fail, handles_errors, opened, out, settings_of
from engine.kernel.errors import NotFound
from engine.kernel.history import iso
from engine.kernel.yaml_source import read_source
from engine.rules.loading import given_value, load_table_file, load_table_text
from engine.rules.tables import Decision, RowTrace, TableSpec, coverage, decide, explain, run_tests
from engine.workflows.approvals import RequestState
from engine.workflows.registry import definitions_home, load_tables

if TYPE_CHECKING:
    from engine.jobs.tiering import Simulation


@click.group()
def rules() -> None:
    """Decision tables: test, evaluate, explain, check coverage, publish."""


@rules.command("test")
@common
@handles_errors
def rules_test(home: Path | None, now_text: str | None) -> None:
    """Run every table's embedded tests; exit 1 on any failure (expected vs actual shown)."""
    tables = load_tables(settings_of(home, now_text).home)
    failures = 0
    for spec, _ in tables:
        results = run_tests(spec)
        bad = [r for r in results if r.failure]
        failures += len(bad)
        click.echo(f"{spec.name} v{spec.version}: {len(results) - len(bad)} of {len(results)} "
                   "tests passed")
        for result in bad:
            click.echo(f"  FAILED {spec.path}:{result.test.line}: {result.failure}")
    if failures:
        fail(f"{failures} test(s) failed", 1)


@rules.command("coverage")
@common
@handles_errors
def rules_coverage(home: Path | None, now_text: str | None) -> None:
    """Name the rows no test reaches; exit 1 if a table has any."""
    uncovered = 0
    for spec, _ in load_tables(settings_of(home, now_text).home):
        missing = coverage(spec)
        uncovered += len(missing)
        reached = len(spec.rows) - len(missing)
        line = f"{spec.name} v{spec.version}: {reached} of {len(spec.rows)} rows reached by tests"
        click.echo(line + (f"; never reached: {', '.join(missing)}" if missing else ""))
    if uncovered:
        fail(f"{uncovered} row(s) reached by no test", 1)


@rules.command("eval")
@click.argument("table")
@click.option("--input", "input_json", required=True, metavar="JSON",
              help='The inputs as one JSON object, e.g. \'{"tier": "key", "severity": "high"}\'')
@click.option("--explain", "show_explain", is_flag=True, help="Show every row and cell")
@click.option("--published", is_flag=True,
              help="Use the published version in the database, not the home's rules/ file")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
@common
@handles_errors
def rules_eval(table: str, input_json: str, show_explain: bool, published: bool, as_json: bool,
               home: Path | None, now_text: str | None) -> None:
    """Evaluate TABLE for one set of inputs."""
    spec = _published(table, home, now_text) if published else _from_home(table, home, now_text)
    inputs = _inputs(spec, input_json)
    if show_explain:
        traces, decision = explain(spec, inputs)
        _print_explained(traces, decision, as_json)
    else:
        _print_decision(decide(spec, inputs), as_json)


@rules.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="operator", show_default=True,
              help="Who publishes (under `approval: required`: who proposes)")
@common
@handles_errors
def rules_publish(file: Path, by: str, home: Path | None, now_text: str | None) -> None:
    """Validate FILE, run its tests and, only if all pass, make it the active version; under
    `approval: required` (the active version's or FILE's) record it for a second manager."""
    text = read_source(file)
    spec = load_table_text(text, str(file))
    with opened(home, now_text) as casework:
        now = casework.settings.clock()
        try:
            before: TableSpec | None = casework.registry.active_table(spec.name, now)
        except NotFound:
            before = None
        done = casework.registry.publish_table(spec, text, now, by=by)
    if done.request is not None and not done.published:
        click.echo(f"{spec.name} v{spec.version} awaits approval (approval: required): "
                   f"{len(spec.tests)} tests passed; request {done.request.id} proposed by "
                   f"{by}; a second manager approves it with `casework rules approve "
                   f"{done.request.id} --by NAME` or on /rules/approvals/{done.request.id}")
        return
    was = f" (was v{before.version})" if before and before.content_hash != done.content_hash \
        else ""
    click.echo(f"published {spec.name} v{spec.version}{was}: {len(spec.tests)} tests passed; "
               f"active since {iso(casework.settings.clock())}, content {done.content_hash[:12]}")


@rules.command("approve")
@click.argument("request_id", type=int)
@click.option("--by", required=True, help="Who approves (not who proposed it: four eyes)")
@common
@handles_errors
def rules_approve(request_id: int, by: str, home: Path | None, now_text: str | None) -> None:
    """Approve publication request REQUEST_ID (a table or workflow under `approval:
    required`): it becomes the active version, with both names in its publication."""
    with opened(home, now_text) as casework:
        done = casework.registry.approve(request_id, by, casework.settings.clock())
    proposer = done.request.proposed_by if done.request else "?"
    click.echo(f"published {done.kind} {done.name} v{done.version}: proposed by {proposer}, "
               f"approved by {by}")


@rules.command("requests")
@click.option("--all", "every", is_flag=True, help="Decided requests too, not only pending")
@common
@handles_errors
def rules_requests(every: bool, home: Path | None, now_text: str | None) -> None:
    """List publication requests waiting for a second manager (newest first)."""
    with opened(home, now_text) as casework:
        found = casework.approvals.listing(None if every else RequestState.PENDING)
    for request in found:
        decided = f" by {request.decided_by}" if request.decided_by else ""
        click.echo(f"#{request.id} {request.kind} {request.name} v{request.version}: "
                   f"{request.state}{decided}; proposed by {request.proposed_by} "
                   f"{iso(request.proposal.proposed_at)}")
    if not found:
        click.echo("no pending publication requests" if not every else
                   "no publication requests")


@rules.command("simulate")
@click.argument("table")
@click.option("--candidate", "file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The table version to try (a YAML file; it is not published)")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]),
              help="Customer figures as of this day (YYYY-MM-DD) [default: the day the stored "
                   "figures are as of; today before the first recompute]")
@click.option("--output", help="Which output to compare [default: the table's first]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def rules_simulate(table: str, file: Path, as_of: datetime | None, output: str | None,
                   as_json: bool, home: Path | None, now_text: str | None) -> None:
    """Run a candidate version of TABLE over every stored customer next to the published
    version and show how many customers move from each value to each other; writes nothing."""
    candidate = load_table_file(file)
    if candidate.name != table:
        fail(f"{file} defines table '{candidate.name}', not '{table}'", 2)
    failing = [r for r in run_tests(candidate) if r.failure]
    with opened(home, now_text) as casework:
        now = casework.settings.clock()
        day = as_of.date() if as_of else casework.tiering.figures_as_of(now)
        result = casework.tiering.simulate(candidate, day, now, output)
    if as_json:
        click.echo(json.dumps({**result.to_json(), "failing_tests": len(failing)}))
        return
    _print_matrix(result)
    click.echo(f"{result.changed} of {result.customers} customers would change "
               f"{result.output} (figures as of {result.as_of})")
    if failing:
        click.echo(f"note: {len(failing)} of the candidate's tests fail; it cannot be "
                   "published as it is (casework rules test)")


def _print_matrix(result: Simulation) -> None:
    values = result.values
    grid = Table(title=f"{result.table}: active v{result.active_version} (rows) against "
                       f"candidate v{result.candidate_version} (columns), {result.output}")
    grid.add_column("active \\ candidate")
    for value in values:
        grid.add_column(str(value), justify="right")
    for old in values:
        grid.add_row(str(old), *[
            (f"[bold]{n}[/]" if old != new and n else str(n))
            for new in values for n in [result.matrix.get((old, new), 0)]])
    out.print(grid)


def _from_home(name: str, home: Path | None, now_text: str | None) -> TableSpec:
    folder = definitions_home(settings_of(home, now_text).home) / "rules"
    for path in (folder / f"{name}.yaml", folder / f"{name}.yml"):
        if path.exists():
            spec = load_table_file(path)
            if spec.name != name:
                fail(f"{path} defines table '{spec.name}', not '{name}'", 2)
            return spec
    fail(f"no table file {folder / name}.yaml", 2)


def _published(name: str, home: Path | None, now_text: str | None) -> TableSpec:
    with opened(home, now_text) as casework:
        return casework.registry.active_table(name, casework.settings.clock())


def _inputs(spec: TableSpec, text: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from None
    if not isinstance(raw, dict):
        raise click.BadParameter("must be one JSON object", param_hint="--input")
    return {k: given_value(spec.inputs[k], v, k) if k in spec.inputs else v
            for k, v in raw.items()}


def _print_decision(decision: Decision, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(decision.to_json(), ensure_ascii=False))
        return
    matched = ", ".join(decision.matched) or "no row"
    click.echo(f"{decision.table} v{decision.version}: {json.dumps(decision.to_json()['outputs'])}"
               f"  (matched: {matched})")


def _print_explained(traces: list[RowTrace], decision: Decision, as_json: bool) -> None:
    if as_json:
        rows = [{"id": t.id, "matched": t.matched,
                 "cells": [{"input": c.input, "test": c.test, "cel": c.cel, "result": c.result}
                           for c in t.cells]} for t in traces]
        click.echo(json.dumps({**decision.to_json(), "rows": rows}, ensure_ascii=False,
                              default=str))
        return
    marks = {True: "[green]yes[/]", False: "[red]no[/]", None: "[dim]-[/]"}
    for trace in traces:
        chosen = " [bold]<= decides[/]" if trace.id in decision.matched else ""
        cells = "  ".join(f"{c.input} {c.test}: {marks[c.result]}" for c in trace.cells)
        out.print(f"{'MATCH' if trace.matched else '     '} {trace.id}: "
                  f"{cells or '(always)'}{chosen}")
    _print_decision(decision, as_json=False)
