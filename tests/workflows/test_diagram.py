"""engine.workflows.diagram and `casework workflows diagram`: workflows as Mermaid state
diagrams."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.kernel.specs import WorkflowSpec
from engine.workflows.diagram import GENERATED_BY, diagrams_document, mermaid, workflow_page
from engine.workflows.loading import load_workflow_file, load_workflow_text
from engine.workflows.registry import load_workflows, workflow_files
from tests.fixtures import ROOT

DOCUMENT = ROOT / "docs" / "workflow-diagrams.md"

REFUND = textwrap.dedent("""\
    workflow: refund
    version: 2
    title: Refund request
    fields:
      amount: {type: decimal, min: 0}
      hours: {type: decimal, min: 0}
    states:
      asked:    {initial: true, queue: refunds, title: Asked}
      checking: {}
      waiting:  {title: "Waiting: customer's receipt"}
      paid:     {final: true, title: Paid}
      refused:  {final: true}
    transitions:
      - trigger: check
        from: asked
        to: checking
      - trigger: ask_receipt
        from: checking
        to: waiting
        roles: [supervisor, agent]
      - trigger: receipt_came
        from: waiting
        to: checking
      - trigger: pay
        from: checking
        to: paid
        roles: [supervisor]
        needs: [amount]
        when: 'case.amount < 500.0 || actor.role == "supervisor"'
      - trigger: refuse
        from: [checking, waiting]
        to: refused
        roles: [supervisor]
    timers:
      - name: no_receipt
        in: waiting
        after: 2 days
        fire: refuse
    sla:
      calendar: office
      clocks:
        handling:
          stop_in: [paid, refused]
          pause_in: [waiting]
          target: case.hours
""")

REFUND_DIAGRAM = """\
stateDiagram-v2
    state "Asked (queue refunds)" as asked
    checking
    state "Waiting, customer's receipt (SLA paused)" as waiting
    state "Paid" as paid
    refused
    [*] --> asked
    asked --> checking: check
    checking --> waiting: ask_receipt (agent, supervisor)
    waiting --> checking: receipt_came
    checking --> paid: pay (supervisor) [guarded]
    checking --> refused: refuse (supervisor)
    waiting --> refused: refuse (supervisor)
    waiting --> refused: refuse (timer no_receipt, after 48h)
    paid --> [*]
    refused --> [*]
"""

# What a line of the diagrams may be: Mermaid's state lexer ends a label at `:` `;` or a line
# break, and a quoted state description at `"`.
LINE = re.compile(
    r'^(stateDiagram-v2'
    r'|    state "[^":;]+" as [a-zA-Z_][a-zA-Z0-9_]*'
    r'|    [a-zA-Z_][a-zA-Z0-9_]*'
    r'|    (\[\*\]|[a-zA-Z_][a-zA-Z0-9_]*) --> (\[\*\]|[a-zA-Z_][a-zA-Z0-9_]*)(: [^:;#"%<>{}]+)?)$'
)


def shipped() -> list[WorkflowSpec]:
    """The home's workflows by name (loaded in each test, so that a workflow file being edited
    fails the tests that read it, not the collection of this module)."""
    return sorted((spec for spec, _ in load_workflows(ROOT)), key=lambda s: s.name)


def test_a_small_workflow_draws_exactly() -> None:
    assert mermaid(load_workflow_text(REFUND, "refund.yaml")) == REFUND_DIAGRAM


def test_the_page_has_a_heading_a_summary_the_diagram_and_the_transitions() -> None:
    page = workflow_page(load_workflow_text(REFUND, "refund.yaml"))
    assert page.startswith("## Refund request (`refund` v2)\n\n5 states (starts in `asked`, "
                           "ends in `paid`, `refused`); 5 transitions; 1 timer; SLA clocks: "
                           "handling.\n\n```mermaid\n" + REFUND_DIAGRAM + "```\n\n")
    assert "| Trigger | From | To | Who | Needs |\n| --- | --- | --- | --- | --- |\n" in page
    assert ("| `pay` | checking | paid | supervisor | `amount`; only if "
            '`case.amount < 500.0 \\|\\| actor.role == "supervisor"` |') in page
    assert "| `check` | asked | checking | anyone | - |" in page
    assert ("| `refuse` | checking, waiting | refused | supervisor; timer `no_receipt` "
            "(in waiting, after 48h) | - |") in page


def test_names_mermaid_would_misread_get_an_alias_and_titles_lose_what_breaks_it() -> None:
    text = (REFUND.replace("checking", "default")
            .replace("title: Paid", "title: 'Paid; \"done\" #1: 100%% <ok>'")
            .replace("title: Asked", "title: 'Asked, direction LR'"))
    diagram = mermaid(load_workflow_text(text, "refund.yaml"))
    assert "    S_default\n" in diagram
    assert "    asked --> S_default: check\n" in diagram
    assert "    state \"Paid, 'done' 1, 100% ok\" as paid\n" in diagram
    assert '    state "Asked, direction-LR (queue refunds)" as asked\n' in diagram
    assert all(LINE.match(line) for line in diagram.splitlines())


PLAN = textwrap.dedent("""\
    workflow: plan
    version: 1
    subject: customer
    fields:
      next_visit: {type: datetime}
    states:
      active: {initial: true}
      visit_due: {}
      ended: {final: true}
    transitions:
      - trigger: visit_due
        from: active
        to: visit_due
        roles: [manager]
        when: has(case.next_visit)
      - trigger: visited
        from: visit_due
        to: active
      - trigger: hand_over
        from: [active, visit_due]
        to: ended
        roles: [manager]
    timers:
      - name: quarterly
        in: active
        at: case.next_visit
        fire: visit_due
    reacts:
      - on: customer.tier_changed
        when: 'customer.tier != "key"'
        fire: hand_over
""")


def test_timers_at_an_instant_and_customer_events_get_edges_of_their_own() -> None:
    spec = load_workflow_text(PLAN, "plan.yaml")
    assert mermaid(spec).splitlines()[5:] == [
        "    active --> visit_due: visit_due (manager) [guarded]",
        "    active --> visit_due: visit_due (timer quarterly, at case.next_visit) [guarded]",
        "    visit_due --> active: visited",
        "    active --> ended: hand_over (manager)",
        "    active --> ended: hand_over (on customer.tier_changed) [guarded]",
        "    visit_due --> ended: hand_over (manager)",
        "    visit_due --> ended: hand_over (on customer.tier_changed) [guarded]",
        "    ended --> [*]",
    ]
    assert ("| `hand_over` | active, visit_due | ended | manager; on `customer.tier_changed` if "
            '`customer.tier != "key"` | - |') in workflow_page(spec)


@pytest.mark.parametrize("path", workflow_files(ROOT), ids=lambda p: p.name)
def test_every_shipped_workflow_draws_every_state_and_trigger(path: Path) -> None:
    spec = load_workflow_file(path)
    diagram = mermaid(spec)
    bad = [line for line in diagram.splitlines() if not LINE.match(line)]
    assert not bad, f"lines Mermaid would misread: {bad}"
    nodes = set(re.findall(r"(?:as |^    |--> )(\w+)", diagram, re.MULTILINE))
    assert set(spec.states) <= nodes
    labels = set(re.findall(r": (\w+)", diagram))
    assert spec.triggers <= labels
    assert f"[*] --> {spec.initial.name}\n" in diagram
    assert diagram == mermaid(spec)  # the same every time


def test_the_diagrams_document_is_up_to_date() -> None:
    expected = diagrams_document(shipped())
    assert expected.startswith(f"# Shipped workflows, as diagrams\n\nGenerated by `{GENERATED_BY}`")
    assert DOCUMENT.read_text(encoding="utf-8") == expected, (
        "docs/workflow-diagrams.md is out of date; regenerate it with "
        f"`{GENERATED_BY}`")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["workflows", "diagram", *args, "--home", str(ROOT)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_prints_a_shipped_workflow() -> None:
    code, out, _ = invoke("complaint")
    assert code == 0
    complaint = next(s for s in shipped() if s.name == "complaint")
    assert out == mermaid(complaint)
    assert "    resolved --> closed: close_unanswered (timer follow_up, after 5 business days)\n" \
        in out
    code, out, _ = invoke("complaint", "--markdown")
    assert (code, out) == (0, workflow_page(complaint))


def test_cli_prints_every_workflow() -> None:
    code, out, _ = invoke("--all", "--markdown")
    assert (code, out) == (0, diagrams_document(shipped()))
    code, out, _ = invoke("--all")
    assert code == 0
    assert out.count("stateDiagram-v2\n") == len(shipped())


def test_cli_names_an_unknown_workflow_and_suggests_one() -> None:
    code, out, err = invoke("complain")
    assert (code, out) == (2, "")
    assert "no workflow 'complain'" in err
    assert "did you mean 'complaint'?" in err


@pytest.mark.parametrize("args", [(), ("complaint", "--all")])
def test_cli_needs_a_name_or_all(args: tuple[str, ...]) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert "give a workflow NAME or --all" in err
