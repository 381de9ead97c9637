"""The case search and "My cases" (engine.cases.search.CaseSearch) in SQL.

The search index `case_search` (migration 0013) is each database's own kind of object, so no
Table of the metadata describes it: on SQLite an FTS5 table with the trigram tokenizer
(`case_search(body, case_id UNINDEXED)`, rowid = the document's id), on PostgreSQL a table
`case_search(id, case_id, body)` with a GIN pg_trgm index on `body`. Both hold one document
per searchable text, naming its case: a case's own (summary, customer id, customer name) has
the case's id; a conversation entry's will have minus the entry's id. Either way a search
reads `case_id`, newest document first, and stops after a page: with the index in rowid
order, a common word costs what a rare one does.

Each word is a literal substring: FTS5 gets it as a quoted phrase (quotes doubled: no query
syntax gets through), PostgreSQL as an ILIKE pattern with its wildcards escaped.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.cases.queues import QueueRow
from engine.cases.search import (
    PAGE,
    SHORT_WINDOW,
    FoundCase,
    MyCase,
    SearchResult,
    SearchTerms,
    search_terms,
)
from engine.store.db import Database
from engine.store.schema import cases, customers, field_text

_summary = field_text(cases.c.fields, "summary")
_FOUND = (cases.c.id, cases.c.workflow, cases.c.state, cases.c.queue, cases.c.assignee,
          cases.c.customer, customers.c.name, _summary, cases.c.created_at, cases.c.closed_at)
_MINE = (cases.c.queue, cases.c.id, cases.c.workflow, cases.c.state, cases.c.assignee,
         cases.c.customer, customers.c.tier, _summary, field_text(cases.c.fields, "severity"),
         field_text(cases.c.fields, "priority"), cases.c.created_at, cases.c.updated_at,
         cases.c.lock_version, cases.c.sla_due_at, cases.c.sla_status)
_with_customer = cases.outerjoin(customers, customers.c.id == cases.c.customer)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class SqlCaseSearch:
    def __init__(self, database: Database) -> None:
        self.database = database

    def search(self, query: str, limit: int = PAGE) -> SearchResult:
        terms = search_terms(query)
        if terms.empty:
            return SearchResult(terms, [], False)
        wanted = limit + 1
        with self.database.reading() as connection:
            ids: list[int] = []
            if terms.number is not None:
                ids += connection.execute(sa.select(cases.c.id).where(
                    cases.c.id == terms.number)).scalars()
            ids += connection.execute(
                sa.select(cases.c.id).where(cases.c.customer == terms.text)
                .order_by(cases.c.id.desc()).limit(wanted)).scalars()
            if terms.long or terms.short:
                ids += self._matching(connection, terms, wanted)
            ordered = list(dict.fromkeys(ids))
            found = self._cases(connection, ordered[:limit])
        return SearchResult(terms, found, len(ordered) > limit)

    def _matching(self, connection: Connection, terms: SearchTerms, limit: int) -> list[int]:
        """The cases whose documents hold every word, newest document first."""
        sqlite = connection.dialect.name == "sqlite"
        key = "rowid" if sqlite else "id"
        where: list[str] = []
        values: dict[str, Any] = {"limit": limit}
        if terms.long and sqlite:
            where.append("case_search MATCH :match")
            values["match"] = " ".join(_phrase(w) for w in terms.long)
        else:
            for n, word in enumerate(terms.long):
                where.append(f"body ILIKE :w{n} ESCAPE '\\'")
                values[f"w{n}"] = _like(word)
        for n, word in enumerate(terms.short):
            where.append(f"body {'LIKE' if sqlite else 'ILIKE'} :s{n} ESCAPE '\\'")
            values[f"s{n}"] = _like(word)
        if terms.windowed:  # no index finds these: the newest documents only
            where.append(f"{key} > (SELECT coalesce(max({key}), 0) FROM case_search) - :window")
            values["window"] = SHORT_WINDOW
        statement = sa.text(f"SELECT case_id FROM case_search WHERE {' AND '.join(where)} "
                            f"ORDER BY {key} DESC LIMIT :limit")
        return [int(i) for i in connection.execute(statement, values).scalars()]

    @staticmethod
    def _cases(connection: Connection, ids: list[int]) -> list[FoundCase]:
        if not ids:
            return []
        rows = {row.id: FoundCase(*row) for row in connection.execute(
            sa.select(*_FOUND).select_from(_with_customer).where(cases.c.id.in_(ids)))}
        return [rows[i] for i in ids if i in rows]

    def my_cases(self, user: str, limit: int = 200) -> list[MyCase]:
        open_mine = sa.and_(cases.c.assignee == user, cases.c.closed_at.is_(None))
        base = sa.select(*_MINE).select_from(_with_customer)
        # two ranges of the (assignee, sla_due_at, id) index of open cases: those with a due
        # time in its order, then those without (NULLs sort first on one database, last on
        # the other)
        dated = base.where(open_mine, cases.c.sla_due_at.is_not(None)) \
            .order_by(cases.c.sla_due_at, cases.c.id).limit(limit)
        undated = base.where(open_mine, cases.c.sla_due_at.is_(None)) \
            .order_by(cases.c.id).limit(limit)
        found: list[Any] = []
        with self.database.reading() as connection:
            for select in (dated, undated):
                found += connection.execute(select)
        return [MyCase(row[0], QueueRow(*row[1:])) for row in found[:limit]]
