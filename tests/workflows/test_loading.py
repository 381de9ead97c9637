"""engine.workflows.loading: every load-time check, each reported as path:line: with a
suggestion."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from engine.kernel.errors import DefinitionError
from engine.kernel.expressions import Expression
from engine.kernel.fields import FieldSpec
from engine.kernel.specs import AssignAction, SetAction, WorkflowSpec
from engine.kernel.yaml_source import content_hash
from engine.workflows.loading import load_workflow_file, load_workflow_text
from tests.fixtures import ROOT

COMPLAINT = ROOT / "workflows" / "complaint.yaml"

# A valid workflow. Most cases below change one line of it (the line numbers are those below);
# `reopen` keeps `approved` reachable when `approve` is broken on purpose.
BASE = textwrap.dedent("""\
    workflow: demo
    version: 1
    fields:
      amount: {type: decimal, min: 0}
      note: {type: text}
    states:
      open: {initial: true}
      approved: {}
      done: {final: true}
    transitions:
      - trigger: approve
        from: open
        to: approved
      - trigger: finish
        from: [open, approved]
        to: done
      - trigger: reopen
        from: done
        to: approved
""")


def edit(old: str, new: str) -> str:
    """BASE with one piece of text replaced (which must occur exactly once)."""
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def write(tmp_path: Path, text: str, name: str = "wf.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problems loading `text` reports, each as 'path:line: message'."""
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        load_workflow_file(path)
    assert all(p.path == str(path) for p in caught.value.problems)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


def assert_one_problem(tmp_path: Path, text: str, line: int, message: str) -> None:
    [problem] = problems(tmp_path, text)
    prefix = f"{tmp_path / 'wf.yaml'}:{line}: "
    assert problem.startswith(prefix), problem
    assert message in problem[len(prefix):], problem


def test_base_is_valid(tmp_path: Path) -> None:
    spec = load_workflow_file(write(tmp_path, BASE))
    assert isinstance(spec, WorkflowSpec)
    assert (spec.name, spec.version, spec.title, spec.subject) == ("demo", 1, "demo", None)
    assert list(spec.states) == ["open", "approved", "done"]
    assert spec.initial.name == "open"
    assert spec.path == str(tmp_path / "wf.yaml")
    assert spec.fields["amount"] == FieldSpec("amount", "decimal", min=Decimal(0), line=4)
    finish = spec.transition("finish", "approved")
    assert finish is not None
    assert finish.sources == ("open", "approved")
    assert finish.dest == "done"
    assert finish.line == 14
    assert spec.transition("finish", "open") is finish
    assert spec.transition("approve", "done") is None


# --- malformed YAML and duplicate keys -----------------------------------------------------

def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    assert_one_problem(tmp_path, edit("  open: {initial: true}\n", "  open: {initial: true\n"),
                       8, "not valid YAML: expected ',' or '}'")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("workflow: demo\nversion: 1\n  states: {}\n", 3, id="bad-indent"),
        pytest.param("workflow: [demo\n", 2, id="unclosed-list"),
        pytest.param("workflow: demo\n\tversion: 1\n", 2, id="tab"),
    ],
)
def test_malformed_yaml_variants(tmp_path: Path, text: str, line: int) -> None:
    assert_one_problem(tmp_path, text, line, "not valid YAML: ")


def test_duplicate_keys_are_reported_with_both_lines(tmp_path: Path) -> None:
    text = edit("version: 1\n", "version: 1\nversion: 2\n")
    assert_one_problem(tmp_path, text, 3, "duplicate key 'version' (first at line 2); "
                                          "remove one of them")


def test_duplicate_state_is_reported(tmp_path: Path) -> None:
    text = edit("  done: {final: true}\n", "  done: {final: true}\n  open: {}\n")
    assert_one_problem(tmp_path, text, 10, "duplicate key 'open' (first at line 7)")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("", 1, id="empty"),
        pytest.param("- workflow: demo\n", 1, id="list"),
        pytest.param("just text\n", 1, id="scalar"),
    ],
)
def test_document_must_be_a_mapping(tmp_path: Path, text: str, line: int) -> None:
    assert_one_problem(tmp_path, text, line, "a workflow file must be a mapping with "
                                             "'workflow', 'version'")


# --- unknown keys at every level -----------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            BASE + "titel: Demo\n", 20,
            "unknown key 'titel' in workflow; did you mean 'title'? (allowed: approval, "
            "description, "
            "fields, on_start, one_open_per_customer, reacts, sla, starts, states, subject, "
            "timers, title, transitions, version, workflow)",
            id="workflow"),
        pytest.param(
            edit("{type: decimal, min: 0}", "{type: decimal, min: 0, maxx: 5}"), 4,
            "unknown key 'maxx' in field 'amount'; did you mean 'max'? (allowed: default, "
            "description, max, max_length, min, of, personal, required, title, type, values)",
            id="field"),
        pytest.param(
            edit("  open: {initial: true}", "  open: {initial: true, finall: false}"), 7,
            "unknown key 'finall' in state 'open'; did you mean 'final'? (allowed: "
            "description, final, initial, queue, title)",
            id="state"),
        pytest.param(
            edit("  - trigger: approve\n", "  - trigger: approve\n    tile: Approve\n"), 12,
            "unknown key 'tile' in a transition; did you mean 'title'? (allowed: accepts, asks, "
            "description, do, from, message, needs, on, roles, title, to, trigger, when)",
            id="transition"),
        pytest.param(
            edit("    to: approved\n  - trigger: finish",
                 "    to: approved\n    do:\n      - assign: {strategy: least_loaded, "
                 "amoung: [agent]}\n  - trigger: finish"), 15,
            "unknown key 'amoung' in assign; did you mean 'among'? (allowed: among, strategy)",
            id="assign"),
        pytest.param(
            BASE + "bogus: 1\n", 20,
            "unknown key 'bogus' in workflow (allowed: ",
            id="no-suggestion"),
    ],
)
def test_unknown_keys_at_every_level(tmp_path: Path, text: str, line: int, message: str) -> None:
    assert_one_problem(tmp_path, text, line, message)


# --- workflow header -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("version_line", "shown"),
    [
        ('version: "1"', "'1'"),
        ("version: one", "'one'"),
        ("version: true", "True"),
        ("version: 0", "0"),
        ("version: -2", "-2"),
        ("version: 1.5", "1.5"),
        ("version: [1]", "[1]"),
        ("version:", "None"),
    ],
)
def test_version_must_be_a_whole_number(tmp_path: Path, version_line: str, shown: str) -> None:
    assert_one_problem(tmp_path, edit("version: 1", version_line), 2,
                       f"'version' must be a whole number >= 1, not {shown}")


def test_missing_version_is_reported_at_the_top(tmp_path: Path) -> None:
    assert_one_problem(tmp_path, edit("version: 1\n", ""), 1,
                       "'version' must be a whole number >= 1, not None")


@pytest.mark.parametrize("name", ["Demo", "my-flow", "1st", "''"])
def test_workflow_name_must_be_an_identifier(tmp_path: Path, name: str) -> None:
    assert_one_problem(tmp_path, edit("workflow: demo", f"workflow: {name}"), 1,
                       "the workflow name ('workflow') must be a lower-case identifier")


def test_subject_must_be_customer(tmp_path: Path) -> None:
    assert_one_problem(tmp_path, BASE + "subject: account\n", 20,
                       "'subject' must be 'customer' or left out, not 'account'")


# --- fields --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("note", "message"),
    [
        pytest.param("{type: txt}", "field 'note' has unknown type 'txt'; did you mean 'text'? "
                     "(types: bool, case, customer, date, datetime, decimal, duration, enum, "
                     "int, list, text, user)", id="misspelt-type"),
        pytest.param("{type: string}", "field 'note' has unknown type 'string' (types: ",
                     id="unknown-type"),
        pytest.param("{title: Note}", "field 'note' has unknown type None", id="no-type"),
        pytest.param("{type: enum}", "enum field 'note' needs 'values:', a list of names",
                     id="enum-without-values"),
        pytest.param("{type: enum, values: []}", "enum field 'note' needs 'values:'",
                     id="enum-empty-values"),
        pytest.param("{type: enum, values: [1, 2]}", "enum field 'note' needs 'values:'",
                     id="enum-number-values"),
        pytest.param("{type: enum, values: [a, b, a]}", "enum field 'note' lists a value twice",
                     id="enum-value-twice"),
        pytest.param("{type: text, values: [a]}", "field 'note': 'values' is only for enum",
                     id="values-on-text"),
        pytest.param("{type: list}", "list field 'note' needs 'of:' naming its item type, "
                     "e.g. 'of: text', not None", id="list-without-of"),
        pytest.param("{type: list, of: enum}", "list field 'note' needs 'of:'",
                     id="list-of-bare-enum"),
        pytest.param("{type: list, of: list}", "list field 'note' needs 'of:'",
                     id="list-of-list"),
        pytest.param("{type: list, of: {type: txt}}", "field 'note[]' has unknown type 'txt'; "
                     "did you mean 'text'?", id="list-of-bad-mapping"),
        pytest.param("{type: text, required: 1}", "'required' must be true or false, not 1",
                     id="required-not-bool"),
        pytest.param("mandatory", "field 'note' must be a mapping", id="field-not-mapping"),
    ],
)
def test_bad_field_types(tmp_path: Path, note: str, message: str) -> None:
    assert_one_problem(tmp_path, edit("  note: {type: text}", f"  note: {note}"), 5, message)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        pytest.param("{type: enum, values: [low, high], default: hgih}",
                     "default of field 'note': 'hgih' is not one of low, high; "
                     "did you mean 'high'?", id="enum-misspelt"),
        pytest.param("{type: enum, values: [low, high], default: urgent}",
                     "default of field 'note': 'urgent' is not one of low, high", id="enum"),
        pytest.param("{type: int, default: lots}",
                     "default of field 'note': 'lots' is not a whole number", id="int"),
        pytest.param("{type: int, min: 1, default: 0}",
                     "default of field 'note': 0 is below the minimum 1", id="below-min"),
        pytest.param("{type: text, max_length: 2, default: abc}",
                     "default of field 'note': is 3 characters long", id="too-long"),
        pytest.param("{type: datetime, default: '2026-03-01T09:00:00'}",
                     "default of field 'note': '2026-03-01T09:00:00' has no time zone",
                     id="naive-datetime"),
    ],
)
def test_bad_defaults(tmp_path: Path, note: str, message: str) -> None:
    assert_one_problem(tmp_path, edit("  note: {type: text}", f"  note: {note}"), 5, message)


def test_good_defaults_are_coerced(tmp_path: Path) -> None:
    text = edit("  note: {type: text}", "  note: {type: enum, values: [low, high], default: low}")
    text = text.replace("{type: decimal, min: 0}", "{type: decimal, min: 0, default: 1.10}")
    spec = load_workflow_file(write(tmp_path, text))
    assert spec.fields["note"].default == "low"
    assert spec.fields["amount"].default == Decimal("1.1")
    assert isinstance(spec.fields["amount"].default, Decimal)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        pytest.param("{type: text, min: 1}", "field 'note': 'min' is only for int and decimal",
                     id="min-on-text"),
        pytest.param("{type: date, max: 5}", "field 'note': 'max' is only for int and decimal",
                     id="max-on-date"),
        pytest.param("{type: enum, values: [a], min: 1}",
                     "field 'note': 'min' is only for int and decimal", id="min-on-enum"),
        pytest.param("{type: int, min: one}", "field 'note': 'min' must be a number",
                     id="min-not-number"),
        pytest.param("{type: decimal, max: '5'}", "field 'note': 'max' must be a number",
                     id="max-quoted"),
        pytest.param("{type: int, max: true}", "field 'note': 'max' must be a number",
                     id="max-bool"),
        pytest.param("{type: int, max_length: 5}",
                     "field 'note': 'max_length' is a whole number >= 1, only for text",
                     id="max-length-on-int"),
        pytest.param("{type: text, max_length: 0}",
                     "field 'note': 'max_length' is a whole number >= 1, only for text",
                     id="max-length-zero"),
    ],
)
def test_bounds_only_on_numbers(tmp_path: Path, note: str, message: str) -> None:
    assert_one_problem(tmp_path, edit("  note: {type: text}", f"  note: {note}"), 5, message)


def test_bounds_are_decimals(tmp_path: Path) -> None:
    text = edit("  note: {type: text}", "  note: {type: int, min: 1, max: 2.5}")
    field = load_workflow_file(write(tmp_path, text)).fields["note"]
    assert (field.min, field.max) == (Decimal(1), Decimal("2.5"))


@pytest.mark.parametrize(
    "name", ["state", "id", "assignee", "queue", "customer", "workflow", "created_at"]
)
def test_reserved_field_names(tmp_path: Path, name: str) -> None:
    assert_one_problem(tmp_path, edit("  note: {type: text}", f"  {name}: {{type: text}}"), 5,
                       f"field name '{name}' is taken by the case itself (assignee, "
                       "closed_at, created_at, customer, id, queue, state, updated_at, version, "
                       "workflow); choose another")


@pytest.mark.parametrize("name", ["Note", "note-text", "_note", "2nd"])
def test_field_name_must_be_an_identifier(tmp_path: Path, name: str) -> None:
    assert_one_problem(tmp_path, edit("  note: {type: text}", f"  {name}: {{type: text}}"), 5,
                       f"field name '{name}' must be a lower-case identifier")


def test_list_fields(tmp_path: Path) -> None:
    text = edit("  note: {type: text}",
                "  note: {type: list, of: {type: enum, values: [a, b]}, default: [a]}")
    field = load_workflow_file(write(tmp_path, text)).fields["note"]
    assert field.type == "list"
    assert field.of is not None
    assert (field.of.name, field.of.type, field.of.values) == ("note[]", "enum", ("a", "b"))
    assert field.default == ["a"]


# --- states --------------------------------------------------------------------------------

def test_no_initial_state(tmp_path: Path) -> None:
    assert_one_problem(tmp_path, edit("  open: {initial: true}", "  open: {}"), 7,
                       "exactly one state must be 'initial: true' (found: none)")


def test_two_initial_states(tmp_path: Path) -> None:
    assert_one_problem(tmp_path, edit("  approved: {}", "  approved: {initial: true}"), 7,
                       "exactly one state must be 'initial: true' (found: open, approved)")


@pytest.mark.parametrize(
    ("states", "line", "message"),
    [
        pytest.param("states:\n", 6, "'states' must be a mapping", id="missing"),
        pytest.param("states: {}\n", 6, "'states' is empty; a workflow needs at least one state",
                     id="empty"),
        pytest.param("states: [open, done]\n", 6, "'states' must be a mapping", id="list"),
    ],
)
def test_states_must_be_a_non_empty_mapping(
    tmp_path: Path, states: str, line: int, message: str
) -> None:
    text = textwrap.dedent("""\
        workflow: demo
        version: 1
        fields:
          note: {type: text}

        """) + states + "transitions: []\n"
    assert_one_problem(tmp_path, text, line, message)


@pytest.mark.parametrize(
    ("approved", "message"),
    [
        pytest.param("{queue: Service Desk}", "state 'approved': queue must be an identifier",
                     id="queue"),
        pytest.param("{final: maybe}", "'final' must be true or false, not 'maybe'",
                     id="final-not-bool"),
    ],
)
def test_bad_state_bodies(tmp_path: Path, approved: str, message: str) -> None:
    assert_one_problem(tmp_path, edit("  approved: {}", f"  approved: {approved}"), 8, message)


def test_state_name_must_be_an_identifier(tmp_path: Path) -> None:
    text = BASE.replace("approved", "Approved")
    assert_one_problem(tmp_path, text, 8, "state name 'Approved' must be a lower-case identifier")


def test_state_with_empty_body(tmp_path: Path) -> None:
    spec = load_workflow_file(write(tmp_path, edit("  approved: {}", "  approved:")))
    assert spec.states["approved"].initial is False
    assert spec.states["approved"].line == 8


# --- transitions ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param("    to: approved\n  - trigger: finish",
                     "    to: aproved\n  - trigger: finish", 13,
                     "transition 'approve' targets unknown state 'aproved'; "
                     "did you mean 'approved'?", id="to"),
        pytest.param("    from: open\n", "    from: opne\n", 12,
                     "transition 'approve' starts from unknown state 'opne'; "
                     "did you mean 'open'?", id="from"),
        pytest.param("    from: done\n", "    from: [done, clsoed]\n", 18,
                     "transition 'reopen' starts from unknown state 'clsoed'", id="from-list"),
        pytest.param("    from: open\n", "    from: nowhere\n", 12,
                     "transition 'approve' starts from unknown state 'nowhere'", id="no-hint"),
    ],
)
def test_unknown_states_in_from_and_to(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert_one_problem(tmp_path, edit(old, new), line, message)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param("    to: approved\n  - trigger: finish", "    to: [approved]\n  - trigger: "
                     "finish", 13, "transition 'approve': 'to' must be one state name, "
                     "not ['approved']", id="to-list"),
        pytest.param("    from: open\n", "    from: []\n", 12,
                     "transition 'approve': 'from' must be a state name, a list of them, "
                     "or '*', not []", id="from-empty"),
        pytest.param("    from: open\n", "", 11, "transition 'approve': 'from' must be",
                     id="from-missing"),
    ],
)
def test_from_and_to_forms(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert_one_problem(tmp_path, edit(old, new), line, message)


def test_from_star_means_every_state(tmp_path: Path) -> None:
    text = BASE + "  - trigger: cancel\n    from: '*'\n    to: done\n"
    spec = load_workflow_file(write(tmp_path, text))
    cancel = spec.transition("cancel", "approved")
    assert cancel is not None
    assert cancel.sources == ("open", "approved", "done")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("roles", "[agnet]", "transition 'approve' names unknown role 'agnet'; did "
                     "you mean 'agent'? (roles: account_manager, admin, agent, auditor, "
                     "manager, supervisor)", id="role"),
        pytest.param("roles", "[agent, superviser]", "unknown role 'superviser'; did you mean "
                     "'supervisor'?", id="second-role"),
        pytest.param("roles", "[root]", "transition 'approve' names unknown role 'root' "
                     "(roles: ", id="role-no-hint"),
        pytest.param("roles", "{agent: true}", "transition 'approve': 'roles' must be a list "
                     "of role names", id="roles-mapping"),
        pytest.param("needs", "[amont]", "transition 'approve' names unknown field 'amont'; "
                     "did you mean 'amount'? (fields: amount, note)", id="needs"),
        pytest.param("needs", "amont", "unknown field 'amont'; did you mean 'amount'?",
                     id="needs-single"),
        pytest.param("accepts", "[nots]", "transition 'approve' names unknown field 'nots'; "
                     "did you mean 'note'? (fields: amount, note)", id="accepts"),
    ],
)
def test_unknown_roles_and_fields(tmp_path: Path, key: str, value: str, message: str) -> None:
    text = edit("  - trigger: approve\n", f"  - trigger: approve\n    {key}: {value}\n")
    assert_one_problem(tmp_path, text, 12, message)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param("{set: {amont: '1'}}", "transition 'approve' sets unknown field 'amont'; "
                     "did you mean 'amount'?", id="set-unknown-field"),
        pytest.param("{set: {amount: 'case.amount +'}}", "transition 'approve': set amount: "
                     "'case.amount +' is not valid CEL", id="set-broken-cel"),
        pytest.param("{set: {amount: 'case.amout + 1'}}", "reads case.amout, but case has no "
                     "'amout'; did you mean 'amount'?", id="set-unknown-member"),
        pytest.param("{set: {}}", "transition 'approve': 'set' takes a mapping of field: CEL "
                     "expression", id="set-empty"),
        pytest.param("{sett: {amount: '1'}}", "transition 'approve': unknown action 'sett'; "
                     "did you mean 'set'? (actions: set, assign, decide, update_customer, "
                     "measure, mail, survey)", id="unknown-action"),
        pytest.param("{set: {amount: '1'}, assign: nobody}", "each action is a mapping with "
                     "one key: set, assign, decide, update_customer, measure, mail, survey",
                     id="two-keys"),
        pytest.param("{survey: csat}", "transition 'approve': 'survey' asks the case's "
                     "customer; add 'subject: customer'", id="survey-without-customer"),
        pytest.param("{assign: {strategy: least_lodaed}}", "transition 'approve': unknown "
                     "assign strategy 'least_lodaed'; did you mean 'least_loaded'?",
                     id="assign-strategy"),
        pytest.param("{assign: acter.name}", "transition 'approve': 'assign' 'acter.name' reads "
                     "unknown variable 'acter'; did you mean 'actor'?", id="assign-expression"),
        pytest.param("{assign: [agent]}", "transition 'approve': 'assign' takes a strategy",
                     id="assign-list"),
        pytest.param("{assign: {strategy: round_robin, among: [agnet]}}", "names unknown role "
                     "'agnet'; did you mean 'agent'?", id="assign-among"),
    ],
)
def test_bad_actions(tmp_path: Path, action: str, message: str) -> None:
    text = edit("    to: approved\n  - trigger: finish",
                f"    to: approved\n    do:\n      - {action}\n  - trigger: finish")
    assert_one_problem(tmp_path, text, 15, message)


def test_a_guard_says_why_it_refuses_in_its_message(tmp_path: Path) -> None:
    text = edit("  - trigger: approve\n", "  - trigger: approve\n    when: 'has(case.note)'\n"
                "    message: \"Write a note before approving\"\n")
    transition = load_workflow_file(write(tmp_path, text)).transition("approve", "open")
    assert transition is not None
    assert (transition.message, transition.when is not None) == (
        "Write a note before approving", True)
    plain = load_workflow_file(write(tmp_path, BASE)).transition("approve", "open")
    assert plain is not None and plain.message is None


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        pytest.param("    message: Write a note\n", 12, "transition 'approve': 'message' says "
                     "why 'when' refuses, and there is no 'when'; add the condition or remove "
                     "the message", id="no-when"),
        pytest.param("    when: 'has(case.note)'\n    message: [a, list]\n", 13,
                     "transition 'approve': 'message' must be a sentence in quotes, not "
                     "['a', 'list']", id="not-text"),
        pytest.param("    when: 'has(case.note)'\n    message: '  '\n", 13,
                     "'message' must be a sentence in quotes, not '  '", id="blank"),
        pytest.param("    when: 'has(case.note)'\n    message: " + "x" * 301 + "\n", 13,
                     "transition 'approve': 'message' is 301 characters long; say it in at "
                     "most 300", id="too-long"),
        pytest.param("    when: 'has(case.note)'\n    mesage: Write a note\n", 13,
                     "unknown key 'mesage' in a transition; did you mean 'message'?",
                     id="misspelt"),
    ],
)
def test_a_guard_message_is_checked(tmp_path: Path, lines: str, line: int,
                                    message: str) -> None:
    text = edit("  - trigger: approve\n", "  - trigger: approve\n" + lines)
    assert_one_problem(tmp_path, text, line, message)


def test_every_guard_of_the_shipped_complaint_says_why_in_words() -> None:
    guarded = [t for t in load_workflow_file(COMPLAINT).transitions if t.when is not None]
    assert len(guarded) == 5
    assert all(t.message for t in guarded), [t.trigger for t in guarded if not t.message]


def test_do_must_be_a_list(tmp_path: Path) -> None:
    text = edit("    to: approved\n  - trigger: finish",
                "    to: approved\n    do: {set: {amount: '1'}}\n  - trigger: finish")
    assert_one_problem(tmp_path, text, 14, "transition 'approve': 'do' must be a list of actions")


def test_assign_strategy_nobody_in_mapping_form(tmp_path: Path) -> None:
    text = edit("    to: approved\n  - trigger: finish",
                "    to: approved\n    do:\n      - assign: {strategy: nobody}\n"
                "  - trigger: finish")
    spec = load_workflow_file(write(tmp_path, text))
    transition = spec.transition("approve", "open")
    assert transition is not None
    assert transition.actions[0] == AssignAction("nobody", line=15)


def test_good_actions(tmp_path: Path) -> None:
    text = edit("    to: approved\n  - trigger: finish",
                "    to: approved\n    do:\n      - set: {amount: 'case.amount + 1.0'}\n"
                "      - assign: actor.name\n      - assign: nobody\n"
                "      - assign: {strategy: least_loaded, among: [supervisor]}\n"
                "  - trigger: finish")
    transition = load_workflow_file(write(tmp_path, text)).transition("approve", "open")
    assert transition is not None
    set_amount, by_expression, nobody, least_loaded = transition.actions
    assert isinstance(set_amount, SetAction)
    assert (set_amount.field, set_amount.line) == ("amount", 15)
    assert set_amount.expression.source == "case.amount + 1.0"
    assert isinstance(by_expression, AssignAction)
    assert by_expression.strategy == "expression"
    assert by_expression.expression is not None
    assert dict(by_expression.expression.members) == {"actor": frozenset({"name"})}
    assert nobody == AssignAction("nobody", line=17)
    assert least_loaded == AssignAction("least_loaded", among=("supervisor",), line=18)


@pytest.mark.parametrize(
    "trigger", ["trigger", "state", "machine", "to_done", "may_approve", "is_open"]
)
def test_reserved_trigger_names(tmp_path: Path, trigger: str) -> None:
    assert_one_problem(tmp_path, edit("trigger: approve", f"trigger: {trigger}"), 11,
                       f"trigger '{trigger}' is a reserved name; choose another (names may not "
                       "be 'trigger', 'state', 'machine' or start with to_, may_, is_)")


@pytest.mark.parametrize("trigger", ["Approve", "approve now", "''"])
def test_trigger_must_be_an_identifier(tmp_path: Path, trigger: str) -> None:
    assert_one_problem(tmp_path, edit("trigger: approve", f"trigger: {trigger}"), 11,
                       "the trigger name ('trigger') must be a lower-case identifier")


def test_duplicate_trigger_from_one_state(tmp_path: Path) -> None:
    assert_one_problem(tmp_path, edit("trigger: finish", "trigger: approve"), 14,
                       "trigger 'approve' is defined twice from state 'open' (first at line 11); "
                       "merge them")


def test_same_trigger_from_different_states_is_fine(tmp_path: Path) -> None:
    spec = load_workflow_file(write(tmp_path, edit("trigger: reopen", "trigger: approve")))
    assert spec.transition("approve", "open") is not None
    assert spec.transition("approve", "done") is not None


def test_duplicate_trigger_on_one_line(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        workflow: demo
        version: 1
        states:
          open: {initial: true}
          approved: {}
          done: {final: true}
        transitions: [{trigger: go, from: open, to: approved}, {trigger: go, from: open, to: done},
                      {trigger: finish, from: approved, to: done}]
    """)
    assert_one_problem(tmp_path, text, 7, "trigger 'go' is defined twice from state 'open'")


@pytest.mark.parametrize(
    ("transitions", "message"),
    [
        pytest.param("transitions: {approve: {from: open, to: done}}\n",
                     "'transitions' must be a list", id="mapping"),
        pytest.param("transitions:\n", "'transitions' must be a list", id="missing"),
        pytest.param("transitions: [approve]\n", "each transition must be a mapping with "
                     "trigger, from and to", id="item-not-mapping"),
    ],
)
def test_transitions_must_be_a_list_of_mappings(
    tmp_path: Path, transitions: str, message: str
) -> None:
    text = textwrap.dedent("""\
        workflow: demo
        version: 1
        states:
          open: {initial: true, final: true}
        """) + transitions
    assert_one_problem(tmp_path, text, 5, message)


# --- CEL -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("when", "message"),
    [
        pytest.param("'case.amount >'", "transition 'approve': 'when' 'case.amount >' is not "
                     "valid CEL: ", id="broken"),
        pytest.param("'case.amount > > 1'", "is not valid CEL", id="broken-operator"),
        pytest.param("''", "transition 'approve': 'when' an expression must be a non-empty "
                     "string", id="empty"),
        pytest.param("3", "an expression must be a non-empty string", id="not-a-string"),
        pytest.param("'amount > 0'", "transition 'approve': 'when' 'amount > 0' reads unknown "
                     "variable 'amount' (expressions see actor, before, case, now)",
                     id="unknown-var"),
        pytest.param("'acter.role == \"agent\"'", "reads unknown variable 'acter'; did you mean "
                     "'actor'? (expressions see actor, before, case, now)", id="misspelt-var"),
        pytest.param("'customer.id != \"\"'", "reads unknown variable 'customer'",
                     id="customer-without-subject"),
        pytest.param("'case.amout > 0'", "transition 'approve': 'when' 'case.amout > 0' reads "
                     "case.amout, but case has no 'amout'; did you mean 'amount'? (it has "
                     "amount, assignee, closed_at, created_at, customer, id, note, queue, state, "
                     "updated_at, version, workflow)", id="unknown-field"),
        pytest.param("'actor.rol == \"agent\"'", "reads actor.rol, but actor has no 'rol'; "
                     "did you mean 'role'? (it has name, role)", id="unknown-actor-member"),
        pytest.param("'before.amout != case.amount'", "reads before.amout, but before has no "
                     "'amout'; did you mean 'amount'?", id="unknown-before-field"),
    ],
)
def test_bad_when(tmp_path: Path, when: str, message: str) -> None:
    text = edit("  - trigger: approve\n", f"  - trigger: approve\n    when: {when}\n")
    assert_one_problem(tmp_path, text, 12, message)


def test_good_when_reads_case_attributes_and_subject(tmp_path: Path) -> None:
    text = BASE + "subject: customer\n"
    text = text.replace("  - trigger: approve\n", "  - trigger: approve\n    when: "
                        "'case.amount > 0.0 && case.state == \"open\" && customer.id == \"C-1\""
                        " && now > case.created_at'\n")
    transition = load_workflow_file(write(tmp_path, text)).transition("approve", "open")
    assert transition is not None
    assert isinstance(transition.when, Expression)
    assert {k: set(v) for k, v in transition.when.members.items()} == {
        "case": {"amount", "state", "created_at"}, "customer": {"id"}, "now": set(),
    }


# --- the graph -----------------------------------------------------------------------------

def test_unreachable_state(tmp_path: Path) -> None:
    text = edit("  done: {final: true}\n", "  done: {final: true}\n  archived: {final: true}\n")
    assert_one_problem(tmp_path, text, 10, "state 'archived' cannot be reached from the initial "
                                           "state 'open'; add a transition into it or remove it")


def test_non_final_dead_end_state(tmp_path: Path) -> None:
    text = edit("  done: {final: true}\n", "  done: {final: true}\n  parked: {}\n")
    text += "  - trigger: park\n    from: open\n    to: parked\n"
    assert_one_problem(tmp_path, text, 10, "state 'parked' has no way out; add a transition "
                                           "from it or mark it 'final: true'")


def test_a_self_loop_is_no_way_out(tmp_path: Path) -> None:
    text = edit("  done: {final: true}\n", "  done: {final: true}\n  parked: {}\n")
    text += "  - trigger: park\n    from: open\n    to: parked\n"
    text += "  - trigger: remind\n    from: parked\n    to: parked\n"
    assert_one_problem(tmp_path, text, 10, "state 'parked' has no way out")


def test_a_final_state_needs_no_way_out(tmp_path: Path) -> None:
    text = edit("  done: {final: true}\n", "  done: {final: true}\n  parked: {final: true}\n")
    text += "  - trigger: park\n    from: open\n    to: parked\n"
    spec = load_workflow_file(write(tmp_path, text))
    assert spec.states["parked"].final
    assert spec.transitions_from("parked") == []


def test_states_without_transitions(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        workflow: demo
        version: 1
        states:
          open: {initial: true}
          done: {final: true}
        transitions: []
    """)
    assert_one_problem(tmp_path, text, 4, "the workflow has states but no transitions between "
                                          "them")


def test_single_final_initial_state_needs_no_transitions(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        workflow: note
        version: 3
        states:
          only: {initial: true, final: true}
        transitions: []
    """)
    spec = load_workflow_file(write(tmp_path, text))
    assert (spec.name, spec.version, spec.transitions) == ("note", 3, ())


# --- every problem, not only the first -----------------------------------------------------

def test_all_problems_in_one_file_are_reported_in_line_order(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        workflow: demo
        version: "1"
        titel: Demo
        fields:
          amount: {type: decimal, min: 0, maxx: 5}
          state: {type: text}
          note: {type: txt}
          level: {type: enum, values: [low, high], default: hgih}
          label: {type: text, min: 1}
        states:
          open: {initial: true, finall: false}
          approved: {}
          done: {final: true}
          done: {}
        transitions:
          - trigger: approve
            from: open
            to: aproved
            roles: [agnet]
            needs: [amont]
            when: 'case.amout > 0'
          - trigger: finish
            from: [open, approved]
            to: done
            do:
              - set: {amont: '1'}
          - trigger: to_done
            from: open
            to: done
          - trigger: check
            from: open
            to: done
            when: 'case.amount >'
          - trigger: reopen
            from: done
            to: approved
    """)
    found = problems(tmp_path, text)
    path = tmp_path / "wf.yaml"
    expected = [
        (2, "'version' must be a whole number >= 1, not '1'"),
        (3, "unknown key 'titel' in workflow; did you mean 'title'?"),
        (5, "unknown key 'maxx' in field 'amount'; did you mean 'max'?"),
        (6, "field name 'state' is taken by the case itself"),
        (7, "field 'note' has unknown type 'txt'; did you mean 'text'?"),
        (8, "default of field 'level': 'hgih' is not one of low, high; did you mean 'high'?"),
        (9, "field 'label': 'min' is only for int and decimal"),
        (11, "unknown key 'finall' in state 'open'; did you mean 'final'?"),
        (14, "duplicate key 'done' (first at line 13)"),
        (18, "transition 'approve' targets unknown state 'aproved'; did you mean 'approved'?"),
        (19, "transition 'approve' names unknown role 'agnet'; did you mean 'agent'?"),
        (20, "transition 'approve' names unknown field 'amont'; did you mean 'amount'?"),
        (21, "reads case.amout, but case has no 'amout'; did you mean 'amount'?"),
        (26, "transition 'finish' sets unknown field 'amont'; did you mean 'amount'?"),
        (27, "trigger 'to_done' is a reserved name"),
        (33, "transition 'check': 'when' 'case.amount >' is not valid CEL"),
    ]
    assert len(found) == len(expected), "\n".join(found)
    for problem, (line, message) in zip(found, expected, strict=True):
        assert problem.startswith(f"{path}:{line}: "), problem
        assert message in problem, problem


def test_problems_of_a_file_that_is_also_missing_its_sections(tmp_path: Path) -> None:
    found = problems(tmp_path, "workflow: Demo\n")
    path = tmp_path / "wf.yaml"
    assert found == [
        f"{path}:1: the workflow name ('workflow') must be a lower-case identifier such as "
        "'complaint', not 'Demo'",
        f"{path}:1: 'version' must be a whole number >= 1, not None",
        f"{path}:1: 'states' must be a mapping",
        f"{path}:1: 'transitions' must be a list",
    ]


def test_load_workflow_text_uses_the_given_path() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_workflow_text(edit("version: 1", "version: 0"), "somewhere/demo.yaml")
    assert str(caught.value).startswith("somewhere/demo.yaml:2: 'version' must be")


# --- content hash --------------------------------------------------------------------------

def test_content_hash_ignores_comments_formatting_and_key_order(tmp_path: Path) -> None:
    reformatted = textwrap.dedent("""\
        # The demo workflow, written differently.
        version: 1      # same version
        workflow: "demo"

        fields:
          note:
            type: text
          amount:
            min: 0
            type: decimal
        transitions:
          - {trigger: approve, from: open, to: approved}
          - trigger: finish
            to: done
            from:
              - open
              - approved
          - {to: approved, trigger: reopen, from: done}
        states:
          open:
            initial: true
          approved: {}
          done: {final: true}
    """)
    original = load_workflow_file(write(tmp_path, BASE, "a.yaml"))
    other = load_workflow_file(write(tmp_path, reformatted, "b.yaml"))
    assert original.content_hash == other.content_hash
    assert len(original.content_hash) == 64
    assert int(original.content_hash, 16) >= 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("version: 1", "version: 2"),
        ("min: 0", "min: 1"),
        ("  - trigger: approve\n", "  - trigger: approve\n    roles: [agent]\n"),
        ("workflow: demo\n", "workflow: demo\ntitle: Demo\n"),
        ("  note: {type: text}", "  note: {type: text, description: A note}"),
    ],
)
def test_content_hash_changes_with_content(tmp_path: Path, old: str, new: str) -> None:
    original = load_workflow_file(write(tmp_path, BASE, "a.yaml"))
    changed = load_workflow_file(write(tmp_path, edit(old, new), "b.yaml"))
    assert changed.content_hash != original.content_hash


def test_content_hash_function() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": "1"})
    assert content_hash({"a": [1, 2]}) != content_hash({"a": [2, 1]})


# --- the shipped workflow ------------------------------------------------------------------

def test_shipped_complaint_workflow_loads() -> None:
    spec = load_workflow_file(COMPLAINT)
    assert (spec.name, spec.version, spec.subject) == ("complaint", 7, "customer")
    assert spec.initial.name == "received"
    assert list(spec.states) == ["received", "in_progress", "waiting_customer", "resolved",
                                 "closed"]
    assert [s.name for s in spec.states.values() if s.final] == ["closed"]
    assert spec.triggers == {"triage", "respond", "ask_customer", "customer_replied", "resolve",
                             "close", "not_satisfied", "close_unanswered", "reopen",
                             "mark_duplicate"}
    assert [(t.name, t.state, str(t.after), t.fire) for t in spec.timers] == [
        ("follow_up", "resolved", "5 business days", "close_unanswered")]
    assert spec.sla is not None
    assert [c.name for c in spec.sla.clocks] == ["first_reply", "next_reply", "resolution"]
    assert spec.sla.clocks[1].start_on == ("message_in",)
    assert spec.sla.clocks[1].stop_on[0] == "message_out"
    assert spec.sla.steps(spec.sla.clocks[2]) == (0.8, 1.0, 1.5)
    assert spec.customer_facts == {"tier"}
    replied = spec.transition("customer_replied", "waiting_customer")
    assert replied is not None and replied.on == "message_in"
    # resolving sends the survey; its answer closes or investigates again, by the guards
    resolve = spec.transition("resolve", "in_progress")
    assert resolve is not None and [type(a).__name__ for a in resolve.actions] == [
        "SetAction", "SurveyAction"]
    assert [t.trigger for t in spec.transitions_from("resolved")
            if t.on == "survey_answered"] == ["close", "not_satisfied"]
    assert spec.fields["severity"].default == "medium"
    assert spec.fields["reopen_count"].default == 0
    assert (spec.fields["csat"].min, spec.fields["csat"].max) == (Decimal(1), Decimal(5))
    assert spec.fields["summary"].required
    reopen = spec.transition("reopen", "closed")
    assert reopen is not None
    assert reopen.sources == ("closed",)
    assert reopen.inputs == ("csat", "answer")
    triage = spec.transition("triage", "received")
    assert triage is not None
    assert triage.roles == {"agent", "supervisor"}
    assert triage.needs == ("category", "severity")
    assert spec.transition("close", "received") is None
    assert load_workflow_file(COMPLAINT).content_hash == spec.content_hash


PERIODIC = """\
    periodic_update:
      start_on: [message_out]
      restart_on: [{restart}]
      stop_in: [resolved, closed]
      target: 24
"""


def with_periodic_clock(restart: str) -> str:
    text = COMPLAINT.read_text(encoding="utf-8")
    return text.replace("  clocks:\n", "  clocks:\n" + PERIODIC.format(restart=restart), 1)


def test_a_clock_restarts_on_a_signal_and_not_on_what_stops_it() -> None:
    spec = load_workflow_text(with_periodic_clock("message_out"), "complaint.yaml")
    assert spec.sla is not None
    assert spec.sla.clocks[0].restart_on == ("message_out",)
    misspelt = with_periodic_clock("mesage_out")
    start = "      start_on: [message_out]\n"
    both = with_periodic_clock("message_out, respond").replace(
        start, start + "      stop_on: [respond]\n", 1)
    for text, said in ((misspelt, "did you mean 'message_out'?"),
                       (both, "both stops and restarts on respond")):
        with pytest.raises(DefinitionError) as caught:
            load_workflow_text(text, "complaint.yaml")
        assert said in str(caught.value)
        assert "complaint.yaml:" in str(caught.value)


# --- starts ---------------------------------------------------------------------------------

STARTS = BASE.replace("workflow: demo\n", "workflow: demo\nsubject: customer\n") + textwrap.dedent(
    """\
    starts:
      - on: customer.tier_changed
        when: 'customer.tier == "strategic" && customer.previous_tier != "strategic"'
        set: {note: customer.tier}
    """)


def test_starts_load_with_their_event_condition_and_fields(tmp_path: Path) -> None:
    spec = load_workflow_file(write(tmp_path, STARTS))
    [start] = spec.starts
    assert (start.on, start.line, list(start.fields)) == ("customer.tier_changed", 22, ["note"])
    assert start.when is not None
    assert start.when.members["customer"] == {"tier", "previous_tier"}


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("on: customer.tier_changed", "on: customer.tier_change",
     "22: a start needs 'on:' naming a customer event, not 'customer.tier_change'; did you mean "
     "'customer.tier_changed'?"),
    ('customer.tier == "strategic"', 'customer.teir == "strategic"',
     "23: start: 'when' 'customer.teir == \"strategic\" && customer.previous_tier != "
     "\"strategic\"' reads customer.teir, but customer has no 'teir'; did you mean 'tier'?"),
    ("set: {note: customer.tier}", "set: {notes: customer.tier}",
     "24: start: 'set' names unknown field 'notes'; did you mean 'note'?"),
    ("  - on: customer.tier_changed", "  - on: customer.tier_changed\n    every: month",
     "23: unknown key 'every' in a start"),
])
def test_start_problems_name_their_line(tmp_path: Path, old: str, new: str,
                                        expected: str) -> None:
    found = problems(tmp_path, STARTS.replace(old, new))
    assert any(f":{expected}" in p for p in found), found


def test_starts_need_a_customer_subject(tmp_path: Path) -> None:
    found = problems(tmp_path, STARTS.replace("subject: customer\n", ""))
    assert any("'starts' opens cases about a customer; add 'subject: customer'" in p
               for p in found), found


def test_a_mail_action_names_a_template_of_the_workflow() -> None:
    text = COMPLAINT.read_text(encoding="utf-8")
    spec = load_workflow_text(text, "complaint.yaml", mail=lambda name: {"acknowledgement"})
    assert [type(a).__name__ for a in spec.on_start][-1] == "MailAction"
    wrong = text.replace("- mail: acknowledgement", "- mail: acknowledgment")
    with pytest.raises(DefinitionError) as caught:
        load_workflow_text(wrong, "complaint.yaml",
                           mail=lambda name: {"acknowledgement", "message"})
    line = next(number for number, text in enumerate(wrong.splitlines(), 1)
                if "mail: acknowledgment" in text)
    assert str(caught.value) == (
        f"complaint.yaml:{line}: 'on_start' mails unknown template 'acknowledgment'; did you "
        "mean 'acknowledgement'?; add workflows/mail/<workflow>/acknowledgment.en.txt "
        "(templates: acknowledgement, message)")


def test_a_survey_names_its_kind(tmp_path: Path) -> None:
    text = edit("version: 1\n", "version: 1\nsubject: customer\n").replace(
        "    to: approved\n  - trigger: finish",
        "    to: approved\n    do:\n      - survey: cast\n  - trigger: finish")
    assert_one_problem(tmp_path, text, 16, "transition 'approve': unknown survey 'cast'; did "
                       "you mean 'csat'? (surveys: csat, nps)")
    good = load_workflow_file(write(tmp_path, text.replace("survey: cast", "survey: nps")))
    transition = good.transition("approve", "open")
    assert transition is not None
    assert [type(a).__name__ for a in transition.actions] == ["SurveyAction"]


def test_an_answer_may_leave_a_state_by_several_guarded_steps_a_message_by_one(
        tmp_path: Path) -> None:
    """The customer's answer fires the first transition whose guard passes; a message moves
    the case one way only."""
    text = edit("    to: approved\n  - trigger: finish",
                "    to: approved\n    on: survey_answered\n  - trigger: finish").replace(
        "    to: done\n", "    to: done\n    on: survey_answered\n")
    spec = load_workflow_file(write(tmp_path, text))
    assert [t.trigger for t in spec.transitions_from("open") if t.on == "survey_answered"] == \
        ["approve", "finish"]
    clash = text.replace("on: survey_answered", "on: message_in")
    [problem] = problems(tmp_path, clash)
    assert "two transitions from state 'open' are 'on: message_in'" in problem
