"""engine.kernel.expressions: compile CEL once, check the names it reads, evaluate with clear
errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.kernel.errors import ExpressionError
from engine.kernel.expressions import Expression, ExpressionProblem, Scope, compile_expression

SCOPE: Scope = {
    "case": frozenset({"summary", "severity", "tags", "amount", "csat", "resolved_at", "state"}),
    "actor": frozenset({"name", "role"}),
    "now": frozenset(),
    "customer": None,  # members not known at load time: not checked
}


def compiled(source: str) -> Expression:
    return compile_expression(source, SCOPE)


# --- compile and member extraction ---------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "members"),
    [
        ("case.severity == 'high'", {"case": {"severity"}}),
        ('case.severity != "critical" || actor.role == "supervisor"',
         {"case": {"severity"}, "actor": {"role"}}),
        ("now", {"now": set()}),
        ("now - case.resolved_at < duration('720h')", {"now": set(), "case": {"resolved_at"}}),
        ("1 + 2 == 3", {}),
        # macros bind their variable: `i` is neither a root nor checked
        ("case.tags.all(i, i > 0)", {"case": {"tags"}}),
        ("case.tags.exists(t, t.size() > 3)", {"case": {"tags"}}),
        ("case.tags.exists_one(t, t == 'x')", {"case": {"tags"}}),
        ("case.tags.filter(t, t.startsWith('a')).size() > 0", {"case": {"tags"}}),
        ("case.tags.map(t, t.bogus).size() > 0", {"case": {"tags"}}),
        ("[1, 2].map(x, x * 2) == [2, 4]", {}),
        # a method call on a member is not a member
        ('case.summary.startsWith("a")', {"case": {"summary"}}),
        ("case.summary.size() > 0 && case.csat >= 3", {"case": {"summary", "csat"}}),
        # only the first level below a root is a member
        ("case.summary.bogus.deeper == 1", {"case": {"summary"}}),
        # text inside string literals is not code
        ('"case.bogus" == case.summary', {"case": {"summary"}}),
        ("'case.bogus' + case.summary == ''", {"case": {"summary"}}),
        ('"say \\"case.bogus\\"" == case.summary', {"case": {"summary"}}),
        ('"""case.bogus""" == case.summary', {"case": {"summary"}}),
        ("'''case.bogus''' == case.summary", {"case": {"summary"}}),
        ('b"case.bogus" == b""', {}),
        ('r"case.bogus" == case.summary', {"case": {"summary"}}),
        # customer's members are not known at load time
        ("customer.tier == 'gold'", {"customer": {"tier"}}),
        ("has(case.csat) && case.csat > 2", {"case": {"csat"}}),
        # a field called like a case attribute
        ("case.state == 'open'", {"case": {"state"}}),
    ],
)
def test_compile_finds_the_members_each_root_reads(
    source: str, members: dict[str, set[str]]
) -> None:
    expression = compiled(source)
    assert expression.source == source
    assert {root: set(found) for root, found in expression.members.items()} == members
    for root in SCOPE:
        assert expression.reads(root) == (root in members)


def test_bound_variable_is_not_a_root_even_when_it_reads_members() -> None:
    expression = compiled("case.tags.all(tag, tag.name != '')")
    assert not expression.reads("tag")
    assert dict(expression.members) == {"case": frozenset({"tags"})}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("acter.name == 'ann'",
         "'acter.name == 'ann'' reads unknown variable 'acter'; did you mean 'actor'? "
         "(expressions see actor, case, customer, now)"),
        ("severity == 'high'",
         "'severity == 'high'' reads unknown variable 'severity' "
         "(expressions see actor, case, customer, now)"),
        ("case.tags.all(i, j > 0)",
         "'case.tags.all(i, j > 0)' reads unknown variable 'j'"),
    ],
)
def test_unknown_variable_is_a_problem(source: str, message: str) -> None:
    with pytest.raises(ExpressionProblem) as caught:
        compiled(source)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("case.severty == 'high'",
         "'case.severty == 'high'' reads case.severty, but case has no 'severty'; "
         "did you mean 'severity'? (it has amount, csat, resolved_at, severity, state, "
         "summary, tags)"),
        ("actor.rol == 'agent'",
         "'actor.rol == 'agent'' reads actor.rol, but actor has no 'rol'; did you mean 'role'? "
         "(it has name, role)"),
        ("case.bogus > 1",
         "'case.bogus > 1' reads case.bogus, but case has no 'bogus' (it has "),
        ('case.summary.startsWith("a") && case.sumary == ""',
         "reads case.sumary, but case has no 'sumary'; did you mean 'summary'?"),
        ("has(case.bogus)", "reads case.bogus, but case has no 'bogus'"),
        ("case.tags.all(i, i > case.bogus)", "reads case.bogus, but case has no 'bogus'"),
        ("now.year > 2000", "reads now.year, but now has no 'year' (it has (none))"),
    ],
)
def test_unknown_member_is_a_problem(source: str, message: str) -> None:
    with pytest.raises(ExpressionProblem) as caught:
        compiled(source)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("case.csat >", "'case.csat >' is not valid CEL: "),
        ("(case.csat", "'(case.csat' is not valid CEL: "),
        ("case.csat = 3", "'case.csat = 3' is not valid CEL: "),
        ("", "an expression must be a non-empty string"),
        ("   ", "an expression must be a non-empty string"),
        (5, "an expression must be a non-empty string"),
        (None, "an expression must be a non-empty string"),
    ],
)
def test_malformed_expression_is_a_problem(source: Any, message: str) -> None:
    with pytest.raises(ExpressionProblem) as caught:
        compile_expression(source, SCOPE)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)  # only the first line of the CEL error


def test_raw_string_ending_in_a_backslash_does_not_hide_code() -> None:
    with pytest.raises(ExpressionProblem, match="case has no 'bogus'"):
        compiled('r"\\" == case.bogus || "x" == "y"')


# --- evaluation ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "variables", "expected"),
    [
        ("case.csat >= 3", {"case": {"csat": 4}}, True),
        ("case.csat >= 3", {"case": {"csat": 2}}, False),
        ('case.severity != "critical" || actor.role == "supervisor"',
         {"case": {"severity": "critical"}, "actor": {"name": "ann", "role": "agent"}}, False),
        ("case.reopen + 1", {"case": {"reopen": 1}}, 2),
        ("case.tags.all(i, i > 0)", {"case": {"tags": [1, 2]}}, True),
        ("case.tags.all(i, i > 0)", {"case": {"tags": [1, -2]}}, False),
        ('case.summary.startsWith("a")', {"case": {"summary": "abc"}}, True),
        ("now", {"now": datetime(2026, 3, 1, tzinfo=UTC)}, datetime(2026, 3, 1, tzinfo=UTC)),
        ('now - case.resolved_at < duration("720h")',
         {"now": datetime(2026, 3, 10, tzinfo=UTC),
          "case": {"resolved_at": datetime(2026, 3, 1, tzinfo=UTC)}}, True),
        ('duration("1h30m")', {}, timedelta(minutes=90)),
    ],
)
def test_evaluate(source: str, variables: dict[str, Any], expected: Any) -> None:
    scope: Scope = {"case": None, "actor": None, "now": frozenset()}
    assert compile_expression(source, scope).evaluate(variables) == expected


def test_evaluate_does_not_keep_or_change_the_variables() -> None:
    expression = compile_expression("case.n + 1", {"case": None})
    variables = {"case": {"n": 1}}
    assert expression.evaluate(variables) == 2
    assert expression.evaluate({"case": {"n": 41}}) == 42
    assert variables == {"case": {"n": 1}}


@pytest.mark.parametrize(
    ("source", "variables", "reason"),
    [
        ("case.a / case.b", {"case": {"a": 1, "b": 0}}, "division by zero"),
        ("case.a + case.b", {"case": {"a": 1}}, "no value for 'b'"),
        ("case.a + case.b", {"case": {"a": 1, "b": "x"}}, "No such overload"),
        ("case.a >= 3", {"case": {"a": None}}, "No such overload"),
        ("case.a + 1", {"case": {"a": 2**63 - 1}}, "overflow"),
        pytest.param(
            "case.tags[0] == 'x'", {"case": {"tags": []}}, "index",
            id="index-out-of-range",
        ),
        pytest.param(
            "int(case.a) > 1", {"case": {"a": "abc"}}, "int",
            id="function-error",
        ),
        pytest.param(
            "case.a > 1", {}, "case",
            id="missing-variable",
        ),
    ],
)
def test_evaluation_errors_become_expression_error_naming_the_source(
    source: str, variables: dict[str, Any], reason: str
) -> None:
    expression = compile_expression(source, {"case": None})
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(variables)
    message = str(caught.value)
    assert message.startswith(f"expression '{source}' failed: ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["text", 3, 2.5, None, True, [1, 2], {"k": "v"}])
def test_a_member_path_gives_what_cel_gives(value: Any) -> None:
    path = compile_expression("case.severity", {"case": frozenset({"severity"})})
    full = compile_expression("(case.severity)", {"case": frozenset({"severity"})})
    assert (path.path, full.path) == (("case", "severity"), None)
    variables = {"case": {"severity": value}}
    assert path.evaluate(variables) == full.evaluate(variables) == value


def test_a_member_path_on_a_missing_member_fails_as_cel_does() -> None:
    path = compile_expression("case.severity", {"case": frozenset({"severity"})})
    with pytest.raises(ExpressionError, match="case.severity"):
        path.evaluate({"case": {}})
