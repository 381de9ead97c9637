"""`casework demo`: a working casework on the shipped sample, from nothing, in one command."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from engine.cases.runtime import Actor
from engine.cli.serve import run_server
from engine.cli.support import (
    common,
    definitions_source,
    handles_errors,
    opened,
    settings_of,
    show_case,
)
from engine.customers.records import TIER_TABLE
from engine.demodata import CDNOW_SAMPLE
from engine.jobs.opening import CYCLE_WORKFLOW
from engine.kernel.accounts import hash_password
from engine.kernel.errors import NotFound
from engine.kernel.specs import WorkflowSpec
from engine.rules.tables import TableSpec
from engine.wiring import Casework
from engine.workflows.registry import (
    definitions_home,
    load_calendars,
    load_tables,
    load_workflows,
)

MANAGED_TIERS = ("strategic", "key")  # the tiers whose customers have account managers
DEMO_STEPS = [
    ("triage", {"category": "after_sales", "severity": "high"}),
    ("respond", {"first_response": "Sorry to hear that; we are checking your order now"}),
    ("ask_customer", {"question": "Which order was it, and which discs are missing?"}),
    ("customer_replied", {"answer": "The order of 18 January; discs 3 and 4"}),
    ("resolve", {"resolution": "Sent discs 3 and 4 by express post", "remedy": "replacement",
                 "root_cause": "The box set was packed from an incomplete lot"}),
]


# What the demo works with: complaints, the annual cycles and the tier table.
DEMO_NEEDS = ["workflows/complaint.yaml", f"workflows/{CYCLE_WORKFLOW}.yaml",
              f"rules/{TIER_TABLE}.yaml"]
# The complaint the demo works from intake to resolution and shows.
SHOWCASE_CUSTOMER = "00004"
SHOWCASE = {"channel": "phone", "summary": "The box set arrived with two discs missing"}
DEMO_AS_OF = date(1998, 6, 30)
# Who can sign in to the demo: name, role, password (printed by the demo: it is a demo).
DEMO_USERS = [("alice", "agent"), ("bob", "agent"), ("sam", "supervisor"),
              ("kim", "account_manager"), ("max", "manager"), ("ada", "auditor"),
              ("root", "admin")]
DEMO_SUMMARIES = [
    "Parcel arrived damaged, two CDs cracked", "Charged twice for the same order",
    "Order shipped to the old address", "Download link in the receipt does not work",
    "Wrong edition of the box set delivered", "Refund promised three weeks ago, not received",
    "Courier left the parcel at the wrong door", "Pre-order cancelled without notice",
]
DEMO_SEVERITIES = ["low", "medium", "high", "critical"]
DEMO_CATEGORIES = ["after_sales", "billing", "technical", "after_sales"]


def demo_password(name: str) -> str:
    return f"{name}-demo"


def _demo_users(casework: Casework, now: datetime) -> None:
    for name, role in DEMO_USERS:
        if casework.store.user_roles(name) is None:
            casework.store.add_user(name, [role], now, name.title(), f"{name}@example.com",
                                    hash_password(demo_password(name)))


def _definitions(home: Path) -> tuple[list[tuple[TableSpec, str]],
                                      list[tuple[WorkflowSpec, str]]]:
    """The home's (else the shipped) tables and workflows, all loaded before the database is
    touched: files that do not load leave no half-built demo behind."""
    tables = load_tables(home)
    workflows = load_workflows(home, {spec.name: spec for spec, _ in tables},
                               load_calendars(home))
    loaded = {f"workflows/{spec.name}.yaml" for spec, _ in workflows} | {
        f"rules/{spec.name}.yaml" for spec, _ in tables}
    missing = [name for name in DEMO_NEEDS if name not in loaded]
    if missing:
        raise NotFound(f"the demo needs {', '.join(missing)}, which {definitions_home(home)} "
                       "does not define; `casework init` writes the shipped ones there (or run "
                       "the demo in a folder without workflows/ and rules/)")
    return tables, workflows


def _publish(casework: Casework, tables: list[tuple[TableSpec, str]],
             workflows: list[tuple[WorkflowSpec, str]], now: datetime) -> None:
    """Publish the tables not published yet and store the workflow versions not stored yet."""
    for table, text in tables:
        if not casework.store.publications("table", table.name):
            casework.registry.publish_table(table, text, now)
    for workflow, text in workflows:
        casework.registry.deploy(workflow, text, now)
    click.echo(f"published the {len(tables)} decision table(s) and loaded {len(workflows)} "
               f"workflow(s) {definitions_source(casework.settings.home)} into "
               f"{casework.database.dialect}")


def _showcase(casework: Casework, now: datetime, there: set[tuple[str, Any]]) -> int | None:
    """Work one complaint from intake to resolution and show it; None if it is there already."""
    if (SHOWCASE_CUSTOMER, SHOWCASE["summary"]) in there:
        return None
    agent = Actor("alice", "agent")
    case = casework.runtime.start("complaint", SHOWCASE, agent, now, customer=SHOWCASE_CUSTOMER)
    for trigger, fields in DEMO_STEPS:
        case = casework.runtime.fire(case.id, trigger, agent, now, fields)
    show_case(casework, case, as_json=False)
    return case.id


def _demo_complaints(casework: Casework, now: datetime, there: set[tuple[str, Any]],
                     count: int = 36) -> int:
    """A few dozen complaints at every step: in intake, triaged, answered, waiting for the
    customer, resolved; of every severity, for the first customers of the sample. A customer
    whose demo complaint is there already gets none: the demo runs again without adding any."""
    sam, agents = Actor("sam", "supervisor"), [Actor("alice", "agent"), Actor("bob", "agent")]
    customer_ids = [row[0] for row in casework.customers.tiered(None)[:count]]
    opened_now = 0
    for i, customer in enumerate(customer_ids):
        summary = DEMO_SUMMARIES[i % len(DEMO_SUMMARIES)]
        if (customer, summary) in there:
            continue
        case = casework.runtime.start("complaint", {
            "channel": ["phone", "email", "web", "visit"][i % 4], "summary": summary,
            "severity": DEMO_SEVERITIES[i % 4]}, agents[i % 2], now, customer=customer)
        steps = DEMO_STEPS[:[0, 0, 1, 2, 3, 5][i % 6]]
        for trigger, given in steps:
            fields = {"category": DEMO_CATEGORIES[i % 4], "severity": DEMO_SEVERITIES[i % 4]} \
                if trigger == "triage" else given
            actor = sam if DEMO_SEVERITIES[i % 4] == "critical" else agents[i % 2]
            case = casework.runtime.fire(case.id, trigger, actor, now, fields)
        opened_now += 1
    return opened_now


def _contacts(casework: Casework, now: datetime) -> None:
    """The managed (strategic and key) customers get an email address on the reserved
    example.com domain, so that replies to them can be written from their cases: the CDNOW
    sample holds no contact details. A customer with an address keeps it."""
    given = 0
    for customer_id, _, _ in casework.customers.tiered(MANAGED_TIERS):
        if casework.customers.customer(customer_id).record.email is None:
            casework.customer_editor.update(customer_id, {"email": demo_email(customer_id)},
                                            "demo", None, now)
            given += 1
    if given:
        click.echo(f"email addresses given to {given} managed demo customer(s) "
                   "(customer-ID@example.com)")


def demo_email(customer_id: str) -> str:
    return f"customer-{customer_id}@example.com"


def _work(casework: Casework, now: datetime) -> tuple[int | None, int]:
    """Tier the customers, open the cycles and verify every history (none of it twice), after
    the demo complaints: the showcase's id (None if it was there) and how many were opened."""
    there = casework.customers.field_values("complaint", "summary")
    showcase = _showcase(casework, now, there)
    opened_now = _demo_complaints(casework, now, there)
    click.echo(f"demo complaints opened: {opened_now}")
    done = casework.tiering.recompute(DEMO_AS_OF, now)  # the sample ends in June 1998
    click.echo(f"tiers as of {DEMO_AS_OF}: "
               + ", ".join(f"{k}={v}" for k, v in sorted(done.tiers.items(), key=str))
               + "; cases opened: " + (", ".join(
                   f"{k}={v}" for k, v in sorted(done.started.items())) or "none"))
    _contacts(casework, now)
    cycles = casework.opening.cycles(DEMO_AS_OF.year, now)
    click.echo(f"annual cycles opened for {DEMO_AS_OF.year}: {len(cycles.started)}")
    cases, customers_checked, breaks = casework.verify_history()
    click.echo(f"history of {cases} case(s) and {customers_checked} customer(s) verified: "
               f"{breaks if breaks else 'intact'}")
    return showcase, opened_now


@click.command()
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the web pages when the demo data is in place")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@common
@handles_errors
def demo(serve: bool, host: str, port: int, home: Path | None, now_text: str | None) -> None:
    """Migrate, load the home's workflows and tables (the shipped ones if the home has none),
    import the demo customers, add demo users, work demo complaints, tier the customers, verify
    every history, and serve the web pages on http://127.0.0.1:8000/ (Ctrl-C stops it). Run
    again, it adds nothing and serves what is there."""
    tables, workflows = _definitions(settings_of(home, now_text).home)
    with opened(home, now_text, migrate=True) as casework:
        now = casework.settings.clock()
        _publish(casework, tables, workflows, now)
        imported = casework.customers.import_file(CDNOW_SAMPLE, "cdnow", now)
        stored, bought = casework.customers.count()
        click.echo(f"demo customers (CDNOW sample): {stored} customers, {bought} purchases"
                   + (" (already imported)" if imported.already else ""))
        _demo_users(casework, now)
        showcase, opened_now = _work(casework, now)
        if showcase is None and not opened_now:
            click.echo(f"the demo was already there in {casework.settings.home}: "
                       "nothing added")
        if not serve:
            history = f"casework cases history {showcase}   |   " if showcase else ""
            click.echo(f"next: casework serve   |   {history}casework customers show "
                       f"{SHOWCASE_CUSTOMER}")
            return
        logins = ", ".join(f"{name} / {demo_password(name)} ({role})"
                           for name, role in DEMO_USERS)
        click.echo(f"sign in at http://{host}:{port}/ as {logins}")
        click.echo("Ctrl-C stops the server", nl=True)
        sys.stdout.flush()
        run_server(casework, host, port)
