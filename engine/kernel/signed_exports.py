"""Signed audit exports: the format of their trailer, and the offline check of a whole file.

An export is JSON Lines: one line per event, as stored (`payload` is the text the chain hashes),
with a `personal` map (ref -> value, or {"erased": {at, by, reason}}) when the payload holds
personal markers; then one last line, the trailer:

    {"trailer": {"format", "created_at", "installation", "filters", "rows", "sha256",
                 "checkpoint"}, "key": KEY_ID, "signature": BASE64}

`sha256` is over every byte before the trailer line, `rows` counts those lines, `checkpoint` is
the heads (seq, hash) at export time of exactly the chains the file holds (a checkpoint's JSON,
see engine.kernel.checkpoints). The signature is over the trailer's canonical JSON, so it covers
the whole file. Without a key the trailer is still written, with `"key": null, "signature":
null` and `why`: the file still checks itself, but proves nothing about who made it.

The trailer is the last line because only then are the digest and count known: a page streams
the export without holding it, and every line before it is still one event for line tools.

Checking reads only the file (and public keys): the signature, the digest and count, then
every chain again, each event's hash and link and, for chains exported whole (no filter but
case or customer), that they start at the first event and end at the head the trailer records.
Personal values are not checked against their refs: the salts stay in the vault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.kernel.checkpoints import Checkpoint, CheckpointRefused, Head, check_signature
from engine.kernel.history import GENESIS, CustomerEvent, Event, verify
from engine.kernel.personal import refs_in

FORMAT = "casework-audit-export/1"
# Filters that leave chains whole: every event of each exported history is in the file.
WHOLE_FILTERS = frozenset({"case", "customer"})


def trailer_line(trailer: Mapping[str, Any], signed: Mapping[str, Any] | None,
                 why: str | None = None) -> bytes:
    """The last line: the trailer with its key and signature (engine.kernel.checkpoints
    sign()), or with none and why."""
    if signed is not None:
        return orjson.dumps({"trailer": dict(trailer), **signed}) + b"\n"
    return orjson.dumps({"trailer": dict(trailer), "key": None, "signature": None,
                         "why": why}) + b"\n"


def trailer_of(checkpoint: Checkpoint, filters: Mapping[str, Any], rows: int,
               sha256: str) -> dict[str, Any]:
    return {"format": FORMAT, "created_at": checkpoint.to_json()["created_at"],
            "installation": checkpoint.installation, "filters": dict(filters), "rows": rows,
            "sha256": sha256, "checkpoint": checkpoint.to_json()}


@dataclass
class ExportCheck:
    """What checking an export found: every finding (empty: the file holds)."""

    rows: int = 0
    chains: int = 0
    key: str | None = None
    signed: bool = False
    installation: str | None = None
    created_at: str | None = None
    findings: list[str] = field(default_factory=list)


@dataclass
class _Chain:
    kind: str
    subject: int | str
    events: list[tuple[int, Event | CustomerEvent]] = field(default_factory=list)  # (line, e)


def check_export(data: bytes, keys: Iterable[Ed25519PublicKey]) -> ExportCheck:
    """Check a whole export file's bytes: trailer, signature, digest, count and chains."""
    found = ExportCheck()
    body, last = _split(data)
    trailer = _trailer(last, len(body), found)
    if trailer is not None:
        _check_trailer(trailer, body, keys, found)
    chains = _chains(body, found)
    found.rows, found.chains = len(body), len(chains)
    heads = _heads(trailer.get("trailer", {}).get("checkpoint"), found) if trailer else None
    filters = (trailer["trailer"].get("filters") or {}) if trailer else {}
    whole = set(filters) <= WHOLE_FILTERS
    for chain in chains.values():
        _check_chain(chain, heads, whole, found)
    if heads is not None:
        for kind, subject in sorted(set(heads) - set(chains), key=str):
            found.findings.append(f"{kind} {subject} is in the trailer's checkpoint but none "
                                  "of its events is in the file (they were removed)")
    return found


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """The row lines (with their newline) and the last line."""
    lines = data.splitlines(keepends=True)
    if not lines:
        return [], b""
    return lines[:-1], lines[-1]


def _trailer(last: bytes, line: int, found: ExportCheck) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(last)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("trailer"), dict) \
            or not last.endswith(b"\n"):
        found.findings.append(f"line {line + 1}, the last, is not the export's trailer: the "
                              "file was truncated or is not a casework audit export "
                              "(`casework audit export` writes one)")
        return None
    return parsed


def _check_trailer(parsed: dict[str, Any], body: list[bytes], keys: Iterable[Ed25519PublicKey],
                   found: ExportCheck) -> None:
    trailer: dict[str, Any] = parsed["trailer"]
    found.installation, found.created_at = trailer.get("installation"), trailer.get("created_at")
    if trailer.get("format") != FORMAT:
        found.findings.append(f"the trailer is of format {trailer.get('format')!r}; this "
                              f"casework reads {FORMAT}")
    if parsed.get("signature") is None:
        why = parsed.get("why") or "no reason given"
        found.findings.append(f"the export is not signed ({why}): it checks itself but proves "
                              "nothing about who made it")
    else:
        found.key = str(parsed.get("key"))
        try:
            check_signature(trailer, found.key, str(parsed["signature"]), keys, "export")
            found.signed = True
        except CheckpointRefused as exc:
            found.findings.append(str(exc))
    digest = hashlib.sha256(b"".join(body)).hexdigest()
    if digest != trailer.get("sha256"):
        found.findings.append(f"the rows' SHA-256 is {digest}, not the {trailer.get('sha256')} "
                              "the trailer records: rows were edited, removed, added or "
                              "reordered after the export")
    if len(body) != trailer.get("rows"):
        found.findings.append(f"the file holds {len(body)} rows, not the {trailer.get('rows')} "
                              "the trailer records: rows were removed or added")


def _heads(content: Any, found: ExportCheck) -> dict[tuple[str, int | str], Head] | None:
    try:
        checkpoint = Checkpoint.from_json(content)
    except CheckpointRefused as exc:
        found.findings.append(f"the trailer's checkpoint: {exc}")
        return None
    heads: dict[tuple[str, int | str], Head] = {
        ("case", int(k)): h for k, h in checkpoint.cases.items()}
    heads.update({("customer", k): h for k, h in checkpoint.customers.items()})
    return heads


def _chains(body: list[bytes], found: ExportCheck) -> dict[tuple[str, int | str], _Chain]:
    """The rows by history, in file order; a history that comes back after another's rows was
    reordered."""
    chains: dict[tuple[str, int | str], _Chain] = {}
    current: tuple[str, int | str] | None = None
    for number, text in enumerate(body, 1):
        try:
            event = _event(orjson.loads(text))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            found.findings.append(f"line {number} is not an exported event ({exc}): it was "
                                  "edited")
            continue
        kind = "case" if isinstance(event, Event) else "customer"
        subject = event.case_id if isinstance(event, Event) else event.customer_id
        key = (kind, subject)
        if key != current and key in chains:
            found.findings.append(f"line {number}: {kind} {subject}'s events are not together: "
                                  "rows were reordered")
        current = key
        chains.setdefault(key, _Chain(kind, subject)).events.append((number, event))
    return chains


def _event(row: Any) -> Event | CustomerEvent:
    """An exported row as the event it was (its personal map checked against its payload)."""
    if not isinstance(row, dict) or not isinstance(row["payload"], str):
        raise TypeError("no payload text")
    extra = set(row.get("personal") or {}) - set(refs_in(orjson.loads(row["payload"])))
    if extra:
        raise ValueError(f"its personal map names {sorted(extra)[0]}, not in its payload")
    at = datetime.fromisoformat(row["at"])
    if row["kind"] == "case":
        return Event(int(row["case_id"]), int(row["seq"]), row["name"], row["actor"],
                     row["role"], at, row["from_state"], row["to_state"], row["payload"],
                     row["prev_hash"], row["hash"])
    if row["kind"] == "customer":
        return CustomerEvent(str(row["customer_id"]), int(row["seq"]), row["name"],
                             row["actor"], row["role"], at, row["payload"], row["prev_hash"],
                             row["hash"])
    raise ValueError(f"kind {row['kind']!r}")


def _check_chain(chain: _Chain, heads: Mapping[tuple[str, int | str], Head] | None,
                 whole: bool, found: ExportCheck) -> None:
    head = heads.get((chain.kind, chain.subject)) if heads is not None else None
    if heads is not None and head is None:
        found.findings.append(f"{chain.kind} {chain.subject} is not in the trailer's "
                              "checkpoint: its rows were added after the export")
    lines = {event.seq: number for number, event in chain.events}
    if whole and head is not None:
        found.findings += _reordered(chain)
        broken = verify(chain.subject, (e for _, e in chain.events), head.seq, head.hash,
                        chain.kind)
        if broken is not None:
            at = lines.get(broken.seq)
            found.findings.append(f"line {at}: {broken}" if at else str(broken))
        return
    for problem in _partial(chain, head):
        found.findings.append(problem)


def _reordered(chain: _Chain) -> list[str]:
    """The first event that comes after a later one (verify alone would call it missing)."""
    for (_, before), (number, event) in zip(chain.events, chain.events[1:], strict=False):
        if event.seq <= before.seq:
            return [f"line {number}: {chain.kind} {chain.subject} event {event.seq} comes after "
                    f"event {before.seq}: rows were reordered or duplicated"]
    return []


def _partial(chain: _Chain, head: Head | None) -> Iterator[str]:
    """A filtered chain: each event's hash, each link between neighbours, none past the head
    and the head's own hash."""
    where = f"{chain.kind} {chain.subject}"
    before: Event | CustomerEvent | None = None
    for number, event in chain.events:
        at = f"line {number}: {where} event {event.seq}"
        if before is not None and event.seq <= before.seq:
            yield f"{at} comes after event {before.seq}: rows were reordered or duplicated"
        elif event.seq == (before.seq + 1 if before else 1) and \
                event.prev_hash != (before.hash if before else GENESIS):
            yield f"{at} does not link to the event before it"
        if event.digest_as(chain.subject) != event.hash:
            yield f"{at}: '{event.name}' was altered (its content no longer matches its hash)"
        if head is not None and (event.seq > head.seq or
                                 (event.seq == head.seq and event.hash != head.hash)):
            yield f"{at} is not the history the trailer's checkpoint records"
        before = event
