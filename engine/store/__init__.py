"""Persistence, the only package that knows SQL: SQLite (WAL) by default, PostgreSQL."""

from engine.store.db import Database, connect
from engine.store.repository import SqlStore

__all__ = ["Database", "SqlStore", "connect"]
