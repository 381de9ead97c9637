"""Sign-in throttles and the security log (engine.kernel.sign_ins.SignInStore)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from engine.kernel.sign_ins import (
    LONGEST_NAME,
    SecurityEvent,
    SecurityEventKind,
    Throttle,
)
from engine.store.db import Database
from engine.store.schema import security_log, sign_in_throttles

_UPSERT: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def _keys(name: str, client: str | None) -> tuple[str, str]:
    return f"name:{name[:LONGEST_NAME]}", f"client:{(client or 'unknown')[:100]}"


def _throttle(row: Any) -> Throttle:
    return Throttle() if row is None else Throttle(row.failures, row.since, row.locked_until)


def _read(connection: Connection, keys: tuple[str, str], lock: bool
          ) -> tuple[Throttle, Throttle]:
    query = sa.select(sign_in_throttles).where(sign_in_throttles.c.key.in_(keys))
    if lock:
        # in key order, whoever asks: two attempts never wait on each other's second row
        query = query.order_by(sign_in_throttles.c.key).with_for_update()
    found = {row.key: row for row in connection.execute(query)}
    return _throttle(found.get(keys[0])), _throttle(found.get(keys[1]))


def _append(connection: Connection, event: SecurityEvent) -> None:
    connection.execute(sa.insert(security_log).values(
        at=event.at, kind=event.kind.value, name=event.name, client=event.client,
        user_agent=event.user_agent, detail=(event.detail or "")[:500] or None))


class SqlSignInTransaction:
    """One attempt's transaction: its two throttle rows held until it ends."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def hold_throttles(self, name: str, client: str | None) -> tuple[Throttle, Throttle]:
        keys = _keys(name, client)
        # rows first (a no-op when they exist), so that there is a row to lock
        upsert = _UPSERT[self.connection.dialect.name](sign_in_throttles)
        for key in sorted(keys):
            self.connection.execute(upsert.values(key=key, failures=0)
                                    .on_conflict_do_nothing(index_elements=["key"]))
        return _read(self.connection, keys, lock=True)

    def save_throttles(self, name: str, client: str | None, by_name: Throttle,
                       by_address: Throttle) -> None:
        for key, throttle in zip(_keys(name, client), (by_name, by_address), strict=True):
            if throttle == Throttle():  # nothing to remember: no row
                self.connection.execute(sa.delete(sign_in_throttles)
                                        .where(sign_in_throttles.c.key == key))
                continue
            self.connection.execute(
                sa.update(sign_in_throttles).where(sign_in_throttles.c.key == key)
                .values(failures=throttle.failures, since=throttle.since,
                        locked_until=throttle.locked_until))

    def log(self, event: SecurityEvent) -> None:
        _append(self.connection, event)

    def forget_throttles(self, counted_before: datetime, now: datetime) -> None:
        self.connection.execute(sa.delete(sign_in_throttles).where(
            sign_in_throttles.c.since < counted_before,
            sa.or_(sign_in_throttles.c.locked_until.is_(None),
                   sign_in_throttles.c.locked_until <= now)))


class SqlSignIns:
    """engine.kernel.sign_ins.SignInStore on sign_in_throttles and security_log."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def transaction(self) -> Iterator[SqlSignInTransaction]:
        with self.database.writing() as connection:
            yield SqlSignInTransaction(connection)

    def throttles(self, name: str, client: str | None) -> tuple[Throttle, Throttle]:
        with self.database.reading() as connection:
            return _read(connection, _keys(name, client), lock=False)

    def unlock(self, name: str, now: datetime) -> bool:
        key = _keys(name, None)[0]
        with self.database.writing() as connection:
            row = connection.execute(sa.select(sign_in_throttles)
                                     .where(sign_in_throttles.c.key == key)).first()
            connection.execute(sa.delete(sign_in_throttles)
                               .where(sign_in_throttles.c.key == key))
        return row is not None and row.locked_until is not None and row.locked_until > now

    def log(self, event: SecurityEvent) -> None:
        with self.database.writing() as connection:
            _append(connection, event)

    def events(self, name: str | None, limit: int) -> list[SecurityEvent]:
        query = sa.select(security_log).order_by(security_log.c.at.desc(),
                                                 security_log.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(security_log.c.name == name)
        with self.database.reading() as connection:
            return [SecurityEvent(SecurityEventKind(r.kind), r.at, r.name, r.client,
                                  r.user_agent, r.detail) for r in connection.execute(query)]
