"""What an agent searches and works from across queues: one search over case number, customer id
and name and summary (conversation entries join the same index, see migration 0013), and "My
cases", the open cases assigned to one person, soonest SLA due first. The pages ask through
the `CaseSearch` protocol; engine/store/case_search.py answers it (SQLite FTS5 with the trigram
tokenizer, PostgreSQL pg_trgm).

A query of any text is a search, never an error: it is cleaned here (control characters and
unpaired surrogates dropped, cut at MAX_QUERY characters) and split into words, each searched
as a literal substring. Words of MIN_WORD characters or more use the trigram index; a query of
shorter words only (two Chinese characters, "QA") reads the newest SHORT_WINDOW cases instead
of all, and says so.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.cases.queues import QueueRow

MAX_QUERY = 200  # characters of a query that are searched
MAX_WORDS = 8
MIN_WORD = 3  # a trigram index finds substrings of at least three characters
SHORT_WINDOW = 20_000  # the newest cases a query of short words only looks through
PAGE = 50
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class SearchTerms:
    """A query as searched: the case number it may be, the whole text (a customer id), and its
    words of MIN_WORD characters or more (`long`) and fewer (`short`)."""

    text: str
    number: int | None
    long: tuple[str, ...]
    short: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.text

    @property
    def windowed(self) -> bool:
        """Whether only the newest SHORT_WINDOW cases are searched for words."""
        return bool(self.short) and not self.long


def _cleaned(text: str) -> str:
    # lone surrogates (which no database encoding holds) become "?"; control characters
    # (NUL included) become spaces
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text[:MAX_QUERY])


def search_terms(query: str) -> SearchTerms:
    """`query` taken apart for searching (any text; none of it is syntax)."""
    text = " ".join(_cleaned(query).split())
    words = list(dict.fromkeys(text.split()))[:MAX_WORDS]
    digits = text.removeprefix("#")
    number = int(digits) if digits.isdecimal() and digits.isascii() \
        and 0 < int(digits) <= MAX_ID else None
    return SearchTerms(text, number, tuple(w for w in words if len(w) >= MIN_WORD),
                       tuple(w for w in words if len(w) < MIN_WORD))


@dataclass(frozen=True)
class FoundCase:
    """A case a search found, open or closed."""

    id: int
    workflow: str
    state: str
    queue: str | None
    assignee: str | None
    customer: str | None
    customer_name: str | None
    summary: str | None
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class SearchResult:
    terms: SearchTerms
    cases: list[FoundCase]
    more: bool  # whether more cases match than were returned


@dataclass(frozen=True)
class MyCase:
    """An open case of someone's, with the queue it waits in."""

    queue: str | None
    row: QueueRow


class CaseSearch(Protocol):
    def search(self, query: str, limit: int = PAGE) -> SearchResult:
        """Cases whose number is the query, whose customer's id is the query, or whose
        searched text (summary, customer id and name) holds every word of it: the number
        first, then the customer's cases, then the rest, newest first."""

    def my_cases(self, user: str, limit: int = 200) -> list[MyCase]:
        """The open cases assigned to `user` in every queue, soonest SLA due first (those
        without a due time last)."""
