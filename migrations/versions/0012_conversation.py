"""one conversation per case: its entries (notes, messages to and from the customer) and their
attachments, whose bytes are kept in files outside the rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer,
                  sa.ForeignKey("cases.id", name="fk_case_entries_case_id_cases"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("outbox_id", sa.Integer,
                  sa.ForeignKey("outbox.id", name="fk_case_entries_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name="pk_case_entries"),
    )
    op.create_index("ix_case_entries_case_id_id", "case_entries", ["case_id", "id"])
    op.create_table(
        "entry_attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer,
                  sa.ForeignKey("case_entries.id",
                                name="fk_entry_attachments_entry_id_case_entries"),
                  nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entry_attachments"),
        sa.UniqueConstraint("storage_key", name="uq_entry_attachments_storage_key"),
    )
    op.create_index("ix_entry_attachments_entry_id", "entry_attachments", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_entry_attachments_entry_id", table_name="entry_attachments")
    op.drop_table("entry_attachments")
    op.drop_index("ix_case_entries_case_id_id", table_name="case_entries")
    op.drop_table("case_entries")
