"""The tables. Alembic migrations (migrations/versions) create them; this module describes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.kernel.history import GENESIS

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back time-zone aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; every instant must be aware")
        moment = value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)


class field_text(FunctionElement[str]):  # noqa: N801 (used like a SQL function)
    """`field_text(cases.c.fields, "summary")`: one field of a JSON document as text, with the
    field's name written into the SQL rather than bound, so that the expression is the very one
    an index holds (SQLite matches an indexed expression only to the same expression)."""

    type = sa.String()
    inherit_cache = True

    def __init__(self, document: Any, name: str) -> None:
        if not name.isidentifier() or not name.isascii():
            raise ValueError(f"field name {name!r} cannot be written into SQL")
        super().__init__(document, sa.literal_column(f"'{name}'"))


def _field_parts(element: field_text, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    document, name = element.clauses.clauses
    return compiler.process(document, **kw), str(name.name).strip("'")


@compiles(field_text)
def _sqlite_field(element: field_text, compiler: SQLCompiler, **kw: Any) -> str:
    document, name = _field_parts(element, compiler, **kw)
    return f"json_extract({document}, '$.{name}')"


@compiles(field_text, "postgresql")
def _postgres_field(element: field_text, compiler: SQLCompiler, **kw: Any) -> str:
    document, name = _field_parts(element, compiler, **kw)
    return f"({document} ->> '{name}')"


definitions = sa.Table(
    "definitions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # workflow | table
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_path", sa.String(500), nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("kind", "name", "version"),
)

# Every activation of a decision-table version, newest last (append-only).
publications = sa.Table(
    "publications", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("definition_id", sa.ForeignKey("definitions.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("published_by", sa.String(100), nullable=False),
    # the second manager who approved it, for a definition that says `approval: required`
    # (engine/workflows/approvals.py; migration 0027)
    sa.Column("approved_by", sa.String(100)),
    sa.Index(None, "kind", "name"),
)

# Publications waiting for a second manager (`approval: required`): the text proposed, what
# was active when it was proposed (its base: approving is refused once that changed), and how
# the request ended (engine/workflows/approvals.py).
publication_requests = sa.Table(
    "publication_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # workflow | table
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_path", sa.String(500), nullable=False),
    sa.Column("base_id", sa.ForeignKey("definitions.id")),  # the active version, if any
    sa.Column("tests", sa.String(500), nullable=False),  # what its tests found when proposed
    sa.Column("proposed_by", sa.String(100), nullable=False),
    sa.Column("proposed_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending|approved|rejected|withdrawn
    sa.Column("decided_by", sa.String(100)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("reason", sa.String(1000)),
    sa.Index(None, "state", "id"),
)

# Jobs requested from the browser and run by a worker (engine/jobs/requested.py): a tier
# recompute, a year's cycles, the record reviews. A worker claims a queued job under a lease
# as it claims timers; a running job whose lease ran out is taken over.
_ACTIVE_RECOMPUTE = sa.text("kind = 'recompute' AND state IN ('queued', 'running')")
jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # recompute | cycles | reviews
    sa.Column("arguments", JSONDoc, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # queued | running | done | failed
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer),
    sa.Column("summary", sa.Text),
    sa.Column("requested_by", sa.String(100), nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("error", sa.Text),
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Index(None, "state", "id"),
    # only one recompute at a time, whoever asks and however many servers take the request
    sa.Index("ux_jobs_one_recompute", "kind", unique=True,
             sqlite_where=_ACTIVE_RECOMPUTE, postgresql_where=_ACTIVE_RECOMPUTE),
)

_OPEN = sa.text("closed_at IS NULL")
_MINE = sa.text("closed_at IS NULL AND assignee IS NOT NULL")
QUEUE_ORDERS = ("sla_due_at", "created_at", "updated_at")  # the columns a queue is read by
cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("definition_id", sa.ForeignKey("definitions.id"), nullable=False),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("queue", sa.String(100)),
    sa.Column("assignee", sa.String(100)),
    sa.Column("customer", sa.String(100)),
    sa.Column("fields", JSONDoc, nullable=False),
    sa.Column("lock_version", sa.Integer, nullable=False),
    sa.Column("history_seq", sa.Integer, nullable=False),
    sa.Column("history_head", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    # The SLA of the clocks that still count, kept by the transaction that writes them
    # (engine/store/timers.py): what queue pages sort and filter by without reading the clocks.
    sa.Column("sla_status", sa.String(16), nullable=False, server_default="none"),
    sa.Column("sla_due_at", UTCDateTime),  # the soonest due time of those clocks
    sa.Index(None, "assignee"),
    sa.Index(None, "customer"),
    # Open cases only, in the orders a queue page reads them (engine/store/views.py), and every
    # column the state lists read (closed_at too: SQLite would otherwise read it from the
    # table): none of them grows with the closed cases. On SQLite the orders' indexes also hold
    # what the page filters and searches by, so that a filtered page reads the table only for
    # the rows it shows (migration 0010); on PostgreSQL migration 0009 adds the statistics
    # st_cases_queue_closed_at, which no Table describes.
    sa.Index(None, "queue", "state", "sla_status", "assignee", "closed_at",
             sqlite_where=_OPEN, postgresql_where=_OPEN),
    *(sa.Index(None, "queue", column, "id", postgresql_where=_OPEN).ddl_if(dialect="postgresql")
      for column in QUEUE_ORDERS),
    # "My cases": a user's open cases, soonest SLA due first (engine/store/case_search.py);
    # assigned ones only, so that no query without an assignee takes it for a queue's index
    sa.Index(None, "assignee", "sla_due_at", "id", sqlite_where=_MINE, postgresql_where=_MINE),
)
# what a queue page filters and searches by besides the queue (engine/store/views.py)
QUEUE_FILTERS = (field_text(cases.c.fields, "severity"), field_text(cases.c.fields, "summary"),
                 cases.c.customer, cases.c.state, cases.c.assignee, cases.c.sla_status)
for _column in QUEUE_ORDERS:
    sa.Index(f"ix_cases_open_by_{_column}", cases.c.queue, cases.c[_column], cases.c.id,
             *QUEUE_FILTERS, sqlite_where=_OPEN).ddl_if(dialect="sqlite")

# The open cases per queue, SLA status and (un)assigned, for the queue list: the count when it
# was last folded (engine/store/queue_counts.py), and the changes since, which triggers on
# cases add in the transaction that changes a case (migration 0010).
queue_counts, queue_count_changes = (sa.Table(
    name, metadata, *extra,
    sa.Column("queue", sa.String(100), primary_key=not extra, nullable=False),
    sa.Column("sla_status", sa.String(16), primary_key=not extra, nullable=False),
    sa.Column("unassigned", sa.Boolean, primary_key=not extra, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
) for name, extra in (
    ("queue_counts", []),
    ("queue_count_changes",
     [sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)])))

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("case_id", sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("role", sa.String(32)),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("from_state", sa.String(100)),
    sa.Column("to_state", sa.String(100)),
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON, byte for byte as hashed
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("case_id", "seq"),
    sa.Index(None, "name", "at"),
    sa.Index(None, "actor", "at"),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200)),
    sa.Column("roles", JSONDoc, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("email", sa.String(320)),  # where notices go (the outbox's SMTP sender)
    sa.Column("password_hash", sa.String(200)),  # argon2id; null: may not sign in
)

# API tokens for systems: only the SHA-256 of each token is kept (engine/kernel/accounts.py).
api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("user_name", sa.ForeignKey("users.name"), nullable=False),
    sa.Column("label", sa.String(200)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

# Server-side web sessions (web/security.py): every server process sees the same sessions.
# `key` is the SHA-256 of the session id (the cookie keeps the id), like api_tokens.digest.
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("expires_at", UTCDateTime, index=True),
)

# Where each round-robin pool last handed out a case, so the next one goes to the next user.
assignment_cursors = sa.Table(
    "assignment_cursors", metadata,
    sa.Column("pool", sa.String(200), primary_key=True),
    sa.Column("last_user", sa.String(100), nullable=False),
)

# Files imported, by content: importing the same file again adds nothing.
imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("imported_at", UTCDateTime, nullable=False),
    # an import commits in batches: until its last one it is unfinished, and importing the
    # same file again carries on where it stopped (migration 0025)
    sa.Column("finished_at", UTCDateTime),
)

customers = sa.Table(
    "customers", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("type", sa.String(16), nullable=False),  # personal | enterprise
    sa.Column("status", sa.String(16), nullable=False),  # potential | active | dormant | lost
    sa.Column("name", sa.String(200)),
    sa.Column("email", sa.String(200)),
    sa.Column("phone", sa.String(50)),
    sa.Column("industry", sa.String(100)),
    sa.Column("region", sa.String(100)),
    sa.Column("owner", sa.String(100)),  # the account manager
    sa.Column("tier", sa.String(32)),
    sa.Column("reviewed_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # the head of the customer's own history chain (customer_events), as on a case row
    sa.Column("history_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("history_head", sa.String(64), nullable=False, server_default=GENESIS),
    sa.Column("erased_at", UTCDateTime),  # its personal data erased on request
    sa.Index(None, "tier"),
)
# mail and the web form find their customer by the sender's address, whatever its case
sa.Index("ix_customers_email_lower", sa.func.lower(customers.c.email))

# The figures of each customer's latest recompute (`casework tiers recompute`), one row each.
customer_figures = sa.Table(
    "customer_figures", metadata,
    sa.Column("customer_id", sa.ForeignKey("customers.id"), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False),
    sa.Column("recency_days", sa.Integer),  # null: no purchase yet
    sa.Column("frequency", sa.Integer, nullable=False),  # purchase occasions (days)
    sa.Column("monetary", sa.Numeric(14, 2), nullable=False),  # total spend
    sa.Column("revenue_12m", sa.Numeric(14, 2), nullable=False),
    sa.Column("revenue_share", sa.Float, nullable=False),
    sa.Column("years_active", sa.Float, nullable=False),
    sa.Column("r_score", sa.Integer, nullable=False),  # 1..5, 0: no purchase yet
    sa.Column("f_score", sa.Integer, nullable=False),
    sa.Column("m_score", sa.Integer, nullable=False),
    sa.Column("p_alive", sa.Float, nullable=False),
    sa.Column("expected_purchases", sa.Float, nullable=False),
    sa.Column("expected_spend", sa.Float, nullable=False),
    sa.Column("clv", sa.Float, nullable=False),
    sa.Column("churn_risk", sa.String(32)),
    sa.Column("tier_rule", sa.String(100)),  # the customer_tier row that decided the tier
    sa.Column("tier_table_version", sa.Integer),
)

customer_events = sa.Table(
    "customer_events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("customer_id", sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("role", sa.String(32)),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON, byte for byte as hashed
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("customer_id", "seq"),
    sa.Index(None, "name", "at"),
)

purchases = sa.Table(
    "purchases", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("customer_id", sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),  # money: never a float
    sa.Column("import_id", sa.ForeignKey("imports.id")),
    sa.Column("line", sa.Integer),  # the line of the imported file it came from
    # what recognises the purchase when a corrected file brings it again (engine.customers.
    # files.NaturalKeys): an import adds a purchase only if its customer has none with its key
    sa.Column("natural_key", sa.String(200), nullable=False),
    # covering: a recompute sums every customer's days from the index alone
    sa.Index(None, "customer_id", "day", "amount"),
    sa.Index(None, "customer_id", "natural_key", unique=True),
)

# Durable timers: a workflow timer fires a trigger; an SLA timer looks at a clock at a lateness
# step. A worker claims due rows (retry_at <= now); a failing one is retried later, never lost.
timers = sa.Table(
    "timers", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("case_id", sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # timer | sla
    sa.Column("name", sa.String(100), nullable=False),  # the timer's or the clock's name
    sa.Column("trigger", sa.String(100)),  # kind timer: what it fires
    sa.Column("step", sa.Float),  # kind sla: the lateness it looks at (0.8, 1.0, 1.5 ...)
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("retry_at", UTCDateTime, nullable=False),  # due_at, later after a failure
    sa.Column("state", sa.String(16), nullable=False),  # pending | fired | cancelled
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("outcome", sa.String(500)),  # what firing did, e.g. "skipped: ... condition not met"
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime),  # fired or cancelled
    # the lease of a worker's claim on a pending timer: who, and until when no other worker
    # takes it over (engine/store/sweeps.py; migration 0025)
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Index(None, "state", "retry_at", "id"),  # the claim's order: no sort per claim
    sa.Index(None, "case_id", "state"),
    # one pending timer per case, kind and name: arming it again retargets it (store/timers.py)
    sa.Index("ux_timers_pending", "case_id", "kind", "name", unique=True,
             sqlite_where=sa.text("state = 'pending'"),
             postgresql_where=sa.text("state = 'pending'")),
)

# Each case's SLA clocks: business (or calendar) time counted while running, up to `since`.
sla_clocks = sa.Table(
    "sla_clocks", metadata,
    sa.Column("case_id", sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | paused | stopped
    sa.Column("business", sa.Boolean, nullable=False),
    sa.Column("calendar", sa.String(100), nullable=False),
    sa.Column("target_seconds", sa.Float),  # null: the case does not say yet
    sa.Column("elapsed_seconds", sa.Float, nullable=False),
    sa.Column("since", UTCDateTime),  # start of the current running stretch
    sa.Column("due_at", UTCDateTime),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("warned_at", UTCDateTime),
    sa.Column("breached_at", UTCDateTime),
    sa.Column("stopped_at", UTCDateTime),
    sa.Column("level", sa.Integer, nullable=False),  # escalation level reached
    sa.Column("step", sa.Float, nullable=False),  # the highest lateness step looked at
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "stopped_at"),  # the dashboards' recent weeks
)

# Forms and API requests applied once: a page's form carries a key made when it was shown, an
# API call an Idempotency-Key header; a second submission with a key stored here is answered
# without applying it again (engine/cases/submissions.py). The worker forgets keys after a day.
form_submissions = sa.Table(
    "form_submissions", metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("user_name", sa.String(100), nullable=False),
    sa.Column("case_id", sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(200), nullable=False),  # what it applied, e.g. "fired triage"
    sa.Index(None, "at"),
)

# Mail waiting to be read or sent: notices to people (escalations name who must hear of a late
# case) and mail to customers about their cases (engine.channels.mailing).
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.ForeignKey("cases.id")),
    sa.Column("recipient", sa.String(100), nullable=False),  # a user name or a customer id
    sa.Column("address", sa.String(320)),  # the user's or customer's email, if known
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    # its Message-ID (engine/channels/threads.py): a reply quoting it finds the case
    sa.Column("message_id", sa.String(300)),
    # whom `recipient` names: a person (a user) or a customer (engine.kernel.records.Audience)
    sa.Column("audience", sa.String(16), nullable=False, server_default="person"),
    # the thread it answers: its In-Reply-To and its References (Message-IDs, space-separated)
    sa.Column("in_reply_to", sa.String(300)),
    sa.Column("thread_refs", sa.Text),
    # sent by casework on its own (an acknowledgement): Auto-Submitted: auto-generated
    sa.Column("automatic", sa.Boolean, nullable=False, server_default=sa.false()),
    # retries: not before next_attempt_at (null: at once); failed_at: given up for good
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("failed_at", UTCDateTime),
    sa.Index(None, "sent_at"),
    sa.Index(None, "message_id", unique=True),
    sa.Index(None, "recipient", "created_at"),
)

# Each user's saved views: a page (a queue, the search, My cases) with its filters, by name.
saved_views = sa.Table(
    "saved_views", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_name", sa.ForeignKey("users.name"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("page", sa.String(300), nullable=False),  # a path of this site
    sa.Column("filters", JSONDoc, nullable=False),  # its query parameters, name -> value
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("user_name", "name"),
)

# One conversation per case (engine/cases/conversation.py): internal notes, messages to the
# customer (each queued in the outbox, whose row says whether it was sent), messages from the
# customer. The body is kept here, apart from the hashed history, whose events name the entry.
case_entries = sa.Table(
    "case_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # note | to_customer | from_customer
    sa.Column("author", sa.String(100), nullable=False),  # who wrote or recorded it
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("outbox_id", sa.ForeignKey("outbox.id")),  # a message to the customer's mail
    sa.Column("erased_at", UTCDateTime),  # its text and files erased (engine/kernel/personal.py)
    sa.Index(None, "case_id", "id"),
)

# Files attached to an entry: their bytes are in a folder of the home (settings.attachments),
# under the storage key, and served only to those who may see the case.
entry_attachments = sa.Table(
    "entry_attachments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.ForeignKey("case_entries.id"), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(100), nullable=False, unique=True),
    sa.Index(None, "entry_id"),
)

# Notifications to people (engine/cases/notifying.py): each user's list in the app, newest
# first, and its unread count in every page's header (one count over the index on user and
# read_at: the unread rows are those whose read_at is null).
notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_name", sa.ForeignKey("users.name"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # engine.kernel.notifications' kinds
    sa.Column("case_id", sa.ForeignKey("cases.id")),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime),
    sa.Index(None, "user_name", "read_at"),
    sa.Index(None, "user_name", "id"),
)

# Which kinds of notification reach each user by email: a row only where they chose; the rest
# follow engine.kernel.notifications.EMAIL_BY_DEFAULT.
notification_choices = sa.Table(
    "notification_choices", metadata,
    sa.Column("user_name", sa.ForeignKey("users.name"), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("email", sa.Boolean, nullable=False),
)

# Each mail the intake took from the mailbox (engine/channels/intake.py), by its Message-ID (or
# the digest of a mail without one): written in the transaction that opens or answers its case,
# so that a mail fetched again (a fetch killed before it moved the mail) is skipped.
inbound_mail = sa.Table(
    "inbound_mail", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.String(300), nullable=False, unique=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("case_id", sa.ForeignKey("cases.id")),  # the case it opened or landed on
    sa.Column("outcome", sa.String(16), nullable=False),  # engine.channels.intake.Outcome
    sa.Column("reason", sa.Text),  # why: a flag, what made it automatic, why it was refused
    sa.Index(None, "received_at"),
    sa.Index(None, "case_id"),
)

# Satisfaction surveys (engine/channels/surveys.py): a signed link sent to the case's customer,
# answered once before it expires. Only a digest of the link's token is kept.
surveys = sa.Table(
    "surveys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("customer_id", sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # csat | nps
    sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("score", sa.Integer),
    sa.Column("comment", sa.Text),
    sa.Index(None, "case_id"),
    sa.Index(None, "customer_id", "kind", "answered_at"),  # a year's answers (the KPIs)
)

# What the public pages (a survey link, the complaint form) were asked, by client address:
# refused links, bots caught by the honeypot, forms sent. Kept in the database so that every
# server counts the same forms towards one address's rate limit.
public_requests = sa.Table(
    "public_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("page", sa.String(16), nullable=False),  # survey | form
    sa.Column("outcome", sa.String(16), nullable=False),  # e.g. forged, expired, honeypot
    sa.Column("client", sa.String(100)),  # the client's address
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("case_id", sa.ForeignKey("cases.id")),
    sa.Column("detail", sa.String(500)),
    sa.Index(None, "page", "client", "at"),
)

# The vault of personal values (engine/kernel/personal.py): events hold {"$personal": ref} where
# they would hold a personal value; the value and its salt are kept here under ref, with whose
# it is. Erasure clears value and salt and keeps ref with when, by whom and the protection-log
# entry that says why.
personal_values = sa.Table(
    "personal_values", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("ref", sa.String(64), nullable=False, unique=True),
    sa.Column("customer_id", sa.String(100), index=True),
    sa.Column("case_id", sa.Integer, index=True),
    sa.Column("value", sa.Text),  # canonical JSON; null once erased
    sa.Column("salt", sa.String(32)),  # hex; null once erased
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("erased_at", UTCDateTime),
    sa.Column("erased_by", sa.String(100)),
    sa.Column("erasure_seq", sa.Integer),  # the protection_log entry of its erasure
)

# The data-protection log (engine/kernel/protection.py): erasures, deletions, holds and
# retention runs in one hash chain of their own.
protection_log = sa.Table(
    "protection_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False, unique=True),
    sa.Column("act", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON, byte for byte as hashed
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "act", "subject"),
)

# This installation's identity (one row, made by migration 0022 with a random id): a signed
# checkpoint names it, and verify refuses a checkpoint of another installation. A restored
# backup keeps it.
installation = sa.Table(
    "installation", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Legal holds (engine/kernel/holds.py): while a hold on a case or on its customer is not
# released, retention leaves the case alone. Holds are kept after release, with who and when;
# no foreign keys, so that the record of a hold outlives what it held.
legal_holds = sa.Table(
    "legal_holds", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(100)),
    sa.Column("case_id", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("placed_by", sa.String(100), nullable=False),
    sa.Column("placed_at", UTCDateTime, nullable=False),
    sa.Column("released_at", UTCDateTime),
    sa.Column("released_by", sa.String(100)),
    sa.Column("release_reason", sa.Text),
    sa.CheckConstraint("(customer_id IS NULL) <> (case_id IS NULL)",
                       name="ck_legal_holds_one_subject"),
    sa.Index(None, "customer_id"),
    sa.Index(None, "case_id"),
)

# Failed sign-ins (engine/kernel/sign_ins.py), one row per account name ("name:ann") and per
# client address ("client:192.0.2.7"), in the database so that every server process counts
# alike: failures since `since`, and for a name, until when it is locked.
sign_in_throttles = sa.Table(
    "sign_in_throttles", metadata,
    sa.Column("key", sa.String(160), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("since", UTCDateTime),
    sa.Column("locked_until", UTCDateTime),
)

# The security log: sign-ins succeeded, failed, throttled, locks set and lifted, sign-outs.
# Append-only: nothing in casework updates or deletes a row.
security_log = sa.Table(
    "security_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # engine.kernel.sign_ins.SecurityEventKind
    sa.Column("name", sa.String(150)),  # the name given, known or not
    sa.Column("client", sa.String(100)),
    sa.Column("user_agent", sa.String(200)),
    sa.Column("detail", sa.String(500)),
    sa.Index(None, "at"),
    sa.Index(None, "name", "at"),
)

# Unpublished edits of tables and workflows (engine/workflows/drafts.py): one per definition
# and author, replaced on each save, dropped when discarded or when its author publishes.
drafts = sa.Table(
    "drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # engine.workflows.drafts.DraftKind
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("author", sa.String(150), nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.UniqueConstraint("kind", "name", "author"),
)
