"""Whatever a manager types into a decision table, the loader answers with path:line problems
(or a table), never a crash."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.kernel.errors import DefinitionError
from engine.rules.loading import load_table_text
from engine.rules.tables import TableSpec
from tests.fixtures import ROOT
from tests.fuzzing import mutate

SOURCES = {name: (ROOT / "rules" / f"{name}.yaml").read_text(encoding="utf-8")
           for name in ("complaint_escalation", "complaint_sla")}
TOKENS = [":", "-", " ", "  ", "[", "]", "{", "}", "'", '"', ",", "*", "&a", "*a", "!!int",
          "!!str", "~", "null", "true", "3", "-1", "1.5", "0", "..", "(", ")", "<", ">=", "!=",
          "=", "not(", "\t", "#", "\n", "id", "when", "if", "then", "hit", "first", "unique",
          "collect", "priority", "aggregate", "sum", "default", "none", "inputs", "outputs",
          "rules", "tests", "given", "expect", "rows", "values", "type", "int", "double",
          "string", "bool", "timestamp", "duration", "lateness", "tier", "severity", "level",
          "strategic", "critical", "effective", "from", "until", "2026-01-01", "=lateness * 2.0",
          "lateness > 1.0", "description", "version"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    return name, mutate(draw, SOURCES[name].splitlines(), TOKENS)


def assert_located(text: str, path: str) -> None:
    """Loading `text` gives a table, or problems that each name a line of the file."""
    try:
        spec = load_table_text(text, path)
    except DefinitionError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert re.match(rf"^{re.escape(path)}:\d+: \S", str(problem)), str(problem)
            assert problem.path == path
            # YAML (like str.splitlines) also breaks lines at NEL, U+2028 and U+2029
            assert 1 <= problem.line <= len(text.splitlines()) + 1, str(problem)
        assert [p.line for p in exc.problems] == sorted(p.line for p in exc.problems)
    else:
        assert isinstance(spec, TableSpec)
        assert spec.rows and spec.inputs and spec.outputs


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_the_sources_load(name: str) -> None:
    spec = load_table_text(SOURCES[name], f"rules/{name}.yaml")
    assert spec.name == name


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_tables_load_or_fail_with_located_problems(case: tuple[str, str]) -> None:
    name, text = case
    assert_located(text, f"rules/{name}.yaml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_at_all_is_answered_with_a_problem_or_a_table(text: str) -> None:
    assert_located(text, "t.yaml")


# The soup includes YAML tags (`!!int`, `!!bool`, `!!timestamp`), whose odd forms once crashed
# the YAML reader (see test_odd_yaml_tags_are_problems).
SOUP = [*TOKENS, "!!bool", "!!float", "!!timestamp"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SOUP), max_size=40))
def test_token_soup_is_answered_with_a_problem_or_a_table(tokens: list[str]) -> None:
    assert_located("".join(tokens), "t.yaml")


@pytest.mark.parametrize("value", ["!!int", '!!int ""', "!!int +", "!!float", "!!bool",
                                   "!!bool maybe", "!!timestamp x"])
def test_odd_yaml_tags_are_problems(value: str) -> None:
    text = SOURCES["complaint_sla"].replace("hit: unique", f"hit: {value}")
    line = SOURCES["complaint_sla"].splitlines().index("hit: unique") + 1
    with pytest.raises(DefinitionError) as caught:
        load_table_text(text, "rules/complaint_sla.yaml")
    assert [p.line for p in caught.value.problems] == [line]


def test_found_by_fuzzing_rows_holding_a_mapping() -> None:
    text = SOURCES["complaint_sla"].replace("rows: [key-normal]", "rows: [key-normal:]")
    assert_located(text, "rules/complaint_sla.yaml")
