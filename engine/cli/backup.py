"""`casework backup FILE` and `casework restore FILE`: a consistent online snapshot of the
database, and putting one back (checked against its manifest, every chain verified)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from engine.cli.support import F, common, fail, handles_errors, settings_of
from engine.kernel.errors import BackupRefused
from engine.wiring import backups_of, restore_backup


def refusals(func: F) -> F:
    """A refused backup or restore exits 2, as other refusals do (nothing was changed)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BackupRefused as exc:
            fail(str(exc), 2)

    return wrapper  # type: ignore[return-value]


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@common
@handles_errors
@refusals
def backup(file: Path, home: Path | None, now_text: str | None) -> None:
    """Write a consistent snapshot of the database to FILE (a zip with a manifest.json), while
    casework serves and the worker runs. FILE must not exist yet."""
    settings = settings_of(home, now_text)
    with backups_of(settings) as backups:
        manifest = backups.take(file, settings.clock())
    click.echo(f"backed up {manifest.summary()} to {file} "
               f"({manifest.data_bytes} bytes of data, SHA-256 {manifest.data_sha256[:16]}...)")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Overwrite the database even if it holds data (else it must be empty)")
@common
@handles_errors
@refusals
def restore(file: Path, replace: bool, home: Path | None, now_text: str | None) -> None:
    """Restore the backup FILE into the database (CASEWORK_DATABASE_URL), which must be empty
    unless --replace is given; then compare it with the manifest and verify every chain."""
    restored, (cases, customers, breaks) = restore_backup(settings_of(home, now_text), file,
                                                          replace)
    manifest = restored.manifest
    click.echo(f"restored {manifest.summary()} from {file} (taken {manifest.created_at} by "
               f"casework {manifest.casework_version}); counts and chain heads match its "
               "manifest")
    if restored.upgraded_from is not None:
        click.echo(f"upgraded the schema from revision {restored.upgraded_from}")
    for found in breaks:
        click.echo(f"BROKEN {found}")
    checked = f"{cases} case and {customers} customer histories"
    if breaks:
        fail(f"{len(breaks)} of {checked} are damaged", 1)
    click.echo(f"ok: {checked} intact")

