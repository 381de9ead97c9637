"""sign-in throttles per account name and client address, and the security log

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True)),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    op.create_table(
        "security_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(150)),
        sa.Column("client", sa.String(100)),
        sa.Column("user_agent", sa.String(200)),
        sa.Column("detail", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_log")),
    )
    op.create_index(op.f("ix_security_log_at"), "security_log", ["at"])
    op.create_index(op.f("ix_security_log_name_at"), "security_log", ["name", "at"])


def downgrade() -> None:
    op.drop_table("security_log")
    op.drop_table("sign_in_throttles")
