"""Who made which stored definition version active, and when: the history the rules pages show.
They ask through the `Publications` protocol; engine/store/publications.py answers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Publication:
    """One activation of a stored version (a version may be activated more than once)."""

    definition_id: int
    kind: str
    name: str
    version: int
    published_at: datetime
    published_by: str
    approved_by: str | None = None  # the second manager, under `approval: required`


class Publications(Protocol):
    def of(self, kind: str, name: str | None = None) -> list[Publication]:
        """Every publication of `kind` (of one name, if given), newest first."""
