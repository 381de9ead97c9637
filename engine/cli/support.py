"""What every `casework` command shares: --home/--now, error handling, opening casework."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.table import Table

from engine.kernel.errors import (
    Busy,
    CaseworkError,
    Conflict,
    DefinitionError,
    InvalidInput,
    NotFound,
    RuleError,
    TransitionRefused,
)
from engine.kernel.history import iso
from engine.kernel.records import CaseRecord, clock_json
from engine.kernel.settings import Settings, settings_for
from engine.wiring import Casework, open_casework
from engine.workflows.registry import definitions_home

F = TypeVar("F", bound=Callable[..., Any])
out = Console(highlight=False)


def common(func: F) -> F:
    """--home and --now, which every command takes."""
    func = click.option(
        "--home", type=click.Path(file_okay=False, path_type=Path),
        help="Folder with workflows/ and rules/ (without them: the shipped ones) "
             "[env CASEWORK_HOME; default: .]",
    )(func)
    func = click.option("--now", "now_text", metavar="ISO-8601",
                        help="Act as if it were this instant [env CASEWORK_NOW]")(func)
    return func


def definitions_source(home: Path) -> str:
    """Where the home's workflows and tables come from, for what check and demo print."""
    if definitions_home(home) == home:
        return f"under {home}"
    return (f"shipped with casework ({home} has no workflows/ or rules/ of its own; "
            "`casework init` copies them there to edit)")


def settings_of(home: Path | None, now_text: str | None) -> Settings:
    return settings_for(home, now_text)


BUSY_EXIT = 75  # sysexits.h EX_TEMPFAIL: the database was busy; the same command may succeed


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"casework: {message}", err=True)
    sys.exit(code)


def handles_errors(func: F) -> F:
    """Turn the engine's errors into a message on stderr and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Conflict as exc:
            fail(str(exc), 3)
        except Busy as exc:  # sysexits.h EX_TEMPFAIL: try again later
            fail(str(exc), BUSY_EXIT)
        except (TransitionRefused, InvalidInput, NotFound, RuleError) as exc:
            fail(str(exc), 2)
        except DefinitionError as exc:
            fail(f"definitions not valid:\n{exc}", 1)
        except CaseworkError as exc:
            fail(str(exc), 1)

    return wrapper  # type: ignore[return-value]


@contextmanager
def opened(home: Path | None, now_text: str | None, migrate: bool = False) -> Iterator[Casework]:
    casework = open_casework(settings_of(home, now_text), migrate=migrate)
    try:
        yield casework
    finally:
        casework.close()


def parse_fields(pairs: tuple[str, ...]) -> dict[str, str]:
    fields = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--field")
        fields[name.strip()] = value
    return fields


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
