"""`casework audit ...`: verify the tamper-evident history, against a signed checkpoint too;
write checkpoints and the keys that sign them."""

from __future__ import annotations

import json
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.cases.verifying import Verification
from engine.cli.support import common, fail, handles_errors, opened, settings_of
from engine.kernel.checkpoints import (
    CheckpointRefused,
    file_digest,
    load_private_key,
    load_public_key,
    read_checkpoint,
    signed_checkpoint,
    write_key_pair,
)
from engine.kernel.history import iso
from engine.kernel.settings import Settings
from engine.wiring import open_casework


@click.group()
def audit() -> None:
    """Check the tamper-evident history; write signed checkpoints of it."""


@audit.command("verify")
@click.option("--against", type=click.Path(dir_okay=False, path_type=Path),
              help="A signed checkpoint: prove nothing it recorded was removed or rewritten")
@common
@handles_errors
def audit_verify(against: Path | None, home: Path | None, now_text: str | None) -> None:
    """Check every chain, every case row against its replayed history, the personal-data vault
    and the protection log (and, --against, a signed checkpoint); exit 1 naming each damage."""
    settings = settings_of(home, now_text)
    checkpoint = read_checkpoint(against, public_keys(settings)) if against else None
    with opened(home, now_text) as casework:
        found = casework.verify(checkpoint)
    for line in summary(found):
        click.echo(line)
    for damage in found.breaks:
        click.echo(f"BROKEN {damage}")
    checked = f"{found.cases} case and {found.customers} customer histories"
    if found.breaks:
        damaged = {(b.kind, b.subject) for b in found.breaks if b.kind in ("case", "customer")}
        others = sum(1 for b in found.breaks if b.kind not in ("case", "customer"))
        also = f"; {others} other damage(s) (vault, protection log, counts)" if others else ""
        fail(f"{len(damaged)} of {checked} are damaged{also}", 1)
    since = f", nothing removed or rewritten since {against}" if against else ""
    click.echo(f"ok: {checked} intact{since}")


def summary(found: Verification) -> list[str]:
    """What verify checked and what was erased or deleted on purpose."""
    lines = [f"chains: {found.cases} case, {found.customers} customer; events: "
             f"{found.case_events} case, {found.customer_events} customer; protection log: "
             f"{found.protection_entries} entries",
             f"erased values: {found.erased_values} in {len(found.erasures)} erasure(s)"]
    lines += [f"  erasure {e.seq or '-'}: {e}" for e in found.erasures]
    lines.append(f"deletions by retention: {len(found.deletions)}")
    lines += [f"  {d}" for d in found.deletions]
    if found.against is not None:
        lines.append(f"against the checkpoint of {iso(found.against.created_at)} "
                     f"({len(found.against.cases)} cases, {len(found.against.customers)} "
                     "customers)")
    return lines


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it [default: CASEWORK_CHECKPOINT_DIR/checkpoint-TIME.json]")
@click.option("--previous", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The checkpoint before it [default: the newest in CASEWORK_CHECKPOINT_DIR]")
@common
@handles_errors
def audit_checkpoint(out: Path | None, previous: Path | None, home: Path | None,
                     now_text: str | None) -> None:
    """Write a checkpoint signed with CASEWORK_CHECKPOINT_KEY: every chain head, the
    protection log's head and the counts. Keep it outside the database."""
    settings = settings_of(home, now_text)
    path = write_checkpoint(settings, out, previous)
    click.echo(f"checkpoint written to {path}")


def write_checkpoint(settings: Settings, out: Path | None = None,
                     previous: Path | None = None) -> Path:
    """Take, sign and write a checkpoint (the worker's --checkpoint-every calls it too)."""
    if settings.checkpoint_key is None:
        raise CheckpointRefused("no key to sign the checkpoint with: set CASEWORK_CHECKPOINT_KEY "
                                "to a private key file (`casework audit keygen DIR` writes one)")
    private = load_private_key(settings.checkpoint_key)
    folder = settings.checkpoint_dir
    if out is None and folder is None:
        raise CheckpointRefused("where to? give --out FILE, or set CASEWORK_CHECKPOINT_DIR")
    if previous is None and folder is not None and folder.is_dir():
        found = sorted(folder.glob("checkpoint-*.json"))
        previous = found[-1] if found else None
    casework = open_casework(settings)
    try:
        checkpoint = casework.checkpoint(file_digest(previous) if previous else None)
    finally:
        casework.close()
    if out is None:
        assert folder is not None
        folder.mkdir(parents=True, exist_ok=True)
        stamp = iso(checkpoint.created_at).replace(":", "").replace("-", "")
        out = folder / f"checkpoint-{stamp}.json"
    out.write_text(json.dumps(signed_checkpoint(checkpoint, private), indent=1) + "\n")
    return out


@audit.command("keygen")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def audit_keygen(folder: Path) -> None:
    """Write a new Ed25519 key pair into FOLDER: the private key (0600; point
    CASEWORK_CHECKPOINT_KEY at it) and its public key (add it to
    CASEWORK_CHECKPOINT_PUBLIC_KEYS, and keep the old ones there after a rotation)."""
    private, public = write_key_pair(folder)
    click.echo(f"private key: {private}\npublic key:  {public}")


def public_keys(settings: Settings) -> list[Ed25519PublicKey]:
    """The keys that verify: CASEWORK_CHECKPOINT_PUBLIC_KEYS, else the private key's own."""
    keys = [load_public_key(p) for p in settings.checkpoint_public_keys]
    if not keys and settings.checkpoint_key is not None:
        keys.append(load_private_key(settings.checkpoint_key).public_key())
    return keys
