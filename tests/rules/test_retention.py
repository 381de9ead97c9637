"""Retention rules (engine/rules/retention.py): the shipped file loads, and every mistake is named
at its line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.kernel.errors import DefinitionError
from engine.rules.retention import Period, Then, load_retention_text, parse_period
from engine.workflows.registry import load_retention, load_workflows
from tests.fixtures import ROOT

WORKFLOWS = ("complaint", "record_review", "retention")


def test_the_shipped_rules_name_shipped_workflows() -> None:
    names = {spec.name for spec, _ in load_workflows(ROOT)}
    rules = load_retention(ROOT, names)
    assert (rules["complaint"].closed_for, rules["complaint"].then) == (Period(years=5),
                                                                        Then.ERASE_PERSONAL)
    assert (rules["record_review"].closed_for, rules["record_review"].then) == (Period(years=3),
                                                                                Then.DELETE)
    assert set(rules) <= names


@pytest.mark.parametrize(("text", "period"), [
    ("5y", Period(years=5)), ("3 years", Period(years=3)), ("1 year", Period(years=1)),
    ("90d", Period(days=90)), ("30 days", Period(days=30)), ("8w", Period(days=56)),
    ("5", None), ("5 months", None), ("y", None), ("-1y", None), ("1.5y", None)])
def test_periods(text: str, period: Period | None) -> None:
    assert parse_period(text) == period


def test_a_period_counts_calendar_years_back() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert Period(years=5).before(now) == datetime(2021, 3, 2, 9, 0, tzinfo=UTC)
    assert Period(days=2).before(now) == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert Period(years=1).before(leap) == datetime(2023, 2, 28, tzinfo=UTC)


def test_every_mistake_is_named_at_its_line() -> None:
    text = """\
retention:
  complaint: {closed_for: 5y, then: erase_personal}
  complaints: {closed_for: 5y, then: delete}
  record_review:
    closed_for: 3 months
    then: delete
  retention:
    closed_for: 2y
    then: anonymise
    keep: forever
"""
    with pytest.raises(DefinitionError) as caught:
        load_retention_text(text, "rules/retention.yaml", WORKFLOWS)
    shown = [str(p) for p in caught.value.problems]
    assert shown == [
        "rules/retention.yaml:3: unknown workflow 'complaints'; did you mean 'complaint'? "
        "(workflows: complaint, record_review, retention)",
        "rules/retention.yaml:5: closed_for '3 months' of 'record_review' is not a period like "
        "5y, 3 years, 8w or 90d",
        "rules/retention.yaml:9: then 'anonymise' of 'retention' is not one of erase_personal, "
        "delete",
        "rules/retention.yaml:10: unknown key 'keep' in the retention of 'retention' (allowed: "
        "closed_for, description, then)",
    ]


def test_a_file_without_the_retention_mapping_is_refused() -> None:
    with pytest.raises(DefinitionError, match="retention.yaml:1: a retention file is a mapping"):
        load_retention_text("complaint: 5y\n", "retention.yaml", WORKFLOWS)
