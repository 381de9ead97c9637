"""publications: which decision-table version was made active, when and by whom

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Append-only: the newest publication of a table whose effective dates contain the moment of
    # a decision is the version in force; older rows are the record of past activations.
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"],
                                name=op.f("fk_publications_definition_id_definitions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    op.create_index(op.f("ix_publications_kind_name"), "publications", ["kind", "name"])


def downgrade() -> None:
    op.drop_table("publications")
