"""Publication requests in SQL (the engine.workflows.approvals protocol): proposed, listed, and
ended once, by a conditional update, so that two managers deciding at once cannot both win."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.kernel.errors import NotFound
from engine.store.db import Database
from engine.store.schema import publication_requests
from engine.workflows.approvals import Proposal, PublicationRequest, RequestState

_PROPOSAL = ("kind", "name", "version", "content_hash", "source", "source_path", "base_id",
             "tests", "proposed_by", "proposed_at")


def _request(row: Any) -> PublicationRequest:
    m = row._mapping
    return PublicationRequest(m["id"], Proposal(*(m[name] for name in _PROPOSAL)),
                              RequestState(m["state"]), m["decided_by"], m["decided_at"],
                              m["reason"])


class SqlPublicationRequests:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, proposal: Proposal) -> PublicationRequest:
        values = {name: getattr(proposal, name) for name in _PROPOSAL}
        with self.database.writing() as connection:
            new_id = connection.execute(sa.insert(publication_requests).values(
                **values, state=RequestState.PENDING).returning(publication_requests.c.id)
            ).scalar_one()
        return PublicationRequest(new_id, proposal, RequestState.PENDING)

    def get(self, request_id: int) -> PublicationRequest:
        with self.database.reading() as connection:
            row = connection.execute(sa.select(publication_requests).where(
                publication_requests.c.id == request_id)).first()
        if row is None:
            raise NotFound(f"there is no publication request {request_id} (see "
                           "/rules/approvals for the pending ones)")
        return _request(row)

    def listing(self, state: RequestState | None = None,
                limit: int = 50) -> list[PublicationRequest]:
        query = sa.select(publication_requests).order_by(publication_requests.c.id.desc())
        if state is not None:
            query = query.where(publication_requests.c.state == state)
        with self.database.reading() as connection:
            return [_request(row) for row in connection.execute(query.limit(limit))]

    def decide(self, request_id: int, state: RequestState, by: str, at: datetime,
               reason: str | None = None) -> bool:
        with self.database.writing() as connection:
            done = connection.execute(sa.update(publication_requests).where(
                publication_requests.c.id == request_id,
                publication_requests.c.state == RequestState.PENDING,
            ).values(state=state, decided_by=by, decided_at=at, reason=reason))
        return bool(done.rowcount)
