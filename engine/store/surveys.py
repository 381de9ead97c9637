"""Surveys and the public pages' requests in SQL: the writes of the transaction (mixed into
SqlTransaction), and the survey a link's page reads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.channels.public import Outcome, PublicRequest
from engine.channels.surveys import NewSurvey, Survey, SurveyKind
from engine.store.schema import public_requests, surveys

if TYPE_CHECKING:
    from engine.store.repository import SqlStore

_BY_DIGEST = sa.select(surveys).where(surveys.c.token_digest == sa.bindparam("digest"))


class SurveyWrites:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def add_survey(self, survey: NewSurvey) -> int:
        survey_id: int = self.connection.execute(
            sa.insert(surveys).returning(surveys.c.id),
            {"case_id": survey.case_id, "customer_id": survey.customer_id,
             "kind": survey.kind.value, "token_digest": survey.token_digest,
             "created_at": survey.created_at, "expires_at": survey.expires_at}).scalar_one()
        return survey_id

    def survey_by_digest(self, digest: str) -> Survey | None:
        # locked: two answers sent at once are taken one after the other (PostgreSQL; SQLite
        # writes one transaction at a time anyway)
        row = self.connection.execute(_BY_DIGEST.with_for_update(), {"digest": digest}).first()
        return None if row is None else _survey(row)

    def answer_survey(self, survey_id: int, score: int, comment: str | None,
                      at: datetime) -> bool:
        done = self.connection.execute(
            sa.update(surveys).where(surveys.c.id == survey_id, surveys.c.answered_at.is_(None))
            .values(answered_at=at, score=score, comment=comment))
        return done.rowcount == 1

    def record_public(self, request: PublicRequest) -> None:
        self.connection.execute(sa.insert(public_requests), {
            "page": request.page, "outcome": request.outcome.value,
            "client": (request.client or "")[:100] or None, "at": request.at,
            "case_id": request.case_id, "detail": (request.detail or "")[:500] or None})

    def count_public(self, page: str, client: str | None, since: datetime) -> int:
        found: int = self.connection.execute(
            sa.select(sa.func.count()).select_from(public_requests).where(
                public_requests.c.page == page, public_requests.c.at >= since,
                public_requests.c.client.is_(None) if client is None
                else public_requests.c.client == client[:100])).scalar_one()
        return found


class SqlSurveys:
    """The survey side of the store: its reads, and the store's own transactions (whose
    SqlTransaction mixes this module's writes in)."""

    def __init__(self, store: SqlStore) -> None:
        self.database = store.database
        self.transaction = store.transaction

    def survey(self, digest: str) -> Survey | None:
        with self.database.reading() as connection:
            row = connection.execute(_BY_DIGEST, {"digest": digest}).first()
        return None if row is None else _survey(row)

    def surveys_of(self, case_id: int) -> list[Survey]:
        """A case's surveys, oldest first."""
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(surveys).where(surveys.c.case_id == case_id)
                                      .order_by(surveys.c.id)).all()
        return [_survey(row) for row in rows]

    def public_requests(self, page: str) -> list[PublicRequest]:
        """What the public page was asked that was recorded, oldest first."""
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(public_requests).where(
                public_requests.c.page == page).order_by(public_requests.c.id)).all()
        return [PublicRequest(r.page, Outcome(r.outcome), r.client, r.at, r.case_id, r.detail)
                for r in rows]


def _survey(row: Any) -> Survey:
    return Survey(row.id, row.case_id, row.customer_id, SurveyKind(row.kind), row.created_at,
                  row.expires_at, row.answered_at, row.score, row.comment)
