"""four-eyes publishing (publication requests, and who approved a publication) and jobs
requested from the browser, run by the worker (one tier recompute at a time)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ACTIVE_RECOMPUTE = sa.text("kind = 'recompute' AND state IN ('queued', 'running')")


def upgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(100)))
    op.create_table(
        "publication_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_path", sa.String(500), nullable=False),
        sa.Column("base_id", sa.Integer, sa.ForeignKey("definitions.id")),
        sa.Column("tests", sa.String(500), nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=False),
        sa.Column("proposed_at", Instant, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", Instant),
        sa.Column("reason", sa.String(1000)),
    )
    op.create_index("ix_publication_requests_state_id", "publication_requests", ["state", "id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("arguments", JSONDoc, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer),
        sa.Column("summary", sa.Text),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", Instant, nullable=False),
        sa.Column("started_at", Instant),
        sa.Column("finished_at", Instant),
        sa.Column("error", sa.Text),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("lease_until", Instant),
    )
    op.create_index("ix_jobs_state_id", "jobs", ["state", "id"])
    op.create_index("ux_jobs_one_recompute", "jobs", ["kind"], unique=True,
                    sqlite_where=_ACTIVE_RECOMPUTE, postgresql_where=_ACTIVE_RECOMPUTE)


def downgrade() -> None:
    op.drop_index("ux_jobs_one_recompute", table_name="jobs")
    op.drop_index("ix_jobs_state_id", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_publication_requests_state_id", table_name="publication_requests")
    op.drop_table("publication_requests")
    with op.batch_alter_table("publications") as batch:
        batch.drop_column("approved_by")
