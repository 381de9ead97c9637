"""satisfaction surveys (a digest of each link's token, its answer) and the public pages'
requests (refused survey links, the complaint form's honeypot and rate limit)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer,
                  sa.ForeignKey("cases.id", name="fk_surveys_case_id_cases"), nullable=False),
        sa.Column("customer_id", sa.String(100),
                  sa.ForeignKey("customers.id", name="fk_surveys_customer_id_customers"),
                  nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("expires_at", Instant, nullable=False),
        sa.Column("answered_at", Instant),
        sa.Column("score", sa.Integer),
        sa.Column("comment", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_surveys"),
        sa.UniqueConstraint("token_digest", name="uq_surveys_token_digest"),
    )
    op.create_index("ix_surveys_case_id", "surveys", ["case_id"])
    op.create_index("ix_surveys_customer_id_kind_answered_at", "surveys",
                    ["customer_id", "kind", "answered_at"])
    op.create_table(
        "public_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("client", sa.String(100)),
        sa.Column("at", Instant, nullable=False),
        sa.Column("case_id", sa.Integer,
                  sa.ForeignKey("cases.id", name="fk_public_requests_case_id_cases")),
        sa.Column("detail", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_public_requests"),
    )
    op.create_index("ix_public_requests_page_client_at", "public_requests",
                    ["page", "client", "at"])


def downgrade() -> None:
    op.drop_index("ix_public_requests_page_client_at", table_name="public_requests")
    op.drop_table("public_requests")
    op.drop_index("ix_surveys_customer_id_kind_answered_at", table_name="surveys")
    op.drop_index("ix_surveys_case_id", table_name="surveys")
    op.drop_table("surveys")
