"""form submissions applied once: the key of each form or API request that fired a step

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_form_submissions_case_id_cases")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_form_submissions")),
    )
    op.create_index(op.f("ix_form_submissions_at"), "form_submissions", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_form_submissions_at"), table_name="form_submissions")
    op.drop_table("form_submissions")
