"""`casework ...`: the command line for operators, scripts and the project's own checks.

Exit codes: 0 done; 1 definitions or history not valid, or another error; 2 refused or invalid
input (the reason on stderr); 3 conflict (someone else changed the case first).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from engine.calendars import Calendar
from engine.cli_customers import clv, customers
from engine.cli_cycles import cycles, reviews
from engine.cli_rules import rules
from engine.cli_support import (
    F,
    common,
    fail,
    handles_errors,
    opened,
    out,
    parse_fields,
    settings_of,
)
from engine.cli_tiers import tiers
from engine.cli_worker import outbox, timers, worker
from engine.cli_workflows import workflows
from engine.demodata import CDNOW_SAMPLE
from engine.errors import DefinitionError
from engine.history import iso
from engine.records import CaseRecord, ClockRecord
from engine.registry import (
    check_tables,
    load_calendars,
    load_tables,
    load_workflows,
    table_files,
    workflow_files,
)
from engine.runtime import Actor
from engine.specs import ROLES
from engine.wiring import Casework


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="casework")
def main() -> None:
    """casework: rules-driven workflow and case management for customer management."""


# --- check ----------------------------------------------------------------------------------


@main.command()
@common
@handles_errors
def check(home: Path | None, now_text: str | None) -> None:
    """Validate every workflow and rule file; print every problem; exit 1 if there is one."""
    settings = settings_of(home, now_text)
    if not settings.home.is_dir():
        fail(f"{settings.home} is not a folder; give --home DIR with workflows/ and rules/", 1)
    tables, found = check_tables(settings.home)
    problems = [str(p) for p in found]
    calendars: dict[str, Calendar] | None = None
    try:
        calendars = load_calendars(settings.home)
    except DefinitionError as exc:
        problems.extend(str(p) for p in exc.problems)
    try:  # with the tables and calendars that loaded, so that references are checked too
        load_workflows(settings.home, tables, calendars)
    except DefinitionError as exc:
        problems.extend(str(p) for p in exc.problems)
    from engine.escalation import Notices  # Jinja2 loads only when a command needs it

    problems.extend(str(p) for p in Notices(settings.home).problems())
    for line in problems:
        click.echo(line)
    files, rule_files = workflow_files(settings.home), table_files(settings.home)
    if problems:
        fail(f"{len(problems)} problem(s) in {len(files) + len(rule_files)} file(s) under "
             f"{settings.home}", 1)
    click.echo(f"ok: {len(files)} workflow(s), {len(rule_files)} decision table(s) under "
               f"{settings.home}")


# --- db -------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@common
@handles_errors
def db_upgrade(home: Path | None, now_text: str | None) -> None:
    """Bring the database schema to the newest migration."""
    with opened(home, now_text, migrate=True) as casework:
        click.echo(f"database schema is current ({casework.database.dialect})")


# --- cases ----------------------------------------------------------------------------------


@main.group()
def cases() -> None:
    """Start cases, fire triggers, read cases and their history."""


def actor_options(func: F) -> F:
    func = click.option("--role", required=True, type=click.Choice(sorted(ROLES)),
                        help="The role the actor acts in")(func)
    func = click.option("--actor", required=True, help="Who acts (a user name)")(func)
    return func


@cases.command("start")
@click.argument("workflow")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A case field")
@click.option("--customer", help="The customer the case is about")
@actor_options
@click.option("--json", "as_json", is_flag=True, help="Print the case as one JSON object")
@common
@handles_errors
def cases_start(workflow: str, fields: tuple[str, ...], customer: str | None, actor: str,
                role: str, as_json: bool, home: Path | None, now_text: str | None) -> None:
    """Open a case of WORKFLOW (loading the home's workflow files first)."""
    with opened(home, now_text) as casework:
        now = casework.settings.clock()
        casework.registry.deploy_home(casework.settings.home, now)
        case = casework.runtime.start(workflow, parse_fields(fields), Actor(actor, role), now,
                                      customer=customer)
        show_case(casework, case, as_json)


@cases.command("fire")
@click.argument("case_id", type=int)
@click.argument("trigger")
@actor_options
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="A field the transition needs or accepts")
@click.option("--if-version", type=int, help="Refuse (exit 3) unless the case is at this version")
@click.option("--json", "as_json", is_flag=True, help="Print the case as one JSON object")
@common
@handles_errors
def cases_fire(case_id: int, trigger: str, actor: str, role: str, fields: tuple[str, ...],
               if_version: int | None, as_json: bool, home: Path | None,
               now_text: str | None) -> None:
    """Fire TRIGGER on case CASE_ID."""
    with opened(home, now_text) as casework:
        case = casework.runtime.fire(case_id, trigger, Actor(actor, role),
                                     casework.settings.clock(), parse_fields(fields),
                                     expected_version=if_version)
        show_case(casework, case, as_json)


@cases.command("show")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the case as one JSON object")
@common
@handles_errors
def cases_show(case_id: int, as_json: bool, home: Path | None, now_text: str | None) -> None:
    """Show a case: its state, queue, assignee and fields."""
    with opened(home, now_text) as casework:
        show_case(casework, casework.store.get_case(case_id), as_json)


@cases.command("history")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the events as one JSON list")
@common
@handles_errors
def cases_history(case_id: int, as_json: bool, home: Path | None, now_text: str | None) -> None:
    """Show a case's history, oldest first."""
    with opened(home, now_text) as casework:
        casework.store.get_case(case_id)
        events = casework.store.case_events(case_id)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in events], ensure_ascii=False))
        return
    for e in events:
        move = f"  {e.from_state or '(new)'} -> {e.to_state}" if e.to_state else ""
        details = json.loads(e.payload)
        if e.name == "case.created":
            details = details["fields"]
        if e.name == "rule.decided":
            shown = (f"{details['table']} v{details['version']}: {_pairs(details['outputs'])} "
                     f"<- {_pairs(details['inputs'])}  "
                     f"(row {', '.join(details['matched']) or '-'})")
        else:
            shown = "  ".join(f"{k}={v}" for k, v in details.items())
        click.echo(f"{e.seq:>4}  {iso(e.at)}  {e.name:<19} {e.actor} ({e.role}){move}  {shown}")


def _pairs(values: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def show_case(casework: Casework, case: CaseRecord, as_json: bool) -> None:
    now, reckoner = casework.settings.clock(), casework.runtime.scheduler.reckoner
    clocks = [(c, reckoner.spent(c, now)) for c in casework.timers.clocks(case.id)]
    if as_json:
        click.echo(json.dumps({**case.to_json(), "sla": [clock_json(*c) for c in clocks]},
                              ensure_ascii=False))
        return
    deployed = casework.registry.get(case.definition_id)
    table = Table(title=f"case {case.id}: {deployed.spec.title} (v{case.version})",
                  show_header=False)
    for label, value in [("state", case.state), ("queue", case.queue or "-"),
                         ("assignee", case.assignee or "-"), ("customer", case.customer or "-"),
                         ("revision", str(case.lock_version)), ("updated", iso(case.updated_at))]:
        table.add_row(label, value)
    for name, value in case.fields.items():
        table.add_row(f"  {name}", str(value))
    for clock, spent in clocks:
        due = f", due {iso(clock.due_at)}" if clock.due_at else ""
        target = f" of {clock.target.total_seconds() / 3600:g} h" if clock.target else ""
        table.add_row(f"sla {clock.name}", f"{clock.shown}: {hours(spent)} h{target}"
                      f"{' (business)' if clock.business else ''}{due}")
    out.print(table)


def hours(amount: timedelta) -> str:
    return f"{amount.total_seconds() / 3600:.2f}"


def clock_json(clock: ClockRecord, spent: timedelta) -> dict[str, Any]:
    return {"name": clock.name, "status": clock.shown, "running": clock.status == "running",
            "business": clock.business, "calendar": clock.calendar,
            "target_hours": clock.target.total_seconds() / 3600 if clock.target else None,
            "elapsed_hours": round(spent.total_seconds() / 3600, 4),
            "due_at": iso(clock.due_at) if clock.due_at else None,
            "started_at": iso(clock.started_at),
            "warned_at": iso(clock.warned_at) if clock.warned_at else None,
            "breached_at": iso(clock.breached_at) if clock.breached_at else None,
            "stopped_at": iso(clock.stopped_at) if clock.stopped_at else None,
            "level": clock.level}


# --- audit ----------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """Check the tamper-evident history."""


@audit.command("verify")
@common
@handles_errors
def audit_verify(home: Path | None, now_text: str | None) -> None:
    """Check every case's and customer's hash chain; exit 1 naming the first broken event of
    each damaged history."""
    with opened(home, now_text) as casework:
        cases, customers, breaks = casework.verify_history()
    for found in breaks:
        click.echo(f"BROKEN {found}")
    checked = f"{cases} case and {customers} customer histories"
    if breaks:
        fail(f"{len(breaks)} of {checked} are damaged", 1)
    click.echo(f"ok: {checked} intact")


# --- users ----------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """People who work cases."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(sorted(ROLES)))
@click.option("--display-name")
@click.option("--email", help="Where notices (SLA escalations) are sent")
@common
@handles_errors
def users_add(name: str, roles: tuple[str, ...], display_name: str | None, email: str | None,
              home: Path | None, now_text: str | None) -> None:
    """Add a user holding one or more roles."""
    with opened(home, now_text) as casework:
        if casework.store.user_roles(name) is not None:
            fail(f"user '{name}' exists already", 2)
        casework.store.add_user(name, roles, casework.settings.clock(), display_name, email)
    click.echo(f"added {name} ({', '.join(sorted(set(roles)))})")



# --- demo -----------------------------------------------------------------------------------

DEMO_STEPS = [
    ("triage", {"category": "after_sales", "severity": "high"}),
    ("respond", {"first_response": "Sorry to hear that; we are checking your order now"}),
    ("ask_customer", {"question": "Which order was it, and which discs are missing?"}),
    ("customer_replied", {"answer": "The order of 18 January; discs 3 and 4"}),
    ("resolve", {"resolution": "Sent discs 3 and 4 by express post", "remedy": "replacement",
                 "root_cause": "The box set was packed from an incomplete lot"}),
]


DEMO_AS_OF = date(1998, 6, 30)


@main.command()
@common
@handles_errors
def demo(home: Path | None, now_text: str | None) -> None:
    """Migrate, load the shipped workflows and tables, import the demo customers, work a demo
    complaint, tier the customers, and verify every history."""
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
        agent = Actor("alice", "agent")
        case = casework.runtime.start("complaint", {
            "channel": "phone", "summary": "The box set arrived with two discs missing",
        }, agent, now, customer="00004")
        for trigger, fields in DEMO_STEPS:
            case = casework.runtime.fire(case.id, trigger, agent, now, fields)
        show_case(casework, case, as_json=False)
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
    click.echo(f"next: casework cases history {case.id}   |   "
               f"casework cases fire {case.id} close --actor alice --role agent --field csat=5   "
               f"|   casework customers show 00004   |   casework timers list --case {case.id}")


main.add_command(rules)
main.add_command(customers)
main.add_command(clv)
main.add_command(tiers)
main.add_command(worker)
main.add_command(timers)
main.add_command(outbox)
main.add_command(workflows)
main.add_command(cycles)
main.add_command(reviews)
