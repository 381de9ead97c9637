"""sla_clocks: an index on stopped_at, for the dashboards' SLA attainment of recent weeks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The SLA chart reads the clocks that stopped in the last weeks; without this index it
    # reads every stopped clock (most of them, on a desk with a long history).
    op.create_index(op.f("ix_sla_clocks_stopped_at"), "sla_clocks", ["stopped_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sla_clocks_stopped_at"), table_name="sla_clocks")
