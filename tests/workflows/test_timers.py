"""engine.workflows.timers: `timers:` and `sla:`, every mistake reported at its line."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from engine.kernel.errors import DefinitionError
from engine.kernel.specs import Delay, WorkflowSpec
from engine.workflows.loading import load_workflow_text
from engine.workflows.registry import load_tables
from engine.workflows.timers import parse_delay
from tests.fixtures import ROOT

TABLES = {spec.name: spec for spec, _ in load_tables(ROOT)}
CALENDARS = ["office", "support_24x7", "extended"]

# A valid workflow with a timer and two clocks; the cases below change one line of it.
BASE = textwrap.dedent("""\
    workflow: desk
    version: 1
    fields:
      hours: {type: decimal, min: 0}
      tier: {type: text}
      severity: {type: text}
      priority: {type: enum, values: [normal, high]}
    states:
      open: {initial: true}
      waiting: {}
      done: {final: true}
    transitions:
      - trigger: wait
        from: open
        to: waiting
      - trigger: answer
        from: waiting
        to: open
      - trigger: finish
        from: [open, waiting]
        to: done
    timers:
      - name: nudge
        in: waiting
        after: 2 business days
        fire: answer
    sla:
      calendar: office
      warn_at: 0.75
      escalate_at: [1.5, 2]
      on_warn: complaint_escalation
      on_breach: complaint_escalation
      clocks:
        reply:
          stop_on: [wait]
          target: case.hours
        resolution:
          stop_in: [done]
          pause_in: [waiting]
          target: duration("8h")
          business: 'case.tier != "strategic"'
          calendar: 'case.tier == "strategic" ? "support_24x7" : "office"'
""")


def load(text: str) -> WorkflowSpec:
    return load_workflow_text(text, "desk.yaml", TABLES, CALENDARS)


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


def edit(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_loads_into_timers_and_clocks() -> None:
    spec = load(BASE)
    [timer] = spec.timers
    assert (timer.name, timer.state, timer.fire, timer.calendar) == (
        "nudge", "waiting", "answer", "office")
    assert timer.after == Delay(timedelta(0), True, 2)
    assert spec.sla is not None
    reply, resolution = spec.sla.clocks
    assert (reply.stop_on, reply.calendar, reply.business) == (("wait",), "office", None)
    assert (resolution.stop_in, resolution.pause_in) == (("done",), ("waiting",))
    assert resolution.calendar_expression is not None
    assert spec.sla.steps(reply) == (0.75, 1.0, 1.5, 2.0)
    assert (spec.sla.on_warn, spec.sla.on_breach) == ("complaint_escalation",) * 2


@pytest.mark.parametrize(("text", "delay"), [
    ("90m", Delay(timedelta(minutes=90))), ("4h", Delay(timedelta(hours=4))),
    ("1.5 hours", Delay(timedelta(minutes=90))), ("2 days", Delay(timedelta(days=2))),
    ("1 week", Delay(timedelta(weeks=1))),
    ("8 business hours", Delay(timedelta(hours=8), business=True)),
    ("30 business minutes", Delay(timedelta(minutes=30), business=True)),
    ("3 business days", Delay(timedelta(0), True, 3)),
])
def test_delays_read_as_people_write_them(text: str, delay: Delay) -> None:
    assert parse_delay(text) == delay


@pytest.mark.parametrize("text", ["soon", "4 fortnights", "2 business weeks",
                                  "1.5 business days", "h4", ""])
def test_what_is_not_a_delay(text: str) -> None:
    assert parse_delay(text) is None


@pytest.mark.parametrize(("old", "new", "line", "says"), [
    ("    in: waiting\n", "    in: waitng\n", 24, "'in' must name the state it waits in, not "
     "'waitng'; did you mean 'waiting'?"),
    ("    in: waiting\n", "    in: [waiting]\n", 24, "a timer waits in one state; give each "
     "state its own timer"),
    ("    fire: answer\n", "    fire: finsh\n", 26, "'fire' must name a trigger that leaves "
     "'waiting', not 'finsh'; did you mean 'finish'?"),
    ("    after: 2 business days\n", "    after: soon\n", 25, "'after' must be a time such as "
     "90m, 4h"),
    ("    after: 2 business days\n", "    after: 0h\n", 25, "'after' must be longer than 0"),
    ("    after: 2 business days\n", "    at: 'case.hours'\n    after: 2h\n", 23,
     "needs exactly one of 'after:'"),
    ("  - name: nudge\n", "  - name: Nudge\n", 23, "a timer needs 'name:'"),
    ("  calendar: office\n", "  calendar: ofice\n", 28, "unknown calendar 'ofice'; did you "
     "mean 'office'?"),
    ("  warn_at: 0.75\n", "  warn_at: 80\n", 29, "'warn_at' must be a fraction of the target "
     "between 0 and 1"),
    ("  escalate_at: [1.5, 2]\n", "  escalate_at: [0.5]\n", 30, "lateness steps past the "
     "breach"),
    ("  on_warn: complaint_escalation\n", "  on_warn: complaint_escalaton\n", 31,
     "unknown table 'complaint_escalaton'; did you mean 'complaint_escalation'?"),
    ("  on_breach: complaint_escalation\n", "  on_breach: complaint_sla\n", 32,
     "must read input 'lateness' and give output 'level'"),
    ("      stop_on: [wait]\n", "      stop_on: [wiat]\n", 35, "names unknown trigger 'wiat'"),
    ("      pause_in: [waiting]\n", "      pause_in: [waitin]\n", 39,
     "names unknown state 'waitin'"),
    ("      target: case.hours\n", "      target: case.hour\n", 36, "'target'"),
    ("      target: case.hours\n", "      taget: case.hours\n", 36,
     "unknown key 'taget' in clock 'reply'; did you mean 'target'?"),
])
def test_each_mistake_is_named_at_its_line(old: str, new: str, line: int, says: str) -> None:
    found = problems(edit(old, new))
    assert any(p.startswith(f"desk.yaml:{line}: ") and says in p for p in found), found


@pytest.mark.parametrize("target", ["0", "-2", "'duration(\"-1h\")'", "'\"soon\"'"])
def test_a_constant_target_must_be_more_than_zero_hours(target: str) -> None:
    found = problems(edit("      target: case.hours\n", f"      target: {target}\n"))
    assert any(p.startswith("desk.yaml:36: SLA target of clock 'reply' must be") for p in found), \
        found


def test_a_timer_in_a_final_state_could_never_fire() -> None:
    text = edit("    in: waiting\n    after: 2 business days\n    fire: answer\n",
                "    in: done\n    after: 2h\n    fire: answer\n")
    found = problems(text)
    assert any("waits in final state 'done'" in p for p in found), found


def test_business_time_needs_a_calendar() -> None:
    text = edit("  calendar: office\n", "")
    found = problems(text)
    assert any("counts business time but names no calendar" in p for p in found), found
    assert any("clock 'reply' has no calendar" in p for p in found), found


def test_a_ladder_that_reads_what_the_case_lacks_is_refused() -> None:
    text = edit("  severity: {type: text}\n", "")
    found = problems(text)
    assert any("reads 'severity', which is neither a case field" in p for p in found), found


def test_two_timers_of_one_name_are_refused() -> None:
    text = edit("    fire: answer\n", "    fire: answer\n  - name: nudge\n    in: open\n"
                "    after: 1h\n    fire: finish\n")
    found = problems(text)
    assert any("timer 'nudge' is defined twice" in p for p in found), found


def test_without_the_tables_and_calendars_references_are_not_checked() -> None:
    text = edit("  calendar: office\n", "  calendar: elsewhere\n")
    spec = load_workflow_text(text, "desk.yaml")  # a stored version, checked when first loaded
    assert spec.sla is not None and spec.sla.calendar == "elsewhere"


def test_a_number_target_is_hours() -> None:
    spec = load(edit("      target: case.hours\n", "      target: 8\n"))
    assert spec.sla is not None and spec.sla.clocks[0].target.evaluate({}) == 8
