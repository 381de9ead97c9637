"""Who made which decision-table version active, and when: the rules pages' history (the
engine.workflows.publications protocol)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.store.db import Database
from engine.store.schema import definitions, publications
from engine.workflows.publications import Publication


def _publication(row: Any) -> Publication:
    m = row._mapping
    return Publication(m["definition_id"], m["kind"], m["name"], m["version"],
                       m["published_at"], m["published_by"], m["approved_by"])


class SqlPublications:
    """The publications table joined to the versions it activated, newest first."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def of(self, kind: str, name: str | None = None) -> list[Publication]:
        """Every publication of `kind` (of one name, if given), newest first."""
        query = (
            sa.select(publications.c.definition_id, publications.c.kind, publications.c.name,
                      definitions.c.version, publications.c.published_at,
                      publications.c.published_by, publications.c.approved_by)
            .join(definitions, definitions.c.id == publications.c.definition_id)
            .where(publications.c.kind == kind)
            .order_by(publications.c.id.desc())
        )
        if name is not None:
            query = query.where(publications.c.name == name)
        with self.database.reading() as connection:
            return [_publication(row) for row in connection.execute(query)]
