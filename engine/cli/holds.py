"""`casework holds ...`: legal holds, which keep a customer's cases or one case from retention."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from engine.cases.holds import Hold
from engine.cli.support import common, handles_errors, opened, out
from engine.cli.users import acting, actor_options
from engine.kernel.history import iso


@click.group()
def holds() -> None:
    """Legal holds: while one is placed, retention neither erases nor deletes what it holds."""


@holds.command("place")
@click.option("--customer", "customer_id", metavar="ID", help="Hold every case of this customer")
@click.option("--case", "case_id", type=int, metavar="N", help="Hold this case")
@click.option("--reason", required=True, help="Why (a letter, a claim, a court order)")
@actor_options
@common
@handles_errors
def holds_place(customer_id: str | None, case_id: int | None, reason: str, actor: str | None,
                role: str, as_operator: bool, home: Path | None, now_text: str | None) -> None:
    """Place a legal hold on a customer or a case (managers and admins)."""
    with opened(home, now_text) as casework:
        who = acting(casework, actor, role, as_operator)
        hold = casework.holds.place(who, customer_id, case_id, reason, casework.settings.clock())
    click.echo(f"hold {hold.id} placed on {hold.subject}")


@holds.command("release")
@click.argument("hold_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why it may be lifted")
@actor_options
@common
@handles_errors
def holds_release(hold_id: int, reason: str, actor: str | None, role: str, as_operator: bool,
                  home: Path | None, now_text: str | None) -> None:
    """Release hold ID (managers and admins); retention may then apply to what it held."""
    with opened(home, now_text) as casework:
        who = acting(casework, actor, role, as_operator)
        hold = casework.holds.release(who, hold_id, reason, casework.settings.clock())
    click.echo(f"hold {hold.id} on {hold.subject} released")


@holds.command("list")
@click.option("--all", "everything", is_flag=True, help="Released holds too")
@click.option("--json", "as_json", is_flag=True, help="Print the holds as JSON lines")
@common
@handles_errors
def holds_list(everything: bool, as_json: bool, home: Path | None,
               now_text: str | None) -> None:
    """The holds in place (with --all, released ones too), oldest first."""
    with opened(home, now_text) as casework:
        found = casework.holds.listing(active_only=not everything)
    if as_json:
        for hold in found:
            click.echo(json.dumps(hold.to_json(), ensure_ascii=False))
        return
    table = Table("id", "holds", "since", "by", "reason", "released")
    for hold in found:
        table.add_row(str(hold.id), hold.subject, iso(hold.placed_at), hold.placed_by,
                      hold.reason, _released(hold))
    out.print(table)


def _released(hold: Hold) -> str:
    if hold.released_at is None:
        return ""
    return f"{iso(hold.released_at)} by {hold.released_by}: {hold.release_reason}"
