"""Retention rules (rules/retention.yaml): how long a workflow's closed cases are kept, and what
then happens to them. One place a data-protection officer reads and edits:

    retention:
      complaint: {closed_for: 5y, then: erase_personal}
      record_review: {closed_for: 3y, then: delete}

`closed_for` is a period like the other durations of casework's YAML (`5y`, `3 years`, `8w`,
`90d`); `then` is one of THEN. Every problem is reported at its line: an unknown workflow (with
the closest known name), an unknown key, a bad period, an unknown `then`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.kernel.errors import DefinitionError, Problem
from engine.kernel.yaml_source import Checker, Node, known_list, parse, read_source, suggest

RETENTION_FILE = "retention.yaml"  # beside the tables in rules/, but not a decision table
FILE_KEYS = {"retention", "description"}
RULE_KEYS = {"closed_for", "then", "description"}
PERIOD = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")
_DAYS = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7}
_YEARS = {"y": 1, "year": 1, "years": 1}


class Then(StrEnum):
    """What retention does to a case kept long enough."""

    ERASE_PERSONAL = "erase_personal"  # erase the case's personal values; keep the case
    DELETE = "delete"  # delete the case and everything of it


@dataclass(frozen=True)
class Period:
    """How long after closing: whole calendar years and days."""

    years: int = 0
    days: int = 0

    def before(self, moment: datetime) -> datetime:
        """The instant this period before `moment` (29 February goes to the 28th)."""
        year = moment.year - self.years
        try:
            shifted = moment.replace(year=year)
        except ValueError:
            shifted = moment.replace(year=year, day=28)
        return shifted - timedelta(days=self.days)

    def __str__(self) -> str:
        return " ".join(part for part in (
            f"{self.years}y" if self.years else "", f"{self.days}d" if self.days else "")
            if part) or "0d"


@dataclass(frozen=True)
class RetentionRule:
    workflow: str
    closed_for: Period
    then: Then
    line: int = 0


def parse_period(text: str) -> Period | None:
    """`5y`, `3 years`, `8w`, `90d`, `30 days`; None if not one."""
    match = PERIOD.match(text)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2)
    if unit in _YEARS:
        return Period(years=number)
    if unit in _DAYS:
        return Period(days=number * _DAYS[unit])
    return None


def load_retention_file(path: Path, workflows: Collection[str]) -> dict[str, RetentionRule]:
    return load_retention_text(read_source(path), str(path), workflows)


def load_retention_text(text: str, path: str,
                        workflows: Collection[str]) -> dict[str, RetentionRule]:
    """Parse and check a retention file against the known workflows; raise DefinitionError
    listing every problem."""
    document, problems = parse(text, path)
    loader = _RetentionLoader(path, problems, workflows)
    rules = loader.load(document)
    if loader.problems:
        raise DefinitionError(loader.problems)
    return rules


class _RetentionLoader(Checker):
    def __init__(self, path: str, problems: list[Problem], workflows: Collection[str]) -> None:
        self.path = path
        self.problems = problems
        self.workflows = workflows

    def load(self, document: Any) -> dict[str, RetentionRule]:
        if not isinstance(document, Node) or not isinstance(document.get("retention"), Node):
            line = document.line_of("retention") if isinstance(document, Node) else 1
            self.problem(line, "a retention file is a mapping 'retention:' naming workflows, "
                         "each with 'closed_for' (e.g. 5y) and 'then' (erase_personal or delete)")
            return {}
        self.keys(document, FILE_KEYS, "a retention file")
        found = {}
        rules = document["retention"]
        for workflow, body in rules.items():
            rule = self.rule(str(workflow), body, rules.line_of(workflow))
            if rule is not None:
                found[rule.workflow] = rule
        return found

    def rule(self, workflow: str, body: Any, line: int) -> RetentionRule | None:
        if workflow not in self.workflows:
            self.problem(line, f"unknown workflow '{workflow}'{suggest(workflow, self.workflows)}"
                         f" (workflows: {known_list(self.workflows)})")
        if not isinstance(body, Node):
            self.problem(line, f"retention of '{workflow}' must be a mapping like "
                         "{closed_for: 5y, then: erase_personal}")
            return None
        self.keys(body, RULE_KEYS, f"the retention of '{workflow}'")
        period = self.period(workflow, body, line)
        then = self.then(workflow, body, line)
        if period is None or then is None or workflow not in self.workflows:
            return None
        return RetentionRule(workflow, period, then, line)

    def period(self, workflow: str, body: Node, line: int) -> Period | None:
        raw = body.get("closed_for")
        if raw is None:
            self.problem(line, f"the retention of '{workflow}' needs 'closed_for', how long "
                         "after closing (e.g. 5y, 90d)")
            return None
        period = parse_period(str(raw))
        if period is None or period == Period():
            self.problem(body.line_of("closed_for"), f"closed_for '{raw}' of '{workflow}' is "
                         "not a period like 5y, 3 years, 8w or 90d")
            return None
        return period

    def then(self, workflow: str, body: Node, line: int) -> Then | None:
        raw = body.get("then")
        allowed = [t.value for t in Then]
        if raw is None:
            self.problem(line, f"the retention of '{workflow}' needs 'then' "
                         f"({' or '.join(allowed)})")
            return None
        if raw not in allowed:
            self.problem(body.line_of("then"), f"then '{raw}' of '{workflow}' is not one of "
                         f"{', '.join(allowed)}{suggest(str(raw), allowed)}")
            return None
        return Then(raw)
