"""the outbox's Message-IDs: a reply that quotes one finds the case its mail was about

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("message_id", sa.String(300)))
        batch.create_index(batch.f("ix_outbox_message_id"), ["message_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_message_id"))
        batch.drop_column("message_id")
