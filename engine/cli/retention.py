"""`casework retention run`: apply rules/retention.yaml to the closed cases whose time has come."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.cli.support import common, handles_errors, opened
from engine.jobs.retention import RetentionRun


@click.group()
def retention() -> None:
    """Retention of closed cases (rules/retention.yaml)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Say what a run would do; change nothing")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def retention_run(dry_run: bool, as_json: bool, home: Path | None,
                  now_text: str | None) -> None:
    """Erase or delete the closed cases their workflow's rule says are kept long enough,
    except those under a legal hold; each logged in the data-protection log. Exits 1 if a case
    failed (the others are done)."""
    with opened(home, now_text) as casework:
        done = casework.retention.run(casework.settings.clock(), dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(done.to_json()))
    else:
        click.echo(report(done))
        for case_id, error in done.failed.items():
            click.echo(f"case {case_id} failed: {error}", err=True)
    if done.failed:
        raise SystemExit(1)


def report(done: RetentionRun) -> str:
    """One line: what the run did, or (dry) would do."""
    would = "would " if done.dry_run else ""
    deleted, erased = ("delete", "erase") if done.dry_run else ("deleted", "erased")
    line = (f"retention{' (dry run)' if done.dry_run else ''}: {would}{deleted} "
            f"{len(done.deleted)} case(s){_ids(done.deleted)}, {would}{erased} "
            f"{len(done.erased)}{_ids(done.erased)}; {len(done.held)} under a legal hold"
            f"{_ids(done.held)}")
    if done.waiting:
        line += (f"; {len(done.waiting)} to erase, but this casework has no erasure"
                 f"{_ids(done.waiting)}")
    if done.failed:
        line += f"; {len(done.failed)} failed{_ids(list(done.failed))}"
    return line


def _ids(ids: list[int]) -> str:
    return f" ({', '.join(map(str, ids))})" if ids else ""
