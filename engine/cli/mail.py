"""`casework mail fetch` and `casework mail list`: complaints that arrive by email."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from engine.cli.support import common, fail, handles_errors, opened, out
from engine.jobs.mailbox import Fetched, Mailbox
from engine.kernel.history import iso
from engine.kernel.settings import Settings
from engine.wiring import Casework


@click.group()
def mail() -> None:
    """Mail in: read the CASEWORK_IMAP_* mailbox into complaints, and see what was read."""


def mailbox_of(casework: Casework) -> Mailbox:
    """The configured mailbox (exit status 2 when CASEWORK_IMAP_HOST is not set), the home's
    workflows loaded first, as `cases start` does: a mail may open a complaint."""
    if casework.settings.imap is None:
        fail("no mailbox is configured: set CASEWORK_IMAP_HOST (and _USER, _PASSWORD, "
             "_TLS ...; see docs/channels.md)", 2)
    casework.registry.deploy_home(casework.settings.home, casework.settings.clock())
    return Mailbox(casework.settings.imap, casework.intake, casework.settings.clock)


def summary(done: Fetched) -> str:
    """One line of what a fetch did."""
    counted = Counter(t.outcome.value for t in done.taken)
    parts = [f"{n} {outcome}" for outcome, n in sorted(counted.items())]
    return (f"took {len(done.taken)} mail(s)" + (f" ({', '.join(parts)})" if parts else "")
            + f", failed {len(done.failed)}")


@mail.command("fetch")
@common
@handles_errors
def mail_fetch(home: Path | None, now_text: str | None) -> None:
    """Take every mail in the folder into cases and move it to the processed folder (or the
    failed one). Exit status 1 when the server cannot be reached or a mail failed."""
    with opened(home, now_text) as casework:
        done = mailbox_of(casework).fetch()
    for taken in done.taken:
        where = f"case {taken.case_id}" if taken.case_id else "no case"
        why = f" ({taken.reason})" if taken.reason else ""
        click.echo(f"{taken.outcome.value}: {taken.message_id} from "
                   f"{taken.sender or 'nobody'} -> {where}{why}")
    for uid, error in done.failed:
        click.echo(f"failed: mail {uid} moved to the failed folder: {error}")
    click.echo(summary(done))
    if done.failed:
        fail(f"{len(done.failed)} mail(s) could not be taken; they are in the failed folder",
             1)


@mail.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the mails as JSON lines")
@common
@handles_errors
def mail_list(limit: int, as_json: bool, home: Path | None, now_text: str | None) -> None:
    """The mail taken from the mailbox, newest first: what became of each, and why."""
    with opened(home, now_text) as casework:
        records = casework.inbound.recent(limit)
    if as_json:
        for record in records:
            found = {**asdict(record), "received_at": iso(record.received_at),
                     "outcome": record.outcome.value}
            click.echo(json.dumps(found, ensure_ascii=False))
        return
    table = Table("received", "from", "subject", "outcome", "case", "why")
    for record in records:
        table.add_row(iso(record.received_at), record.sender, record.subject,
                      record.outcome.value, str(record.case_id or ""), record.reason or "")
    out.print(table)


def mail_every(settings: Settings, given: float | None) -> float | None:
    """How often the worker fetches mail: --mail-every, else CASEWORK_IMAP_EVERY when a
    mailbox is configured, else never."""
    if settings.imap is None:
        if given is not None:
            fail("--mail-every needs a mailbox: set CASEWORK_IMAP_HOST (see docs/channels.md)",
                 2)
        return None
    return given if given is not None else float(settings.imap.every)
