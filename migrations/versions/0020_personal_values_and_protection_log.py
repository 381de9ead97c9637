"""personal data apart from the hashed history (the vault), and the data-protection log

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "personal_values",
        sa.Column("id", BigId, nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(100)),
        sa.Column("case_id", sa.Integer()),
        sa.Column("value", sa.Text()),
        sa.Column("salt", sa.String(32)),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("erased_at", Instant),
        sa.Column("erased_by", sa.String(100)),
        sa.Column("erasure_seq", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_values")),
        sa.UniqueConstraint("ref", name=op.f("uq_personal_values_ref")),
    )
    op.create_index(op.f("ix_personal_values_customer_id"), "personal_values", ["customer_id"])
    op.create_index(op.f("ix_personal_values_case_id"), "personal_values", ["case_id"])
    op.create_table(
        "protection_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("act", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_log")),
        sa.UniqueConstraint("seq", name=op.f("uq_protection_log_seq")),
    )
    op.create_index(op.f("ix_protection_log_act_subject"), "protection_log", ["act", "subject"])
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("erased_at", Instant))
    with op.batch_alter_table("case_entries") as batch:
        batch.add_column(sa.Column("erased_at", Instant))


def downgrade() -> None:
    with op.batch_alter_table("case_entries") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("erased_at")
    op.drop_index(op.f("ix_protection_log_act_subject"), "protection_log")
    op.drop_table("protection_log")
    op.drop_index(op.f("ix_personal_values_case_id"), "personal_values")
    op.drop_index(op.f("ix_personal_values_customer_id"), "personal_values")
    op.drop_table("personal_values")
