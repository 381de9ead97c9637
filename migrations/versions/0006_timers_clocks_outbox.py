"""durable timers, SLA clocks, the notice outbox, and users' email addresses

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
    op.create_table(
        "timers",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(100), nullable=True),
        sa.Column("step", sa.Float(), nullable=True),
        sa.Column("due_at", Instant, nullable=False),
        sa.Column("retry_at", Instant, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(500), nullable=True),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("done_at", Instant, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_timers_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    op.create_index(op.f("ix_timers_state_retry_at_id"), "timers", ["state", "retry_at", "id"])
    op.create_index(op.f("ix_timers_case_id_state"), "timers", ["case_id", "state"])
    op.create_table(
        "sla_clocks",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("business", sa.Boolean(), nullable=False),
        sa.Column("calendar", sa.String(100), nullable=False),
        sa.Column("target_seconds", sa.Float(), nullable=True),
        sa.Column("elapsed_seconds", sa.Float(), nullable=False),
        sa.Column("since", Instant, nullable=True),
        sa.Column("due_at", Instant, nullable=True),
        sa.Column("started_at", Instant, nullable=False),
        sa.Column("warned_at", Instant, nullable=True),
        sa.Column("breached_at", Instant, nullable=True),
        sa.Column("stopped_at", Instant, nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("step", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_sla_clocks_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "name", name=op.f("pk_sla_clocks")),
    )
    op.create_index(op.f("ix_sla_clocks_status_due_at"), "sla_clocks", ["status", "due_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("sent_at", Instant, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_outbox_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_sent_at"), "outbox", ["sent_at"])
    op.create_index(op.f("ix_outbox_recipient_created_at"), "outbox", ["recipient", "created_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("sla_clocks")
    op.drop_table("timers")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
