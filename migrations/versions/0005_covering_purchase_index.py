"""purchases: a covering index (customer, day, amount) for the recompute's per-day sums

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Summing 3 million purchases per customer and day read each row from the table as well as
    # the index; with the amount in the index SQLite reads the index alone (19 s -> 7 s).
    op.create_index(op.f("ix_purchases_customer_id_day_amount"), "purchases",
                    ["customer_id", "day", "amount"])
    op.drop_index(op.f("ix_purchases_customer_id_day"), table_name="purchases")


def downgrade() -> None:
    op.create_index(op.f("ix_purchases_customer_id_day"), "purchases", ["customer_id", "day"])
    op.drop_index(op.f("ix_purchases_customer_id_day_amount"), table_name="purchases")
