"""Saved views in SQL (engine.cases.saved_views.SavedViews): one row per user and name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from engine.cases.saved_views import MAX_VIEWS, SavedView, checked_view
from engine.kernel.errors import InvalidInput
from engine.store.db import Database
from engine.store.schema import saved_views

_COLUMNS = (saved_views.c.id, saved_views.c.name, saved_views.c.page, saved_views.c.filters,
            saved_views.c.created_at)


class SqlSavedViews:
    def __init__(self, database: Database) -> None:
        self.database = database

    def views(self, user: str) -> list[SavedView]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(*_COLUMNS).where(saved_views.c.user_name == user)
                                      .order_by(saved_views.c.name, saved_views.c.id))
            return [SavedView(*row) for row in rows]

    def save(self, user: str, name: str, page: str, filters: Mapping[str, str],
             at: datetime) -> SavedView:
        name, page, kept = checked_view(name, page, filters)
        mine = saved_views.c.user_name == user
        with self.database.writing() as connection:
            connection.execute(sa.delete(saved_views).where(mine, saved_views.c.name == name))
            held = connection.execute(sa.select(sa.func.count()).where(mine)).scalar_one()
            if held >= MAX_VIEWS:
                raise InvalidInput("name", f"{user} keeps {held} views, the most there may be; "
                                   "delete one first")
            view_id = connection.execute(sa.insert(saved_views).values(
                user_name=user, name=name, page=page, filters=kept, created_at=at)
                .returning(saved_views.c.id)).scalar_one()
        return SavedView(int(view_id), name, page, kept, at)

    def delete(self, user: str, view_id: int) -> bool:
        with self.database.writing() as connection:
            gone = connection.execute(sa.delete(saved_views).where(
                saved_views.c.user_name == user, saved_views.c.id == view_id))
            return bool(gone.rowcount)
