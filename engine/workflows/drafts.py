"""Unpublished edits of tables and workflows: one draft per definition and author, so that a
manager's edit outlives the open page and two managers editing one definition know of each
other. Pages ask through the `Drafts` protocol; engine/store/drafts.py answers it.

A draft is text as typed: it need not load (it is a draft); publishing loads it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class DraftKind(StrEnum):
    """What a draft is a draft of: the `kind` of the definitions it would become."""

    TABLE = "table"
    WORKFLOW = "workflow"


@dataclass(frozen=True)
class Draft:
    """One author's unpublished text of one table or workflow, as last saved."""

    kind: DraftKind
    name: str
    author: str
    saved_at: datetime
    text: str


@dataclass(frozen=True)
class DraftsSeen:
    """What the editor tells its user about drafts: their own (whose text it opens with) and
    the others' saved after it (or all of them, when the user has none)."""

    mine: Draft | None
    newer: tuple[Draft, ...]


class Drafts(Protocol):
    def of(self, kind: DraftKind, name: str) -> list[Draft]:
        """Every author's draft of one definition, newest first."""

    def save(self, kind: DraftKind, name: str, author: str, text: str,
             at: datetime) -> Draft:
        """Keep `text` as the author's draft of the definition, replacing their earlier one."""

    def discard(self, kind: DraftKind, name: str, author: str) -> bool:
        """Drop the author's draft of the definition; whether there was one."""


def seen_by(drafts: list[Draft], author: str) -> DraftsSeen:
    """Of the drafts of one definition (newest first): the author's own, and those of others
    saved after it."""
    mine = next((d for d in drafts if d.author == author), None)
    newer = tuple(d for d in drafts if d.author != author
                  and (mine is None or d.saved_at > mine.saved_at))
    return DraftsSeen(mine, newer)
