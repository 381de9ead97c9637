"""Alembic migrations: the only way casework's schema is made or changed."""
