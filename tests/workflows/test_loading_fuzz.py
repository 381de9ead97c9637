"""Whatever a manager types, the loader answers with path:line problems, never a crash."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.kernel.errors import DefinitionError
from engine.workflows.loading import load_workflow_text
from tests.fixtures import ROOT
from tests.fuzzing import mutate

SOURCE = (ROOT / "workflows" / "complaint.yaml").read_text()
LINES = SOURCE.splitlines()
TOKENS = [":", "-", " ", "  ", "[", "]", "{", "}", "'", '"', "*", "&a", "*a", "!!int", "~",
          "null", "true", "3", "-1", "1.5", "from", "to", "trigger", "states", "fields", "when",
          "case.", "case.csat", "==", "(", ")", "\t", "#", "\n", "received", "closed", "set",
          "assign", "least_loaded", "type", "enum", "values", "list", "of", "roles", "agent"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    return mutate(draw, LINES, TOKENS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_workflows_load_or_fail_with_located_problems(text: str) -> None:
    try:
        spec = load_workflow_text(text, "workflows/complaint.yaml")
    except DefinitionError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert re.match(r"^workflows/complaint\.yaml:\d+: \S", str(problem)), str(problem)
            assert 1 <= problem.line <= text.count("\n") + 1
    else:
        assert spec.name and spec.states[spec.initial.name].initial


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_at_all_is_answered_with_a_problem_or_a_spec(text: str) -> None:
    try:
        load_workflow_text(text, "w.yaml")
    except DefinitionError as exc:
        assert all(str(p).startswith("w.yaml:") for p in exc.problems)
