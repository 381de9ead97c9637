"""The data-protection log: erasures, deletions, legal holds and retention runs, and the
administration of access (users and API tokens), each an entry of one hash chain of its own
(the installation's), so that what was erased or deleted, when, by
whom and why is itself tamper-evident. A case deleted by retention leaves its last head here
(`case.deleted`): verify against an older checkpoint tells it from a case removed behind
casework's back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import orjson

from engine.kernel.history import GENESIS, canonical, iso


class Act(StrEnum):
    """What a protection-log entry records."""

    CUSTOMER_ERASED = "customer.erased"  # every personal value of a customer erased
    CASE_ERASED = "case.erased"  # a case's personal values erased (retention)
    CASE_DELETED = "case.deleted"  # a case and its history deleted (retention)
    HOLD_PLACED = "hold.placed"
    HOLD_RELEASED = "hold.released"
    RETENTION_RUN = "retention.run"  # one run of the retention job, what it did
    # access: accounts administered (engine/kernel/administration.py); subject user:NAME
    USER_ADDED = "user.added"
    USER_CHANGED = "user.changed"  # roles, display name or email: from and to
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    PASSWORD_SET = "user.password_set"  # never the password
    TOKEN_CREATED = "token.created"  # its id and label, never the token
    TOKEN_REVOKED = "token.revoked"


@dataclass(frozen=True)
class ProtectionEntry:
    """One entry of the protection log, as stored (payload is the hashed canonical text)."""

    seq: int
    act: Act
    subject: str  # a customer id or a case id, as text
    actor: str
    at: datetime
    reason: str
    payload: str
    prev_hash: str
    hash: str

    def digest(self) -> str:
        return entry_hash(self.seq, self.act, self.subject, self.actor, self.at, self.reason,
                          self.payload, self.prev_hash)


def entry_hash(seq: int, act: str, subject: str, actor: str, at: datetime, reason: str,
               payload: str, prev_hash: str) -> str:
    # "protection" first: no entry can pass for a case or customer event
    content = orjson.dumps(["protection", seq, str(act), subject, actor, iso(at), reason,
                            payload, prev_hash])
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class ProtectionDraft:
    act: Act
    subject: str
    reason: str
    payload: dict[str, Any]


def chain_entries(head_seq: int, head_hash: str, drafts: Iterable[ProtectionDraft], actor: str,
                  at: datetime) -> list[ProtectionEntry]:
    """Drafts given their place after the log's head."""
    entries = []
    seq, prev = head_seq, head_hash or GENESIS
    for draft in drafts:
        seq += 1
        payload = canonical(draft.payload)
        digest = entry_hash(seq, draft.act, draft.subject, actor, at, draft.reason, payload, prev)
        entries.append(ProtectionEntry(seq, draft.act, draft.subject, actor, at, draft.reason,
                                       payload, prev, digest))
        prev = digest
    return entries


def check_entries(entries: Iterable[ProtectionEntry]) -> str | None:
    """The first break of the log, in words, or None when it holds."""
    prev = GENESIS
    for expected, entry in enumerate(entries, start=1):
        if entry.seq != expected:
            return f"protection log: entry {expected} is missing (found {entry.seq})"
        if entry.prev_hash != prev:
            return f"protection log: entry {entry.seq} does not link to the one before it"
        if entry.digest() != entry.hash:
            return f"protection log: entry {entry.seq} ({entry.act}) was altered"
        prev = entry.hash
    return None




@dataclass(frozen=True)
class ErasureReport:
    """What one erasure removed, and its protection-log entry."""

    subject: str
    seq: int  # its protection-log entry
    cases: tuple[int, ...]
    values: int  # vault values erased
    entries: int  # conversation entries emptied
    files: int  # attachments deleted
    mails: int  # outbox and inbound mails emptied


class PersonalData(Protocol):
    """A customer's personal data: shown, exported whole, erased (engine/store/erasure.py)."""

    def values(self, refs: Collection[str]) -> dict[str, Any]:
        """ref -> the value it stands for, or an engine.kernel.personal.Erased."""
    def export_customer(self, customer_id: str, at: datetime) -> dict[str, Any]:
        """Everything held about the customer, JSON-ready; NotFound if unknown."""
    def erase_customer(self, customer_id: str, actor: str, reason: str,
                       now: datetime) -> ErasureReport:
        """NotFound if unknown, InvalidInput if erased already or no reason is given."""
    def erase_case(self, case_id: int, actor: str, reason: str, now: datetime) -> ErasureReport:
        """One case's personal values (retention)."""
