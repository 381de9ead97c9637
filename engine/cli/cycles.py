"""`casework cycles start` and `casework reviews start`: the cases opened on a schedule."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from engine.cli.support import common, handles_errors, opened
from engine.jobs.opening import MANAGED_TIERS, Opened


@click.group()
def cycles() -> None:
    """The annual customer management cycle (set goals, analyze, strategize, execute,
    evaluate)."""


@cycles.command("start")
@click.option("--year", type=int, required=True, help="The year whose cycles to open")
@click.option("--tier", "tiers", multiple=True, default=MANAGED_TIERS, show_default=True,
              help="Open cycles for customers in this tier (repeat for more)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def cycles_start(year: int, tiers: tuple[str, ...], as_json: bool, home: Path | None,
                 now_text: str | None) -> None:
    """Open YEAR's annual_cycle case for every strategic and key customer that has none for
    YEAR yet (running it again opens nothing twice)."""
    with opened(home, now_text) as casework:
        now = casework.settings.clock()
        casework.registry.deploy_home(casework.settings.home, now)
        done = casework.opening.cycles(year, now, tiers)
    _report(done, as_json, f"{year} cycles")


@click.group()
def reviews() -> None:
    """Periodic reviews of customer records."""


@reviews.command("start")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]),
              help="Review records stale on this day (YYYY-MM-DD) [default: today]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def reviews_start(as_of: datetime | None, as_json: bool, home: Path | None,
                  now_text: str | None) -> None:
    """Open a record_review case for every customer whose record has gone unreviewed longer
    than the record_review table allows its tier (never two open for one customer)."""
    with opened(home, now_text) as casework:
        now = casework.settings.clock()
        casework.registry.deploy_home(casework.settings.home, now)
        done = casework.opening.reviews(as_of.date() if as_of else now.date(), now)
    _report(done, as_json, "record reviews")


def _report(done: Opened, as_json: bool, what: str) -> None:
    if as_json:
        click.echo(json.dumps({"workflow": done.workflow, "started": done.started,
                               "skipped": done.skipped}))
        return
    click.echo(f"{what}: {len(done.started)} case(s) of {done.workflow} opened, "
               f"{len(done.skipped)} customer(s) passed over")
    for customer, case_id in list(done.started.items())[:20]:
        click.echo(f"  #{case_id}  {customer}")
    if len(done.started) > 20:
        click.echo(f"  ... and {len(done.started) - 20} more")
