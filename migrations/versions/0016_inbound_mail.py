"""inbound mail: each mail the intake took, by its Message-ID, so that it is taken once

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("received_at", Instant, nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_inbound_mail_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mail")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_mail_message_id")),
    )
    op.create_index(op.f("ix_inbound_mail_received_at"), "inbound_mail", ["received_at"])
    op.create_index(op.f("ix_inbound_mail_case_id"), "inbound_mail", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_mail_case_id"), table_name="inbound_mail")
    op.drop_index(op.f("ix_inbound_mail_received_at"), table_name="inbound_mail")
    op.drop_table("inbound_mail")
