"""the outbox's Message-IDs: a reply that quotes one finds the case its mail was about; customers
found by their email address whatever its case (mail and the web form find their sender)

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
    op.create_index("ix_customers_email_lower", "customers", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_customers_email_lower", table_name="customers")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_message_id"))
        batch.drop_column("message_id")
