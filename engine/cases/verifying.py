"""`audit verify`: everything that makes the history tamper-evident, checked in one pass.

- every case's and customer's chain (engine.kernel.history.verify);
- every case row against its replayed history (engine.cases.replay);
- every personal-value reference in a payload has its vault row, every vault row that still
  holds a value holds the one its reference was made from; erased rows are reported, not as
  damage, with when, by whom and why;
- the data-protection log's own chain;
- optionally, against a signed checkpoint: every chain it recorded still holds the event it
  recorded at its seq (so nothing of that prefix was removed or rewritten), no counted table
  shrank, and a case that is gone was deleted by retention (a `case.deleted` entry).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.cases.replay import CaseRow, SpecOf, VaultRow, disagreements, replay
from engine.kernel.checkpoints import COUNTS, Checkpoint, CheckpointRefused, Head
from engine.kernel.history import Break, CustomerEvent, Event, iso, verify
from engine.kernel.personal import refs_in
from engine.kernel.protection import Act, ProtectionEntry, check_entries


class AuditSource(Protocol):
    """What verify reads from the store, each a consistent read of its own."""

    def installation(self) -> str: ...
    def case_histories(self) -> Iterator[tuple[CaseRow, list[Event]]]: ...
    def customer_chains(self) -> Iterator[tuple[str, int, str, list[CustomerEvent]]]: ...
    def vault(self) -> dict[str, VaultRow]: ...
    def protection_entries(self) -> list[ProtectionEntry]: ...
    def counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Erasure:
    """One erasure and how many vault values it erased."""

    seq: int | None  # its protection-log entry
    at: datetime | None
    by: str | None
    reason: str
    values: int

    def __str__(self) -> str:
        when = iso(self.at) if self.at else "an unknown time"
        return f"{self.values} value(s) erased at {when} by {self.by or 'unknown'}: {self.reason}"


@dataclass(frozen=True)
class Deletion:
    """A case deleted by retention, as the protection log records it."""

    case: str
    at: datetime
    by: str
    reason: str
    history_seq: int

    def __str__(self) -> str:
        return (f"case {self.case} ({self.history_seq} events) deleted at {iso(self.at)} by "
                f"{self.by}: {self.reason}")


@dataclass
class Verification:
    """What verify found: the counts checked, the damage, and what was erased or deleted on
    purpose (not damage)."""

    cases: int = 0
    customers: int = 0
    case_events: int = 0
    customer_events: int = 0
    protection_entries: int = 0
    erased_values: int = 0
    breaks: list[Break] = field(default_factory=list)
    erasures: list[Erasure] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    against: Checkpoint | None = None

    @property
    def intact(self) -> bool:
        return not self.breaks


class Verifier:
    """Runs verify over an AuditSource (spec_of: the workflow versions case.migrated names)."""

    def __init__(self, source: AuditSource, spec_of: SpecOf) -> None:
        self.source = source
        self.spec_of = spec_of

    def verify(self, against: Checkpoint | None = None) -> Verification:
        result = Verification(against=against)
        if against is not None and against.installation != self.source.installation():
            raise CheckpointRefused(
                f"the checkpoint is of installation {against.installation}, this database is "
                f"installation {self.source.installation()}: verify it against its own "
                "database")
        entries = self.source.protection_entries()
        result.protection_entries = len(entries)
        self._protection(entries, result)
        vault = self.source.vault()
        self._vault(vault, entries, result)
        self._cases(vault, entries, result)
        self._customers(vault, result)
        if against is not None:
            self._counts(against, entries, result)
        return result

    def _protection(self, entries: list[ProtectionEntry], result: Verification) -> None:
        broken = check_entries(entries)
        if broken is not None:
            result.breaks.append(Break("", 0, broken.removeprefix("protection log: "),
                                       "protection log"))
        result.deletions = [_deletion(e) for e in entries if e.act == Act.CASE_DELETED]
        against = result.against
        if against is None or not against.protection.seq:
            return
        head = against.protection
        kept = entries[head.seq - 1] if len(entries) >= head.seq else None
        if kept is None or kept.seq != head.seq or kept.hash != head.hash:
            result.breaks.append(Break("", 0, f"entry {head.seq}, which the checkpoint of "
                                       f"{iso(against.created_at)} recorded, was removed or "
                                       "rewritten since", "protection log"))

    @staticmethod
    def _vault(vault: Mapping[str, VaultRow], entries: list[ProtectionEntry],
               result: Verification) -> None:
        reasons = {e.seq: e.reason for e in entries}
        groups: dict[int | None, list[VaultRow]] = {}
        for row in vault.values():
            if not row.intact():
                result.breaks.append(Break(_whose(row), 0, "its value is not the one its "
                                           "reference was made from (edited in the vault)",
                                           "vault value"))
            elif row.erased:
                groups.setdefault(row.erasure_seq, []).append(row)
                if row.erasure_seq not in reasons:
                    result.breaks.append(Break(_whose(row), 0, f"was erased by protection-log "
                                               f"entry {row.erasure_seq}, which the log no "
                                               "longer holds", "vault value"))
        for seq, rows in sorted(groups.items(), key=lambda g: g[0] or 0):
            first = rows[0]
            result.erasures.append(Erasure(seq, first.erased_at, first.erased_by,
                                           reasons.get(seq or 0, "(no protection-log entry)"),
                                           len(rows)))
            result.erased_values += len(rows)

    def _cases(self, vault: Mapping[str, VaultRow], entries: list[ProtectionEntry],
               result: Verification) -> None:
        against = result.against
        seen: set[str] = set()
        for row, events in self.source.case_histories():
            result.cases += 1
            result.case_events += len(events)
            seen.add(str(row.id))
            found = verify(row.id, events, row.history_seq, row.history_head)
            if found is not None:
                result.breaks.append(found)
            result.breaks += _missing_refs(row.id, "case", events, vault)
            result.breaks += [Break(row.id, 0, problem) for problem in
                              disagreements(row, replay(events, self.spec_of), vault)]
            if against is not None and str(row.id) in against.cases:
                result.breaks += _since(row.id, "case", events, against.cases[str(row.id)],
                                        against)
        if against is not None:
            for case_id in sorted(set(against.cases) - seen, key=_number):
                result.breaks += _gone(case_id, against.cases[case_id], against,
                                       result.deletions)

    def _customers(self, vault: Mapping[str, VaultRow], result: Verification) -> None:
        against = result.against
        seen: set[str] = set()
        for customer_id, head_seq, head_hash, events in self.source.customer_chains():
            result.customers += 1
            result.customer_events += len(events)
            seen.add(customer_id)
            found = verify(customer_id, events, head_seq, head_hash, kind="customer")
            if found is not None:
                result.breaks.append(found)
            result.breaks += _missing_refs(customer_id, "customer", events, vault)
            if against is not None and customer_id in against.customers:
                result.breaks += _since(customer_id, "customer", events,
                                        against.customers[customer_id], against)
        if against is not None:
            result.breaks += [
                Break(customer, 0, f"its history of {against.customers[customer].seq} events, "
                      f"which the checkpoint of {iso(against.created_at)} recorded, was "
                      "removed since", "customer")
                for customer in sorted(set(against.customers) - seen)]

    def _counts(self, against: Checkpoint, entries: list[ProtectionEntry],
                result: Verification) -> None:
        now = self.source.counts()
        since = [d for d, e in zip(result.deletions, _deleted(entries), strict=True)
                 if e.seq > against.protection.seq]
        allowed = {"cases": len(since), "case_events": sum(d.history_seq for d in since)}
        for name in COUNTS:
            before = against.counts.get(name, 0)
            if name == "vault_rows" and since:
                continue  # retention deletes a case's vault rows with it
            if now.get(name, 0) + allowed.get(name, 0) < before:
                result.breaks.append(Break("", 0, f"{name}: {now.get(name, 0)} now, "
                                           f"{before} at the checkpoint of "
                                           f"{iso(against.created_at)} (rows were removed)",
                                           "count of"))


def _number(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (0, text)


def _whose(row: VaultRow) -> str:
    owner = [f"customer {row.customer_id}"] if row.customer_id else []
    owner += [f"case {row.case_id}"] if row.case_id is not None else []
    return f"{row.ref[:12]} ({', '.join(owner) or 'no owner'})"


def _missing_refs(subject: int | str, kind: str, events: list[Event] | list[CustomerEvent],
                  vault: Mapping[str, VaultRow]) -> list[Break]:
    found = []
    for event in events:
        if "$personal" not in event.payload:  # the cheap test first: most payloads hold none
            continue
        for ref in refs_in(json.loads(event.payload)):
            if ref not in vault:
                found.append(Break(subject, event.seq, f"'{event.name}' refers to personal "
                                   f"value {ref[:12]}, which the vault no longer holds "
                                   "(its vault row was deleted)", kind))
    return found


def _since(subject: int | str, kind: str, events: list[Event] | list[CustomerEvent],
           head: Head, against: Checkpoint) -> list[Break]:
    """The event the checkpoint recorded is still there, unchanged."""
    kept = next((e for e in events if e.seq == head.seq), None)
    if kept is not None and kept.hash == head.hash:
        return []
    what = "was removed" if kept is None else "was rewritten"
    return [Break(subject, head.seq, f"the checkpoint of {iso(against.created_at)} recorded "
                  f"this event; it {what} since", kind)]


def _gone(case_id: str, head: Head, against: Checkpoint,
          deletions: list[Deletion]) -> list[Break]:
    """A case the checkpoint recorded that no longer exists: retention's, or damage."""
    if any(d.case == case_id and d.history_seq >= head.seq for d in deletions):
        return []  # reported with the deletions
    return [Break(case_id, 0, f"was removed since the checkpoint of {iso(against.created_at)} "
                  f"(it had {head.seq} events then), and no retention deletion records it")]


def _deleted(entries: list[ProtectionEntry]) -> list[ProtectionEntry]:
    return [e for e in entries if e.act == Act.CASE_DELETED]


def _deletion(entry: ProtectionEntry) -> Deletion:
    payload = json.loads(entry.payload)
    return Deletion(entry.subject, entry.at, entry.actor, entry.reason,
                    int(payload.get("history_seq") or 0))


class HeadSource(Protocol):
    """What a checkpoint reads, in one consistent read."""

    def heads(self) -> tuple[dict[str, Any], dict[str, Head], dict[str, Head], Head]: ...


def take_checkpoint(source: HeadSource, at: datetime, previous: str | None = None,
                    extra: Mapping[str, Any] | None = None) -> Checkpoint:
    """The installation's history as it is now (to be signed and kept elsewhere)."""
    about, case_heads, customer_heads, protection = source.heads()
    return Checkpoint(str(about["installation"]), at, str(about["schema"]), about["counts"],
                      case_heads, customer_heads, protection, previous, extra or {})
