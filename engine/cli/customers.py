"""`casework customers ...`: bringing customer records and purchases in."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn

from engine.cli.support import common, handles_errors, opened
from engine.customers.analytics import fit_bg_nbd, fit_gamma_gamma
from engine.customers.files import FORMATS, DataError, occasions, read_file
from engine.customers.rfm import summarize
from engine.kernel.errors import InvalidInput


@click.group()
def customers() -> None:
    """Customer records and their purchases."""


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="cdnow (whitespace columns) or csv (with a header); default: by the suffix")
@click.option("--skip-bad", is_flag=True,
              help="Import the good rows and list the bad ones, instead of importing nothing")
@common
@handles_errors
def customers_import(file: Path, fmt: str | None, skip_bad: bool, home: Path | None,
                     now_text: str | None) -> None:
    """Import customers and purchases from FILE: all rows or, with a bad one, none. Purchases
    already stored (by an earlier version of the file) are counted, not stored again."""
    fmt = fmt or ("csv" if file.suffix.lower() == ".csv" else "cdnow")
    with opened(home, now_text) as casework, Progress(
        TextColumn("importing"), BarColumn(), TextColumn("{task.completed:,} rows"),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None)
        result = casework.customers.import_file(
            file, fmt, casework.settings.clock(), skip_bad,
            lambda done: bar.update(task, completed=done))
    if result.already is not None:
        click.echo(f"{file} was imported on {result.already:%Y-%m-%d %H:%M}; nothing added")
        return
    for problem in result.skipped:
        click.echo(f"skipped {problem}", err=True)
    click.echo(f"imported {result.purchases} purchase(s) of {result.seen} "
               f"customer(s) ({result.customers} new) from {file}; "
               f"{result.present} already present; {len(result.skipped)} bad row(s) skipped")


@customers.command("add")
@click.argument("customer_id", metavar="ID")
@click.option("--name", help="Name of the person or company")
@click.option("--type", "kind", type=click.Choice(["personal", "enterprise"]),
              default="personal", show_default=True)
@click.option("--status", type=click.Choice(["potential", "active", "dormant", "lost"]),
              default="active", show_default=True)
@click.option("--email")
@click.option("--phone")
@click.option("--industry")
@click.option("--region")
@click.option("--owner", help="The account manager (a user name)")
@common
@handles_errors
def customers_add(customer_id: str, name: str | None, kind: str, status: str,
                  email: str | None, phone: str | None, industry: str | None,
                  region: str | None, owner: str | None, home: Path | None,
                  now_text: str | None) -> None:
    """Create one customer record (a new caller, a new account)."""
    attributes = {k: v for k, v in (("name", name), ("email", email), ("phone", phone),
                                    ("industry", industry), ("region", region),
                                    ("owner", owner)) if v}
    with opened(home, now_text) as casework:
        if owner and casework.store.user_roles(owner) is None:
            raise InvalidInput("--owner", f"there is no user '{owner}' (casework users add)")
        added = casework.customers.add(customer_id, casework.settings.clock(), type=kind,
                                       status=status, **attributes)
    if not added:
        raise InvalidInput("ID", f"customer '{customer_id}' exists already; nothing changed")
    click.echo(f"customer {customer_id} added")


@click.group()
def clv() -> None:
    """Customer lifetime value: the BG/NBD and Gamma-Gamma models."""


@clv.command("fit")
@click.option("--transactions", "file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Purchase file to fit on")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="cdnow", show_default=True)
@click.option("--calibration-end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day of the calibration period (YYYY-MM-DD)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@common
@handles_errors
def clv_fit(file: Path, fmt: str, calibration_end: datetime, as_json: bool,
            home: Path | None, now_text: str | None) -> None:
    """Fit BG/NBD (who is alive, how often they buy) and Gamma-Gamma (how much they spend)."""
    reading = read_file(file, fmt)
    if reading.problems:
        raise DataError(reading.problems)
    summary = summarize(occasions(reading.purchases), calibration_end.date())
    bg = fit_bg_nbd(summary.frequency, summary.recency, summary.age)
    spenders = summary.monetary > 0  # a repeat buyer whose repeat purchases cost nothing
    gg = fit_gamma_gamma(summary.frequency[spenders], summary.monetary[spenders])
    result = {
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b,
                  "log_likelihood": bg.log_likelihood},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma, "customers": gg.customers,
                        "left_out": int((summary.frequency >= 1).sum()) - gg.customers},
        "customers": len(summary.customer_ids),
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{result['customers']} customers, calibration to {calibration_end:%Y-%m-%d}")
    click.echo(f"BG/NBD       r={bg.r:.3f} alpha={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f} "
               f"log-likelihood={bg.log_likelihood:.1f}")
    click.echo(f"Gamma-Gamma  p={gg.p:.2f} q={gg.q:.2f} gamma={gg.gamma:.2f} "
               f"({gg.customers} repeat buyers)")
