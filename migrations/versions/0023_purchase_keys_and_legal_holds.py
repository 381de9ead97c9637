"""purchases recognised by a natural key (imports never double), and legal holds

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

Instant = sa.DateTime(timezone=True)
BATCH = 5000

# A case's history stays append-only, except that retention may delete the events of a case
# whose deletion the protection log records (engine/store/retention.py writes that entry first,
# in the same transaction). Anyone else deleting events is refused as before.
_LOGGED = ("EXISTS (SELECT 1 FROM protection_log WHERE act = 'case.deleted' "
           "AND subject = CAST(OLD.case_id AS {text}))")
SQLITE_DELETE = [
    "DROP TRIGGER events_no_delete",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    f"WHEN NOT {_LOGGED.format(text='TEXT')} "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
]
# one trigger, its name unchanged (customer_events keeps events_append_only() for itself)
POSTGRES_DELETE = [
    "CREATE FUNCTION events_history_guard() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN IF TG_OP = 'DELETE' AND {_LOGGED.format(text='TEXT')} THEN RETURN OLD; END IF; "
    "RAISE EXCEPTION 'history is append-only'; END $$",
    "DROP TRIGGER events_append_only ON events",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_history_guard()",
]
SQLITE_RESTORE = [
    "DROP TRIGGER events_no_delete",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
]
POSTGRES_RESTORE = [
    "DROP TRIGGER events_append_only ON events",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
    "DROP FUNCTION events_history_guard()",
]


def upgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("natural_key", sa.String(200)))
    _fill_keys()
    with warnings.catch_warnings():
        # SQLite copies the table to change a column, reflecting the customers table it refers
        # to, whose index on lower(email) SQLAlchemy cannot read back (and need not: it stays)
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        with op.batch_alter_table("purchases") as batch:
            batch.alter_column("natural_key", existing_type=sa.String(200), nullable=False)
    op.create_index(op.f("ix_purchases_customer_id_natural_key"), "purchases",
                    ["customer_id", "natural_key"], unique=True)
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(100)),
        sa.Column("case_id", sa.Integer()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(100), nullable=False),
        sa.Column("placed_at", Instant, nullable=False),
        sa.Column("released_at", Instant),
        sa.Column("released_by", sa.String(100)),
        sa.Column("release_reason", sa.Text()),
        sa.CheckConstraint("(customer_id IS NULL) <> (case_id IS NULL)",
                           name="ck_legal_holds_one_subject"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_customer_id"), "legal_holds", ["customer_id"])
    op.create_index(op.f("ix_legal_holds_case_id"), "legal_holds", ["case_id"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DELETE if sqlite else POSTGRES_DELETE:
        op.execute(statement)


def _fill_keys() -> None:
    """The purchases already stored get the keys an import gives them
    (engine.customers.files.natural_key): day/amount/occurrence, the occurrence of the same
    customer, day and amount counted in id order (the order they were imported in)."""
    connection = op.get_bind()
    seen: dict[tuple[str, str, Decimal], int] = {}
    batch: list[dict[str, Any]] = []
    for purchase_id, customer, day, amount in _purchases(connection):
        money = Decimal(str(amount)).quantize(Decimal("0.01"))
        triple = (str(customer), str(day)[:10], money)
        n = seen[triple] = seen.get(triple, 0) + 1
        batch.append({"pid": purchase_id, "key": f"{triple[1]}/{money}/{n}"})
        if len(batch) >= BATCH:
            _write(connection, batch)
            batch = []
    _write(connection, batch)


def _purchases(connection: sa.Connection) -> Iterator[tuple[Any, ...]]:
    # read whole before writing: SQLite cannot update a table while a cursor reads it
    rows = connection.execute(sa.text(
        "SELECT id, customer_id, day, amount FROM purchases ORDER BY id")).all()
    yield from (tuple(row) for row in rows)


def _write(connection: sa.Connection, batch: list[dict[str, Any]]) -> None:
    if batch:
        connection.execute(sa.text("UPDATE purchases SET natural_key = :key WHERE id = :pid"),
                           batch)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_RESTORE if sqlite else POSTGRES_RESTORE:
        op.execute(statement)
    op.drop_index(op.f("ix_legal_holds_case_id"), "legal_holds")
    op.drop_index(op.f("ix_legal_holds_customer_id"), "legal_holds")
    op.drop_table("legal_holds")
    op.drop_index(op.f("ix_purchases_customer_id_natural_key"), "purchases")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("natural_key")
