"""`casework workflows ...`: the home's workflow files as a manager reads them."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from engine.cases.runtime import Actor
from engine.cli.support import common, handles_errors, opened, settings_of
from engine.kernel.errors import NotFound
from engine.kernel.specs import WorkflowSpec
from engine.kernel.yaml_source import known_list, suggest
from engine.workflows.diagram import diagrams_document, mermaid, workflow_page
from engine.workflows.registry import definitions_home, load_workflows


@click.group()
def workflows() -> None:
    """Workflow definitions: see them as state diagrams, move running cases between versions."""


@workflows.command("diagram")
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Every workflow of the home, by name")
@click.option("--markdown", is_flag=True,
              help="A Markdown page (summary, diagram, table of transitions), not bare Mermaid")
@common
@handles_errors
def workflows_diagram(name: str | None, every: bool, markdown: bool, home: Path | None,
                      now_text: str | None) -> None:
    """Print workflow NAME of the home's workflows/ folder as a Mermaid state diagram (paste it
    into any Mermaid viewer). With --all --markdown it prints docs/workflow-diagrams.md."""
    if every == (name is not None):
        raise click.UsageError("give a workflow NAME or --all, not both")
    home_dir = settings_of(home, now_text).home
    specs = shipped(home_dir)
    if every:
        ordered = sorted(specs.values(), key=lambda s: s.name)
        text = diagrams_document(ordered) if markdown else "\n".join(
            f"%% {spec.name} v{spec.version}\n{mermaid(spec)}" for spec in ordered)
    else:
        spec = _named(specs, str(name), home_dir)
        text = workflow_page(spec) if markdown else mermaid(spec)
    click.echo(text, nl=False)


def shipped(home: Path) -> dict[str, WorkflowSpec]:
    """The workflows of home/workflows by name (each file holds one version of one workflow,
    the one new cases will start on once it is loaded)."""
    return {spec.name: spec for spec, _ in load_workflows(home)}


def _named(specs: dict[str, WorkflowSpec], name: str, home: Path) -> WorkflowSpec:
    if name not in specs:
        folder = definitions_home(home) / "workflows"
        raise NotFound(f"no workflow '{name}' in {folder}{suggest(name, specs)} "
                       f"(workflows there: {known_list(specs)})")
    return specs[name]


@workflows.command("migrate")
@click.argument("workflow")
@click.option("--to", "version", type=int, required=True, help="The stored version to move to")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW",
              help="Put cases in state OLD into state NEW of the target (repeat for more)")
@click.option("--dry-run", is_flag=True, help="List what would happen; change nothing")
@click.option("--actor", default="casework", show_default=True, help="Who migrates")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def workflows_migrate(workflow: str, version: int, pairs: tuple[str, ...], dry_run: bool,
                      actor: str, as_json: bool, home: Path | None,
                      now_text: str | None) -> None:
    """Move the open cases of WORKFLOW to stored version --to, each with an audited
    case.migrated event; cases whose state has no mapping are refused and left as they are."""
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.UsageError(f"--map takes OLD=NEW, not {pair!r}")
        mapping[old.strip()] = new.strip()
    with opened(home, now_text) as casework:
        casework.registry.deploy_home(casework.settings.home, casework.settings.clock())
        done = casework.migrator.migrate(workflow, version, mapping, Actor(actor, "admin"),
                                         casework.settings.clock(), dry_run)
    if as_json:
        click.echo(json.dumps({"workflow": workflow, "to_version": version, "dry_run": dry_run,
                               "moves": [asdict(m) for m in done.moves]}))
        return
    verb = "would move" if dry_run else "moved"
    for move in done.moves:
        where = f"#{move.case_id} v{move.from_version} {move.from_state}"
        if move.refused:
            click.echo(f"  refused {where}: {move.refused}")
        else:
            dropped = f" (drops {', '.join(move.dropped)})" if move.dropped else ""
            click.echo(f"  {where} -> v{version} {move.to_state}{dropped}")
    click.echo(f"{workflow}: {verb} {len(done.moved)} case(s) to v{version}, refused "
               f"{len(done.refused)}")
