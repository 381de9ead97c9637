"""`casework customers export|erase`: a customer's right of access and right to erasure
(docs/data-protection.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.cli.customers import customers
from engine.cli.support import common, fail, handles_errors, opened
from engine.kernel.roles import Permission
from engine.wiring import Casework


def _eraser(casework: Casework, actor: str | None, as_operator: bool) -> str:
    """Who erases: a user who may (managers, admins), or the operator."""
    if as_operator:
        if actor is not None:
            fail(f"--as-operator acts as 'operator'; leave out --actor {actor}", 2)
        return "operator"
    if actor is None:
        fail("say who erases: --actor NAME (a manager or admin), or --as-operator", 2)
    user = casework.accounts.user(actor)
    if user is None or not user.active:
        fail(f"there is no active user '{actor}'; name a manager or admin (casework users "
             "list), or act as the operator (--as-operator)", 2)
    if not user.may(Permission.PROTECT_DATA):
        fail(f"user '{actor}' may not erase personal data (managers and admins may)", 2)
    return actor


@customers.command("export")
@click.argument("customer_id", metavar="ID")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON to this file (default: standard output)")
@common
@handles_errors
def customers_export(customer_id: str, out: Path | None, home: Path | None,
                     now_text: str | None) -> None:
    """Everything held about customer ID as JSON: record, figures, purchases, history, cases
    with their fields, histories, conversations (files included) and mails."""
    with opened(home, now_text) as casework:
        data = casework.personal_data.export_customer(customer_id, casework.settings.clock())
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out is None:
        click.echo(text)
        return
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text + "\n", encoding="utf-8")
    partial.replace(out)
    click.echo(f"wrote everything held about {customer_id} to {out} "
               f"({len(data['cases'])} case(s))")


@customers.command("erase")
@click.argument("customer_id", metavar="ID")
@click.option("--reason", required=True, help="Why, e.g. the customer's request and its date")
@click.option("--actor", help="Who erases: a manager or admin (casework users list)")
@click.option("--as-operator", is_flag=True, help="Erase on the operator's own authority")
@common
@handles_errors
def customers_erase(customer_id: str, reason: str, actor: str | None, as_operator: bool,
                    home: Path | None, now_text: str | None) -> None:
    """Erase every personal value of customer ID and of its cases; the history keeps its
    markers, says who erased them, when and why, and still verifies."""
    with opened(home, now_text) as casework:
        who = _eraser(casework, actor, as_operator)
        done = casework.personal_data.erase_customer(customer_id, who, reason,
                                                     casework.settings.clock())
    click.echo(f"erased customer {customer_id}: {done.values} personal value(s), "
               f"{len(done.cases)} case(s), {done.entries} conversation entr(ies), "
               f"{done.files} file(s), {done.mails} mail(s); protection log entry {done.seq}")
