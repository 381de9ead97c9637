"""at most one pending timer per case, kind and name: arming one retargets it in place

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")

# The engine never meant to keep two: it cancelled the pending timer of a clock or state before
# arming the next. Should a database hold two anyway, the newest stays pending and the older are
# cancelled, so that the index can be built.
CANCEL_OLDER = """
UPDATE timers SET state = 'cancelled', done_at = created_at
WHERE state = 'pending' AND EXISTS (
    SELECT 1 FROM timers AS newer WHERE newer.state = 'pending'
    AND newer.case_id = timers.case_id AND newer.kind = timers.kind
    AND newer.name = timers.name AND newer.id > timers.id)
"""


def upgrade() -> None:
    op.execute(CANCEL_OLDER)
    op.create_index("ux_timers_pending", "timers", ["case_id", "kind", "name"], unique=True,
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("ux_timers_pending", table_name="timers")
