"""`casework tiers ...` and `casework customers show`: tiers, churn warnings, records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from engine.cli.customers import customers
from engine.cli.support import common, handles_errors, opened, out
from engine.jobs.tiering import Recomputed
from engine.kernel.history import iso


@click.group()
def tiers() -> None:
    """Customer tiers and churn warnings from the customer figures."""


@tiers.command("recompute")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]),
              help="Compute the figures as of this day (YYYY-MM-DD) [default: today]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def tiers_recompute(as_of: datetime | None, as_json: bool, home: Path | None,
                    now_text: str | None) -> None:
    """Refresh every customer's figures, run customer_tier and churn_risk, record each change
    in the customer's history and start the cases that workflows ask for."""
    with opened(home, now_text) as casework:
        now = casework.settings.clock()
        casework.registry.deploy_home(casework.settings.home, now)  # their `starts:` apply
        day = as_of.date() if as_of else now.date()
        with Progress(TextColumn("recomputing customers"), BarColumn(), MofNCompleteColumn(),
                      transient=True, disable=as_json) as bar:
            task = bar.add_task("recompute", total=None)
            done = casework.tiering.recompute(
                day, now, lambda n, total: bar.update(task, completed=n, total=total))
    report = _report(done)
    if as_json:
        click.echo(json.dumps(report))
        return
    churn = (f"{done.churn_table[0]} v{done.churn_table[1]}" if done.churn_table
             else "no churn_risk table published: no churn warnings")
    click.echo(f"{done.customers} customers ({done.buyers} with purchases) as of {day}; "
               f"{done.tier_table[0]} v{done.tier_table[1]}; {churn}")
    click.echo("tiers: " + ", ".join(f"{k}={v}" for k, v in report["tiers"].items()))
    click.echo(f"{done.tier_changes} tier change(s), {done.risk_changes} churn risk change(s)")
    click.echo("cases started: " + (", ".join(f"{k}={v}" for k, v in sorted(done.started.items()))
                                    or "none"))


def _report(done: Recomputed) -> dict[str, Any]:
    models = done.models
    return {
        "as_of": done.as_of.isoformat(), "customers": done.customers, "buyers": done.buyers,
        "tiers": {str(k): v for k, v in sorted(done.tiers.items(), key=str)},
        "tier_changes": done.tier_changes, "churn_risk_changes": done.risk_changes,
        "cases_started": dict(sorted(done.started.items())),
        "tier_table": {"name": done.tier_table[0], "version": done.tier_table[1]},
        "churn_table": ({"name": done.churn_table[0], "version": done.churn_table[1]}
                        if done.churn_table else None),
        "bgnbd": None if models is None else {
            "r": models.purchases.r, "alpha": models.purchases.alpha, "a": models.purchases.a,
            "b": models.purchases.b},
        "gamma_gamma": None if models is None else {
            "p": models.spend.p, "q": models.spend.q, "gamma": models.spend.gamma},
        "seconds": {k: round(v, 3) for k, v in done.seconds.items()},
        "batches": done.batches, "batches_helped": done.helped,
        "batches_cases_drafted": done.drafted,
    }


@customers.command("show")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def customers_show(customer_id: str, as_json: bool, home: Path | None,
                   now_text: str | None) -> None:
    """A customer's record, latest figures, and history (tier changes and the rules behind)."""
    with opened(home, now_text) as casework:
        plain = casework.customers.customer(customer_id).to_json()
        history = casework.customers.history(customer_id)
    if as_json:
        click.echo(json.dumps({"customer": plain, "history": [e.to_json() for e in history]},
                              ensure_ascii=False))
        return
    table = Table(title=f"customer {customer_id}", show_header=False)
    for name, value in plain.items():
        if value is not None and name not in ("history_head",):
            table.add_row(name, str(value))
    out.print(table)
    for event in history:
        payload = json.loads(event.payload)
        why = f" by {payload['table']} v{payload['version']} row {', '.join(payload['matched'])}" \
            if "matched" in payload else ""
        change = (f"{payload.get('old')} -> {payload.get('new')}" if "new" in payload
                  else f"{payload.get('workflow')} case {payload.get('case')}")
        click.echo(f"{event.seq:>3} {iso(event.at)} {event.name}: {change}{why}")
