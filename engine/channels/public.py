"""What the customers' public pages (a survey link, the complaint form) remember of their
requests: refused links, bots caught, forms sent, by client address (public_requests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    """What became of a request to a public page (a row of public_requests)."""

    FORGED = "forged"  # a survey link whose signature or token is not ours
    EXPIRED = "expired"
    REUSED = "reused"  # a survey answered already
    HONEYPOT = "honeypot"  # the complaint form's hidden field was filled: a bot
    LIMITED = "limited"  # too many complaint forms from one address
    INVALID = "invalid"  # a complaint form with a field that does not do
    OPENED = "opened"  # a complaint form that opened a case


@dataclass(frozen=True)
class PublicRequest:
    """One request to a public page worth remembering: refused, caught, limited or opened."""

    page: str  # survey | form
    outcome: Outcome
    client: str | None
    at: datetime
    case_id: int | None = None
    detail: str | None = None


class PublicRecords(Protocol):
    def record_public(self, request: PublicRequest) -> None: ...
    def count_public(self, page: str, client: str | None, since: datetime) -> int:
        """How many requests of `client` to `page` were recorded since then."""
