"""web sessions kept by the SHA-256 of their id: the cookie keeps the id, the table its digest

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-14
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

web_sessions = sa.table("web_sessions", sa.column("key", sa.String(100)))


def upgrade() -> None:
    # each existing key replaced by its digest, so that every session signed in keeps working
    connection = op.get_bind()
    keys = [str(k) for k in connection.execute(sa.select(web_sessions.c.key)).scalars()]
    for key in keys:
        connection.execute(sa.update(web_sessions).where(web_sessions.c.key == key)
                           .values(key=hashlib.sha256(key.encode()).hexdigest()))


def downgrade() -> None:
    # a digest cannot be turned back into the id a browser holds: everyone signs in again
    op.execute(sa.delete(web_sessions))
