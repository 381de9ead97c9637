"""customer figures and each customer's own hash-chained history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)
GENESIS = "0" * 64

# Customer history is append-only like case history (0001); PostgreSQL reuses its function.
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER customer_events_no_update BEFORE UPDATE ON customer_events "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
    "CREATE TRIGGER customer_events_no_delete BEFORE DELETE ON customer_events "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
]
POSTGRES_APPEND_ONLY = [
    "CREATE TRIGGER customer_events_append_only BEFORE UPDATE OR DELETE ON customer_events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
]


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("history_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("history_head", sa.String(64), nullable=False,
                                   server_default=GENESIS))
    op.create_table(
        "customer_figures",
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", Instant, nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Numeric(14, 2), nullable=False),
        sa.Column("revenue_12m", sa.Numeric(14, 2), nullable=False),
        sa.Column("revenue_share", sa.Float(), nullable=False),
        sa.Column("years_active", sa.Float(), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=False),
        sa.Column("expected_purchases", sa.Float(), nullable=False),
        sa.Column("expected_spend", sa.Float(), nullable=False),
        sa.Column("clv", sa.Float(), nullable=False),
        sa.Column("churn_risk", sa.String(32), nullable=True),
        sa.Column("tier_rule", sa.String(100), nullable=True),
        sa.Column("tier_table_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_customer_figures_customer_id_customers")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_figures")),
    )
    op.create_table(
        "customer_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("at", Instant, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_customer_events_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_events")),
        sa.UniqueConstraint("customer_id", "seq", name=op.f("uq_customer_events_customer_id_seq")),
    )
    op.create_index(op.f("ix_customer_events_name_at"), "customer_events", ["name", "at"])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_APPEND_ONLY if dialect == "sqlite" else POSTGRES_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER customer_events_append_only ON customer_events")
    op.drop_table("customer_events")
    op.drop_table("customer_figures")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("history_head")
        batch.drop_column("history_seq")
