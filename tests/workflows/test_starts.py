"""Loading what reaches past the case: `reacts:`, `one_open_per_customer`, and the
`update_customer` and `measure` actions; every mistake at its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.kernel.errors import DefinitionError
from engine.workflows.loading import load_workflow_file

PLAN = textwrap.dedent("""\
    workflow: plan
    version: 1
    subject: customer
    one_open_per_customer: true
    fields:
      owner_name: {type: user}
      goal_retention: {type: decimal}
      actual_retention: {type: decimal}
      attainment_retention: {type: decimal}
      year: {type: int}
    states:
      open: {initial: true}
      done: {final: true}
    transitions:
      - trigger: assign
        from: open
        to: open
        do:
          - update_customer: {owner: case.owner_name}
      - trigger: evaluate
        from: open
        to: done
        do:
          - measure: case.year
      - trigger: hand_over
        from: open
        to: done
    reacts:
      - on: customer.tier_changed
        when: 'customer.tier != "key"'
        fire: hand_over
""")


def load(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    try:
        load_workflow_file(path)
    except DefinitionError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_the_plan_loads(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    spec = load_workflow_file(path)
    assert spec.one_open_per_customer
    assert [(r.on, r.fire, r.line) for r in spec.reacts] == [
        ("customer.tier_changed", "hand_over", 29)]


@pytest.mark.parametrize(("old", "new", "line", "says"), [
    ("    fire: hand_over\n", "    fire: handover\n", 31, "a reaction needs 'fire:' naming a "
     "trigger of this workflow, not 'handover'; did you mean 'hand_over'?"),
    ("  - on: customer.tier_changed\n", "  - on: customer.tier_change\n", 29,
     "did you mean 'customer.tier_changed'?"),
    ("    when: 'customer.tier != \"key\"'\n", "    when: 'customer.tire != \"key\"'\n", 30,
     "reaction: 'when'"),
    ("subject: customer\n", "", 3, "'one_open_per_customer' is for cases about a customer"),
    ("      - update_customer: {owner: case.owner_name}\n",
     "      - update_customer: {ownr: case.owner_name}\n", 19,
     "'update_customer' cannot write 'ownr'; did you mean 'owner'?"),
    ("  attainment_retention: {type: decimal}\n", "", 23,
     "'measure' needs a decimal field 'attainment_retention' beside 'actual_retention'"),
    ("  actual_retention: {type: decimal}\n  attainment_retention: {type: decimal}\n",
     "", 22, "'measure' sets actual_<kpi> and attainment_<kpi> fields, and this workflow has "
     "none"),
])
def test_mistakes_are_named_at_their_line(tmp_path: Path, old: str, new: str, line: int,
                                          says: str) -> None:
    assert old in PLAN
    problems = load(tmp_path, PLAN.replace(old, new))
    assert any(f"plan.yaml:{line}: " in p and says in p for p in problems), problems


def test_reacts_and_customer_actions_need_a_customer_subject(tmp_path: Path) -> None:
    problems = load(tmp_path, PLAN.replace("subject: customer\none_open_per_customer: true\n",
                                           ""))
    assert any("'reacts' moves cases about a customer" in p for p in problems), problems
    assert any("'update_customer' needs a case about a customer" in p for p in problems)
    assert any("'measure' needs a case about a customer" in p for p in problems)
