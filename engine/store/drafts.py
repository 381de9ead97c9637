"""Drafts in SQL (engine.workflows.drafts.Drafts): one row per kind, name and author."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.db import Database
from engine.store.schema import drafts
from engine.workflows.drafts import Draft, DraftKind


def _draft(row: Any) -> Draft:
    m = row._mapping
    return Draft(DraftKind(m["kind"]), m["name"], m["author"], m["saved_at"], m["text"])


class SqlDrafts:
    def __init__(self, database: Database) -> None:
        self.database = database

    def of(self, kind: DraftKind, name: str) -> list[Draft]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(drafts).where(
                drafts.c.kind == kind.value, drafts.c.name == name)
                .order_by(drafts.c.saved_at.desc(), drafts.c.author))
            return [_draft(row) for row in rows]

    def save(self, kind: DraftKind, name: str, author: str, text: str,
             at: datetime) -> Draft:
        # delete, then insert, in one transaction: the unique key keeps one draft per author
        # even when two saves of theirs race (the second waits for, or fails on, the first)
        with self.database.writing() as connection:
            connection.execute(sa.delete(drafts).where(*self._one(kind, name, author)))
            connection.execute(sa.insert(drafts).values(
                kind=kind.value, name=name, author=author, saved_at=at, text=text))
        return Draft(kind, name, author, at, text)

    def discard(self, kind: DraftKind, name: str, author: str) -> bool:
        with self.database.writing() as connection:
            gone = connection.execute(sa.delete(drafts).where(*self._one(kind, name, author)))
            return bool(gone.rowcount)

    @staticmethod
    def _one(kind: DraftKind, name: str, author: str) -> tuple[Any, ...]:
        return (drafts.c.kind == kind.value, drafts.c.name == name, drafts.c.author == author)
