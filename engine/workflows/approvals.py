"""Four-eyes publishing: a table or workflow that says `approval: required` is not made active by
the manager who publishes it; the publish is recorded as a request that a second manager
approves (or rejects with a reason, or its proposer withdraws).

The rules here are pure; engine/store/approvals.py keeps the requests, and the registry
(engine/workflows/registry.py) publishes what is approved.

- Approval is required when the active version says so *or* the candidate does: otherwise a
  candidate could switch it off for itself.
- Nobody approves or rejects their own request.
- A request remembers the version that was active when it was proposed (its base). Once another
  version has been made active, the request is stale: what the approver would see as its diff is
  no longer what it changes, so approving it is refused and it has to be proposed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from engine.kernel.errors import ApprovalRefused, InvalidInput, SelfApproval
from engine.kernel.records import DefinitionRecord


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class PublishStatus(StrEnum):
    """What a publish did: made the version active, or recorded it for a second manager."""

    PUBLISHED = "published"
    AWAITING_APPROVAL = "awaiting approval"


@dataclass(frozen=True)
class Proposal:
    """A version proposed for publication, before it is stored as a request."""

    kind: str  # workflow | table
    name: str
    version: int
    content_hash: str
    source: str
    source_path: str
    base_id: int | None  # the definition active when proposed
    tests: str  # what its tests found, in words
    proposed_by: str
    proposed_at: datetime


@dataclass(frozen=True)
class PublicationRequest:
    """A stored proposal and how it ended."""

    id: int
    proposal: Proposal
    state: RequestState
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    @property
    def kind(self) -> str:
        return self.proposal.kind

    @property
    def name(self) -> str:
        return self.proposal.name

    @property
    def version(self) -> int:
        return self.proposal.version

    @property
    def proposed_by(self) -> str:
        return self.proposal.proposed_by

    @property
    def what(self) -> str:
        """How messages name it: "table customer_tier v3 (request 7)"."""
        return f"{self.kind} {self.name} v{self.version} (request {self.id})"


@dataclass(frozen=True)
class Published:
    """What the registry's publish did: the active version now, or the request waiting."""

    status: PublishStatus
    kind: str
    name: str
    version: int
    content_hash: str
    record: DefinitionRecord | None = None  # published
    request: PublicationRequest | None = None  # awaiting approval

    @property
    def published(self) -> bool:
        return self.status == PublishStatus.PUBLISHED


class PublicationRequests(Protocol):
    """Where requests are kept (engine.store.approvals.SqlPublicationRequests)."""

    def add(self, proposal: Proposal) -> PublicationRequest: ...
    def get(self, request_id: int) -> PublicationRequest:
        """The request; NotFound if there is none with that id."""
    def listing(self, state: RequestState | None = None,
                limit: int = 50) -> list[PublicationRequest]:
        """Requests newest first (in one state, if given)."""
    def decide(self, request_id: int, state: RequestState, by: str, at: datetime,
               reason: str | None = None) -> bool:
        """End a pending request; False (and nothing changed) if it was not pending."""


def requires_approval(active: bool | None, candidate: bool) -> bool:
    """Whether a publish waits for a second manager: the active version's setting (None
    while there is none) or the candidate's, either one requiring it."""
    return bool(active) or candidate


def check_decidable(request: PublicationRequest, by: str, verb: str) -> None:
    """Refuse deciding a request that is not pending, or deciding one's own (`verb`: approve
    or reject; a proposer withdraws instead)."""
    if request.state != RequestState.PENDING:
        raise ApprovalRefused(
            f"{request.what} was {request.state} by {request.decided_by}; only a pending "
            "request can be decided (see /rules/approvals)")
    if request.proposed_by == by:
        raise SelfApproval(
            f"{request.what} was proposed by {by}: a second manager must {verb} it (four "
            "eyes); ask another manager, or withdraw it")


def check_current(request: PublicationRequest, base_now: int | None,
                  active_version: int | None) -> None:
    """Refuse approving a request whose base is no longer the active version (stale)."""
    if request.proposal.base_id != base_now:
        now = f"v{active_version}" if active_version is not None else "no version"
        raise ApprovalRefused(
            f"{request.what} is stale: it was proposed against another version than the "
            f"active one ({now} is active now), so its diff no longer shows what it would "
            f"change; reject it and propose the change again against {now}")


def check_withdrawable(request: PublicationRequest, by: str) -> None:
    """Only the proposer withdraws, and only a pending request."""
    if request.state != RequestState.PENDING:
        raise ApprovalRefused(f"{request.what} was {request.state} by {request.decided_by}; "
                              "only a pending request can be withdrawn")
    if request.proposed_by != by:
        raise SelfApproval(f"{request.what} was proposed by {request.proposed_by}; only they "
                           "may withdraw it (a second manager rejects it instead)")


def check_reason(reason: str | None) -> str:
    """A rejection says why, so that its proposer knows what to change."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("reason", "a rejection needs a reason: say what to change, so that "
                           "the proposer can propose it again")
    if len(text) > 1000:
        raise InvalidInput("reason", f"the reason is {len(text)} characters; keep it to 1000")
    return text
