"""outgoing mail: who a mail is for (a person or a customer), its threading headers, whether it
is automatic, and its retries (when to try again, when it was given up)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    # plain ADD COLUMNs: SQLite adds each in place (a batch would copy the table)
    op.add_column("outbox", sa.Column("audience", sa.String(16), nullable=False,
                                      server_default="person"))
    op.add_column("outbox", sa.Column("in_reply_to", sa.String(300)))
    op.add_column("outbox", sa.Column("thread_refs", sa.Text()))
    op.add_column("outbox", sa.Column("automatic", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("outbox", sa.Column("next_attempt_at", Instant))
    op.add_column("outbox", sa.Column("failed_at", Instant))
    # the mails queued before this revision for a conversation's message went to its customer
    op.execute("UPDATE outbox SET audience = 'customer' WHERE id IN "
               "(SELECT outbox_id FROM case_entries WHERE outbox_id IS NOT NULL)")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        for name in ("failed_at", "next_attempt_at", "automatic", "thread_refs", "in_reply_to",
                     "audience"):
            batch.drop_column(name)
