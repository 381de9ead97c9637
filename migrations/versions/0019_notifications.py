"""notifications to people: each user's list in the app, and which kinds reach them by email

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("case_id", sa.Integer()),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("read_at", Instant),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"],
                                name=op.f("fk_notifications_user_name_users")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_notifications_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_user_name_read_at"), "notifications",
                    ["user_name", "read_at"])
    op.create_index(op.f("ix_notifications_user_name_id"), "notifications", ["user_name", "id"])
    op.create_table(
        "notification_choices",
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"],
                                name=op.f("fk_notification_choices_user_name_users")),
        sa.PrimaryKeyConstraint("user_name", "kind", name=op.f("pk_notification_choices")),
    )


def downgrade() -> None:
    op.drop_table("notification_choices")
    op.drop_index(op.f("ix_notifications_user_name_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_user_name_read_at"), table_name="notifications")
    op.drop_table("notifications")
