"""`casework demo`: a working casework on the shipped sample, from nothing, in one command."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from engine.cases.runtime import Actor
from engine.cli.serve import run_server
from engine.cli.support import common, handles_errors, opened, show_case
from engine.demodata import CDNOW_SAMPLE
from engine.kernel.accounts import hash_password
from engine.wiring import Casework
from engine.workflows.registry import load_tables

DEMO_STEPS = [
    ("triage", {"category": "after_sales", "severity": "high"}),
    ("respond", {"first_response": "Sorry to hear that; we are checking your order now"}),
    ("ask_customer", {"question": "Which order was it, and which discs are missing?"}),
    ("customer_replied", {"answer": "The order of 18 January; discs 3 and 4"}),
    ("resolve", {"resolution": "Sent discs 3 and 4 by express post", "remedy": "replacement",
                 "root_cause": "The box set was packed from an incomplete lot"}),
]


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


def _demo_complaints(casework: Casework, now: datetime, count: int = 36) -> int:
    """A few dozen complaints at every step: in intake, triaged, answered, waiting for the
    customer, resolved; of every severity, for the first customers of the sample."""
    sam, agents = Actor("sam", "supervisor"), [Actor("alice", "agent"), Actor("bob", "agent")]
    customer_ids = [row[0] for row in casework.customers.tiered(None)[:count]]
    for i, customer in enumerate(customer_ids):
        case = casework.runtime.start("complaint", {
            "channel": ["phone", "email", "web", "visit"][i % 4],
            "summary": DEMO_SUMMARIES[i % len(DEMO_SUMMARIES)],
            "severity": DEMO_SEVERITIES[i % 4]}, agents[i % 2], now, customer=customer)
        steps = DEMO_STEPS[:[0, 0, 1, 2, 3, 5][i % 6]]
        for trigger, given in steps:
            fields = {"category": DEMO_CATEGORIES[i % 4], "severity": DEMO_SEVERITIES[i % 4]} \
                if trigger == "triage" else given
            actor = sam if DEMO_SEVERITIES[i % 4] == "critical" else agents[i % 2]
            case = casework.runtime.fire(case.id, trigger, actor, now, fields)
    return len(customer_ids)


@click.command()
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the web pages when the demo data is in place")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@common
@handles_errors
def demo(serve: bool, host: str, port: int, home: Path | None, now_text: str | None) -> None:
    """Migrate, load the shipped workflows and tables, import the demo customers, add demo
    users, work demo complaints, tier the customers, verify every history, and serve the web
    pages on http://127.0.0.1:8000/ (Ctrl-C stops it)."""
    with opened(home, now_text, migrate=True) as casework:
        now = casework.settings.clock()
        for spec, text in load_tables(casework.settings.home):  # first run: publish them
            if not casework.store.publications("table", spec.name):
                casework.registry.publish_table(spec, text, now)
        deployed = casework.registry.deploy_home(casework.settings.home, now)
        click.echo(f"published the decision tables and loaded {len(deployed)} workflow(s) into "
                   f"{casework.database.dialect}")
        imported = casework.customers.import_file(CDNOW_SAMPLE, "cdnow", now)
        stored, bought = casework.customers.count()
        click.echo(f"demo customers (CDNOW sample): {stored} customers, {bought} purchases"
                   + (" (already imported)" if imported.already else ""))
        _demo_users(casework, now)
        agent = Actor("alice", "agent")
        case = casework.runtime.start("complaint", {
            "channel": "phone", "summary": "The box set arrived with two discs missing",
        }, agent, now, customer="00004")
        for trigger, fields in DEMO_STEPS:
            case = casework.runtime.fire(case.id, trigger, agent, now, fields)
        show_case(casework, case, as_json=False)
        click.echo(f"demo complaints opened: {_demo_complaints(casework, now)}")
        done = casework.tiering.recompute(DEMO_AS_OF, now)  # the sample ends in June 1998
        click.echo(f"tiers as of {DEMO_AS_OF}: "
                   + ", ".join(f"{k}={v}" for k, v in sorted(done.tiers.items(), key=str))
                   + "; cases opened: " + (", ".join(
                       f"{k}={v}" for k, v in sorted(done.started.items())) or "none"))
        cycles = casework.opening.cycles(DEMO_AS_OF.year, now)
        click.echo(f"annual cycles opened for {DEMO_AS_OF.year}: {len(cycles.started)}")
        cases, customers_checked, breaks = casework.verify_history()
        click.echo(f"history of {cases} case(s) and {customers_checked} customer(s) verified: "
                   f"{breaks if breaks else 'intact'}")
        if not serve:
            click.echo(f"next: casework serve   |   casework cases history {case.id}   |   "
                       "casework customers show 00004")
            return
        logins = ", ".join(f"{name} / {demo_password(name)} ({role})"
                           for name, role in DEMO_USERS)
        click.echo(f"sign in at http://{host}:{port}/ as {logins}")
        click.echo("Ctrl-C stops the server", nl=True)
        sys.stdout.flush()
        run_server(casework, host, port)


