"""case search (SQLite FTS5 trigram, PostgreSQL pg_trgm) kept by triggers, the open cases by
assignee ("My cases"), and saved views per user

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# open and assigned: no query without an assignee can take it for a queue's index
MINE = sa.text("closed_at IS NULL AND assignee IS NOT NULL")

# The search index `case_search` holds one document per searchable text, each naming its case:
# one per case (its summary, customer id and customer name; rowid/id = the case's id), and one
# per conversation entry (its text; rowid/id = minus the entry's id). The search (engine/store/
# case_search.py) reads `case_id` of whatever document matched. Triggers write it in the
# transaction that writes the case or the entry, and only when a searchable value changes: a
# fire that leaves the summary and customer alone writes nothing here.
SQLITE_BODY = ("coalesce(json_extract({row}.fields, '$.summary'), '') || char(10) || "
               "coalesce({row}.customer, '') || char(10) || "
               "coalesce((SELECT name FROM customers WHERE customers.id = {row}.customer), '')")
POSTGRES_BODY = ("coalesce({row}.fields ->> 'summary', '') || E'\\n' || "
                 "coalesce({row}.customer, '') || E'\\n' || "
                 "coalesce((SELECT name FROM customers WHERE customers.id = {row}.customer), '')")
SEARCHED_CHANGED = {
    "sqlite": "json_extract(OLD.fields, '$.summary') IS NOT json_extract(NEW.fields, "
              "'$.summary') OR OLD.customer IS NOT NEW.customer",
    "postgresql": "OLD.fields ->> 'summary' IS DISTINCT FROM NEW.fields ->> 'summary' "
                  "OR OLD.customer IS DISTINCT FROM NEW.customer",
}


def _sqlite_statements() -> list[str]:
    new, old = SQLITE_BODY.format(row="NEW"), SQLITE_BODY.format(row="cases")
    # a customer's name is in the documents of its cases: renamed (or created after its cases,
    # as an import may), those documents are written again
    recase = (f"UPDATE case_search SET body = (SELECT {old} FROM cases "
              "WHERE cases.id = case_search.rowid) "
              "WHERE rowid IN (SELECT id FROM cases WHERE customer = NEW.id)")
    return [
        "CREATE VIRTUAL TABLE case_search USING fts5(body, case_id UNINDEXED, "
        "tokenize = 'trigram')",
        f"INSERT INTO case_search (rowid, body, case_id) SELECT id, {old}, id FROM cases",
        "CREATE TRIGGER cases_search_insert AFTER INSERT ON cases BEGIN "
        f"INSERT INTO case_search (rowid, body, case_id) VALUES (NEW.id, {new}, NEW.id); END",
        "CREATE TRIGGER cases_search_update AFTER UPDATE OF fields, customer ON cases "
        f"WHEN {SEARCHED_CHANGED['sqlite']} BEGIN "
        f"UPDATE case_search SET body = {new} WHERE rowid = NEW.id; END",
        "CREATE TRIGGER cases_search_delete AFTER DELETE ON cases BEGIN "
        "DELETE FROM case_search WHERE rowid = OLD.id; END",
        f"CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN {recase}; END",
        "CREATE TRIGGER customers_search_rename AFTER UPDATE OF name ON customers "
        f"WHEN OLD.name IS NOT NEW.name BEGIN {recase}; END",
        "INSERT INTO case_search (rowid, body, case_id) SELECT -id, body, case_id "
        "FROM case_entries",
        "CREATE TRIGGER entries_search_insert AFTER INSERT ON case_entries BEGIN "
        "INSERT INTO case_search (rowid, body, case_id) VALUES (-NEW.id, NEW.body, "
        "NEW.case_id); END",
        # an entry's text changes only when it is erased or redacted: the index follows
        "CREATE TRIGGER entries_search_update AFTER UPDATE OF body ON case_entries BEGIN "
        "UPDATE case_search SET body = NEW.body WHERE rowid = -NEW.id; END",
        "CREATE TRIGGER entries_search_delete AFTER DELETE ON case_entries BEGIN "
        "DELETE FROM case_search WHERE rowid = -OLD.id; END",
    ]


def _postgres_statements() -> list[str]:
    new, old = POSTGRES_BODY.format(row="NEW"), POSTGRES_BODY.format(row="cases")
    return [
        f"INSERT INTO case_search (id, case_id, body) SELECT id, id, {old} FROM cases",
        "CREATE FUNCTION cases_search_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' THEN DELETE FROM case_search WHERE id = OLD.id; RETURN NULL; "
        f"END IF; INSERT INTO case_search (id, case_id, body) VALUES (NEW.id, NEW.id, {new}) "
        "ON CONFLICT (id) DO UPDATE SET body = excluded.body; RETURN NULL; END $$",
        "CREATE TRIGGER cases_search_insert_delete AFTER INSERT OR DELETE ON cases "
        "FOR EACH ROW EXECUTE FUNCTION cases_search_write()",
        "CREATE TRIGGER cases_search_update AFTER UPDATE OF fields, customer ON cases "
        f"FOR EACH ROW WHEN ({SEARCHED_CHANGED['postgresql']}) "
        "EXECUTE FUNCTION cases_search_write()",
        "CREATE FUNCTION customers_search_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE case_search SET body = {old} FROM cases WHERE cases.customer = NEW.id "
        "AND case_search.id = cases.id; RETURN NULL; END $$",
        "CREATE TRIGGER customers_search_insert AFTER INSERT ON customers "
        "FOR EACH ROW EXECUTE FUNCTION customers_search_write()",
        "CREATE TRIGGER customers_search_rename AFTER UPDATE OF name ON customers "
        "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) "
        "EXECUTE FUNCTION customers_search_write()",
        "INSERT INTO case_search (id, case_id, body) SELECT -id, case_id, body "
        "FROM case_entries",
        "CREATE FUNCTION entries_search_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' THEN DELETE FROM case_search WHERE id = -OLD.id; RETURN NULL; "
        "END IF; INSERT INTO case_search (id, case_id, body) VALUES (-NEW.id, NEW.case_id, "
        "NEW.body) ON CONFLICT (id) DO UPDATE SET body = excluded.body; RETURN NULL; END $$",
        "CREATE TRIGGER entries_search_write AFTER INSERT OR DELETE OR UPDATE OF body "
        "ON case_entries FOR EACH ROW EXECUTE FUNCTION entries_search_write()",
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        # pg_trgm ships with PostgreSQL (contrib); creating it needs a role that may
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_table(
            "case_search",
            sa.Column("id", sa.BigInteger(), nullable=False),
            sa.Column("case_id", sa.BigInteger(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_case_search"),
        )
    for statement in _sqlite_statements() if sqlite else _postgres_statements():
        op.execute(statement)
    if not sqlite:
        op.create_index("ix_case_search_body", "case_search", ["body"],
                        postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"})
        op.create_index("ix_case_search_case_id", "case_search", ["case_id"])
    # "My cases": a user's open cases, soonest SLA due first, from an index of open cases only
    op.create_index("ix_cases_assignee_sla_due_at_id", "cases", ["assignee", "sla_due_at", "id"],
                    sqlite_where=MINE, postgresql_where=MINE)
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("page", sa.String(300), nullable=False),
        sa.Column("filters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"],
                                name="fk_saved_views_user_name_users"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint("user_name", "name", name="uq_saved_views_user_name_name"),
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_table("saved_views")
    op.drop_index("ix_cases_assignee_sla_due_at_id", table_name="cases")
    if sqlite:
        for name in ("cases_search_insert", "cases_search_update", "cases_search_delete",
                     "customers_search_insert", "customers_search_rename",
                     "entries_search_insert", "entries_search_update",
                     "entries_search_delete"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE case_search")
        return
    for trigger, table in (("cases_search_insert_delete", "cases"),
                           ("cases_search_update", "cases"),
                           ("customers_search_insert", "customers"),
                           ("customers_search_rename", "customers"),
                           ("entries_search_write", "case_entries")):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION cases_search_write()")
    op.execute("DROP FUNCTION customers_search_write()")
    op.execute("DROP FUNCTION entries_search_write()")
    op.drop_table("case_search")
