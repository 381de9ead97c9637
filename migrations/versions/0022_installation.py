"""the installation's identity: one row, a random id made here, that checkpoints name

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    moment = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":  # stored naive UTC there (schema.UTCDateTime)
        moment = moment.replace(tzinfo=None)
    op.bulk_insert(table, [{"id": str(uuid.uuid4()), "created_at": moment}])


def downgrade() -> None:
    op.drop_table("installation")
