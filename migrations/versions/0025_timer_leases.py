"""timer leases (a claimed timer names its worker and until when the claim holds), and imports
that know whether they finished (they commit in batches)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("timers") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(100)))
        batch.add_column(sa.Column("lease_until", Instant))
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("finished_at", Instant))
    # every import before this one was a single transaction: it finished when it was made
    op.execute("UPDATE imports SET finished_at = imported_at")


def downgrade() -> None:
    # an import left unfinished cannot be told apart afterwards: drop what it wrote of itself,
    # its purchases stay (a new import of the file finds them by their natural keys)
    op.execute("UPDATE purchases SET import_id = NULL WHERE import_id IN "
               "(SELECT id FROM imports WHERE finished_at IS NULL)")
    op.execute("DELETE FROM imports WHERE finished_at IS NULL")
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("finished_at")
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
