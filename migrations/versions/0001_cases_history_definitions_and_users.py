"""cases, history, definitions and users

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Instant = sa.DateTime(timezone=True)

# History rows are never updated or deleted; the database refuses it too (the hash chain still
# detects changes made by someone who drops these triggers).
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
]
POSTGRES_APPEND_ONLY = [
    "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'history is append-only'; END $$",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "assignment_cursors",
        sa.Column("pool", sa.String(200), nullable=False),
        sa.Column("last_user", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("pool", name=op.f("pk_assignment_cursors")),
    )
    op.create_table(
        "definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_path", sa.String(500), nullable=False),
        sa.Column("loaded_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definitions")),
        sa.UniqueConstraint("kind", "name", "version",
                            name=op.f("uq_definitions_kind_name_version")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("roles", JSONDoc, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(100), nullable=False),
        sa.Column("queue", sa.String(100), nullable=True),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("customer", sa.String(100), nullable=True),
        sa.Column("fields", JSONDoc, nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("history_seq", sa.Integer(), nullable=False),
        sa.Column("history_head", sa.String(64), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
        sa.Column("closed_at", Instant, nullable=True),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"],
                                name=op.f("fk_cases_definition_id_definitions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_assignee"), "cases", ["assignee"])
    op.create_index(op.f("ix_cases_customer"), "cases", ["customer"])
    op.create_index(op.f("ix_cases_queue_state"), "cases", ["queue", "state"])
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("at", Instant, nullable=False),
        sa.Column("from_state", sa.String(100), nullable=True),
        sa.Column("to_state", sa.String(100), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_events_case_id_seq")),
    )
    op.create_index(op.f("ix_events_actor_at"), "events", ["actor", "at"])
    op.create_index(op.f("ix_events_name_at"), "events", ["name", "at"])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_APPEND_ONLY if dialect == "sqlite" else POSTGRES_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_append_only ON events")
        op.execute("DROP FUNCTION events_append_only()")
    op.drop_table("events")
    op.drop_table("cases")
    op.drop_table("users")
    op.drop_table("definitions")
    op.drop_table("assignment_cursors")
