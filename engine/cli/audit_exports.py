"""`casework audit export` and `casework audit verify-export`: the audit page's JSONL export
with its signed trailer, written to a file, and checked offline from the file alone."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from engine.cases.audit import AuditQuery
from engine.cases.audit_exports import export_lines
from engine.cli.audit import audit, public_keys
from engine.cli.support import common, fail, handles_errors, opened, settings_of
from engine.kernel.checkpoints import CheckpointRefused, load_private_key, load_public_key
from engine.kernel.signed_exports import check_export


def instant(text: str | None, option: str) -> datetime | None:
    """An ISO date (midnight UTC) or date and time (UTC unless it names a zone)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (2026-03-01) or a date and time "
                                 "(2026-03-01T09:00, UTC unless it names a zone like +01:00)",
                                 param_hint=option) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@audit.command("export")
@click.option("--case", "case_id", type=int, help="Only this case's events")
@click.option("--customer", help="The customer's own events and those of its cases")
@click.option("--actor", help="Only events by this user")
@click.option("--event", help="An event name, or a prefix ending in '.' or '*'")
@click.option("--since", metavar="ISO-8601", help="Events at or after this instant")
@click.option("--before", metavar="ISO-8601", help="Events strictly before this instant")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The JSONL file to write")
@common
@handles_errors
def audit_export(case_id: int | None, customer: str | None, actor: str | None,
                 event: str | None, since: str | None, before: str | None, out: Path,
                 home: Path | None, now_text: str | None) -> None:
    """Write every matching event (as the audit page's JSONL export) and a last line, the
    trailer: SHA-256, row count, filters, installation and the exported chains' heads, signed
    with CASEWORK_CHECKPOINT_KEY. `audit verify-export FILE` checks it offline."""
    settings = settings_of(home, now_text)
    if settings.checkpoint_key is None:
        raise CheckpointRefused("no key to sign the export with: set CASEWORK_CHECKPOINT_KEY to "
                                "a private key file (`casework audit keygen DIR` writes one)")
    private = load_private_key(settings.checkpoint_key)
    query = AuditQuery(case_id=case_id, customer=customer, actor=actor, event=event,
                       since=instant(since, "--since"), before=instant(before, "--before"))
    partial = out.with_name(out.name + ".part")  # never a plausible file from a failed run
    with opened(home, now_text) as casework, partial.open("wb") as written:
        for chunk in export_lines(casework.audit, query, casework.checkpoint,
                                  casework.personal_data.values, private):
            written.write(chunk)
    os.replace(partial, out)
    click.echo(f"export written to {out}")


@audit.command("verify-export")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--public-key", "keys", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A public key file that may have signed it (repeatable) "
                   "[default: CASEWORK_CHECKPOINT_PUBLIC_KEYS]")
@common
@handles_errors
def audit_verify_export(file: Path, keys: tuple[Path, ...], home: Path | None,
                        now_text: str | None) -> None:
    """Check an export from the file alone (no database): its signature, SHA-256 and row count,
    and every chain in it; exit 1 naming each row removed, edited or reordered."""
    given = [load_public_key(k) for k in keys] if keys else \
        public_keys(settings_of(home, now_text))
    found = check_export(file.read_bytes(), given)
    click.echo(f"{file}: {found.rows} events in {found.chains} histories, exported "
               f"{found.created_at or '(unknown)'} by installation "
               f"{found.installation or '(unknown)'}")
    for finding in found.findings:
        click.echo(f"BROKEN {finding}")
    if found.findings:
        fail(f"{file}: {len(found.findings)} problem(s); the export cannot be trusted", 1)
    click.echo(f"ok: signed with key {found.key}; every row and chain as exported "
               "(personal values are shown as they were, not checked: their salts stay in "
               "the vault)")
