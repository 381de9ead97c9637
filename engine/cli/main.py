"""`casework ...`: the command line for operators, scripts and the project's own checks.

Exit codes: 0 done; 1 definitions or history not valid, or another error; 2 refused or invalid
input (the reason on stderr); 3 conflict (someone else changed the case first); 75 the database
was busy (another writer held its lock for CASEWORK_LOCK_TIMEOUT; nothing was written, try again).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.cli import (
    audit_exports,  # noqa: F401 - adds `audit export|verify-export`
    personal,  # noqa: F401 - adds `customers export|erase`
)
from engine.cli.audit import audit
from engine.cli.backup import backup, restore
from engine.cli.customers import clv, customers
from engine.cli.cycles import cycles, reviews
from engine.cli.demo import demo
from engine.cli.holds import holds
from engine.cli.init import init
from engine.cli.mail import mail
from engine.cli.retention import retention
from engine.cli.rules import rules
from engine.cli.serve import serve
from engine.cli.support import (
    common,
    definitions_source,
    fail,
    handles_errors,
    opened,
    parse_fields,
    settings_of,
    show_case,
)
from engine.cli.tiers import tiers
from engine.cli.users import acting, actor_options, tokens, users
from engine.cli.worker import outbox, timers, worker
from engine.cli.workflows import workflows
from engine.customers.records import TIER_TABLE
from engine.jobs.opening import managed_tier_problems
from engine.kernel.errors import DefinitionError
from engine.kernel.history import iso
from engine.kernel.personal import refs_in, refs_in_texts, reveal, shown_values
from engine.sla.calendars import Calendar
from engine.workflows.registry import (
    check_tables,
    definitions_home,
    load_calendars,
    load_responses,
    load_retention,
    load_workflows,
    table_files,
    workflow_files,
)


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
        fail(f"{settings.home} is not a folder; give --home DIR with workflows/ and rules/ "
             "(`casework init DIR` writes the shipped ones there)", 1)
    tables, found = check_tables(settings.home)
    tier_table = tables.get(TIER_TABLE)
    if tier_table is not None:  # what publishing it would refuse
        found += managed_tier_problems(tier_table)
    problems = [str(p) for p in found]
    calendars: dict[str, Calendar] | None = None
    try:
        calendars = load_calendars(settings.home)
    except DefinitionError as exc:
        problems.extend(str(p) for p in exc.problems)
    try:
        load_responses(settings.home)
    except DefinitionError as exc:
        problems.extend(str(p) for p in exc.problems)
    names = {path.stem for path in workflow_files(settings.home)}  # if they do not load
    try:  # with the tables and calendars that loaded, so that references are checked too
        names = {spec.name for spec, _ in load_workflows(settings.home, tables, calendars)}
    except DefinitionError as exc:
        problems.extend(str(p) for p in exc.problems)
    try:
        load_retention(settings.home, names)
    except DefinitionError as exc:
        problems.extend(str(p) for p in exc.problems)
    from engine.channels.templates import MailTemplates
    from engine.jobs.escalation import Notices  # Jinja2 loads only when a command needs it

    problems.extend(str(p) for p in Notices(settings.home).problems())
    problems.extend(str(p) for p in MailTemplates(definitions_home(settings.home)).problems())
    for line in problems:
        click.echo(line)
    files, rule_files = workflow_files(settings.home), table_files(settings.home)
    source = definitions_source(settings.home)
    if problems:
        fail(f"{len(problems)} problem(s) in {len(files) + len(rule_files)} file(s) {source}", 1)
    click.echo(f"ok: {len(files)} workflow(s), {len(rule_files)} decision table(s) {source}")


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


@cases.command("start")
@click.argument("workflow")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A case field")
@click.option("--customer", help="The customer the case is about")
@actor_options
@click.option("--json", "as_json", is_flag=True, help="Print the case as one JSON object")
@common
@handles_errors
def cases_start(workflow: str, fields: tuple[str, ...], customer: str | None,
                actor: str | None, role: str, as_operator: bool, as_json: bool,
                home: Path | None, now_text: str | None) -> None:
    """Open a case of WORKFLOW (loading the home's workflow files first)."""
    with opened(home, now_text) as casework:
        who = acting(casework, actor, role, as_operator)
        now = casework.settings.clock()
        casework.registry.deploy_home(casework.settings.home, now)
        case = casework.runtime.start(workflow, parse_fields(fields), who, now,
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
def cases_fire(case_id: int, trigger: str, actor: str | None, role: str, as_operator: bool,
               fields: tuple[str, ...], if_version: int | None, as_json: bool,
               home: Path | None, now_text: str | None) -> None:
    """Fire TRIGGER on case CASE_ID."""
    with opened(home, now_text) as casework:
        who = acting(casework, actor, role, as_operator)
        case = casework.runtime.fire(case_id, trigger, who,
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
        values = casework.personal_data.values(refs_in_texts(e.payload for e in events))
    if as_json:
        click.echo(json.dumps([{**e.to_json(), "personal": shown_values(
            {ref: values[ref] for ref in refs_in(json.loads(e.payload)) if ref in values})}
            for e in events], ensure_ascii=False))
        return
    for e in events:
        move = f"  {e.from_state or '(new)'} -> {e.to_state}" if e.to_state else ""
        details = reveal(json.loads(e.payload), values)
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


main.add_command(audit)
main.add_command(users)
main.add_command(tokens)
main.add_command(rules)
main.add_command(init)
main.add_command(demo)
main.add_command(serve)
main.add_command(customers)
main.add_command(clv)
main.add_command(tiers)
main.add_command(worker)
main.add_command(timers)
main.add_command(outbox)
main.add_command(mail)
main.add_command(workflows)
main.add_command(cycles)
main.add_command(reviews)
main.add_command(backup)
main.add_command(restore)
main.add_command(holds)
main.add_command(retention)
