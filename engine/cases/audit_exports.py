"""The audit export as JSON Lines with its trailer (engine.kernel.signed_exports): what both the
audit page's download and `casework audit export` write, row for row.

The chains' heads are taken first, and the export holds each history only up to its head then:
an event written while a long export runs is left out, so that the file is the history at
one moment and its trailer's checkpoint is exactly what it holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.cases.audit import Audit, AuditQuery, AuditRow
from engine.kernel.checkpoints import Checkpoint, Head, sign
from engine.kernel.history import iso
from engine.kernel.personal import MARK, refs_in, refs_in_texts, shown_values
from engine.kernel.signed_exports import trailer_line, trailer_of

UNSIGNED = ("no CASEWORK_CHECKPOINT_KEY is set; `casework audit keygen DIR` writes a key pair, "
            "then point CASEWORK_CHECKPOINT_KEY at its private key")


def filters_of(query: AuditQuery) -> dict[str, Any]:
    """The filters an export was made with, as its trailer records them (set ones only)."""
    chosen = {"case": query.case_id, "customer": query.customer, "actor": query.actor,
              "event": query.event, "since": iso(query.since) if query.since else None,
              "before": iso(query.before) if query.before else None}
    return {name: value for name, value in chosen.items() if value is not None}


def row_json(row: AuditRow, personal: Mapping[str, Any]) -> dict[str, Any]:
    """One exported event as stored; `personal` (ref -> shown value) when it holds markers."""
    if row.kind == "case":
        data: dict[str, Any] = {
            "kind": "case", "case_id": row.subject, "seq": row.seq, "name": row.name,
            "actor": row.actor, "role": row.role, "at": iso(row.at),
            "from_state": row.from_state, "to_state": row.to_state}
    else:
        data = {"kind": "customer", "customer_id": row.subject, "seq": row.seq,
                "name": row.name, "actor": row.actor, "role": row.role, "at": iso(row.at)}
    data.update(payload=row.payload, prev_hash=row.prev_hash, hash=row.hash)
    if personal:
        data["personal"] = dict(personal)
    return data


def export_lines(audit: Audit, query: AuditQuery, heads: Callable[[], Checkpoint],
                 values: Callable[[Collection[str]], Mapping[str, Any]],
                 private: Ed25519PrivateKey | None, why: str = UNSIGNED) -> Iterator[bytes]:
    """The export's rows, a chunk per batch, then its trailer line: signed with `private`, or
    unsigned saying `why`. `heads` takes the checkpoint of every history (when the first chunk
    is asked for, so that a page's handler does not wait for it); `values` reveals personal
    refs (the vault's)."""
    checkpoint = heads()
    digest, rows = hashlib.sha256(), 0
    exported: dict[tuple[str, str], Head] = {}
    for batch in audit.export(query):
        kept = [r for r in batch if _within(r, checkpoint, exported)]
        shown = shown_values(values(refs_in_texts(r.payload for r in kept if r.payload)))
        chunk = b"".join(orjson.dumps(row_json(r, _personal(r, shown))) + b"\n" for r in kept)
        digest.update(chunk)
        rows += len(kept)
        if chunk:
            yield chunk
    held = replace(checkpoint,
                   cases={s: h for (k, s), h in exported.items() if k == "case"},
                   customers={s: h for (k, s), h in exported.items() if k == "customer"})
    trailer = trailer_of(held, filters_of(query), rows, digest.hexdigest())
    yield trailer_line(trailer, sign(trailer, private) if private is not None else None, why)


def _within(row: AuditRow, checkpoint: Checkpoint,
            exported: dict[tuple[str, str], Head]) -> bool:
    """Whether the row was in its history when the heads were taken (remembering its head)."""
    heads = checkpoint.cases if row.kind == "case" else checkpoint.customers
    head = heads.get(str(row.subject))
    if head is None or row.seq > head.seq:
        return False
    exported[(row.kind, str(row.subject))] = head
    return True


def _personal(row: AuditRow, shown: Mapping[str, Any]) -> dict[str, Any]:
    if not shown or MARK not in row.payload:
        return {}
    return {ref: shown[ref] for ref in refs_in(orjson.loads(row.payload)) if ref in shown}
