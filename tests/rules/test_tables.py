"""engine.rules.tables: hit policies, CEL rows, computed outputs, input checks, explain, tests,
coverage;
and the fast path of `decide` against the slow, general one on every shipped table."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernel.errors import RuleError
from engine.rules.loading import load_table_file, load_table_text
from engine.rules.tables import (
    CellTrace,
    HitPolicy,
    TableSpec,
    _decide_slowly,
    coverage,
    decide,
    explain,
    run_tests,
)
from engine.workflows.registry import table_files
from tests.fixtures import ROOT

RULES = table_files(ROOT)


def table(text: str) -> TableSpec:
    return load_table_text(textwrap.dedent(text), "t.yaml")


def outputs_of(spec: TableSpec, inputs: dict[str, Any]) -> tuple[Any, tuple[str, ...]]:
    decision = decide(spec, inputs)
    slow = _decide_slowly(spec, inputs)
    assert (decision.outputs, decision.matched) == (slow.outputs, slow.matched)
    return decision.outputs, decision.matched


def rule_error(spec: TableSpec, inputs: dict[str, Any]) -> str:
    with pytest.raises(RuleError) as caught:
        decide(spec, inputs)
    with pytest.raises(RuleError) as slow:
        _decide_slowly(spec, inputs)
    assert str(slow.value) == str(caught.value)
    return str(caught.value)


# --- unique --------------------------------------------------------------------------------

UNIQUE = """\
    table: fee
    version: 3
    hit: unique
    inputs:
      amount: double
      tier: string
    outputs:
      fee: double
    rules:
      - id: small
        when: {amount: "< 100"}
        then: {fee: 5}
      - id: large-gold
        when: {amount: ">= 100", tier: gold}
        then: {fee: 0}
      - id: large-other
        when: {amount: ">= 100", tier: "not(gold)"}
        then: {fee: 2.5}
      - id: huge
        when: {amount: ">= 1000", tier: silver}
        then: {fee: 1}
"""


def test_unique_returns_the_one_matching_row() -> None:
    spec = table(UNIQUE)
    assert outputs_of(spec, {"amount": 50.0, "tier": "gold"}) == ({"fee": 5}, ("small",))
    assert outputs_of(spec, {"amount": 100, "tier": "gold"}) == ({"fee": 0}, ("large-gold",))
    assert outputs_of(spec, {"amount": 100.0, "tier": None}) == ({"fee": 2.5}, ("large-other",))
    decision = decide(spec, {"amount": 5, "tier": "x"})
    assert (decision.table, decision.version, decision.content_hash) == \
        ("fee", 3, spec.content_hash)


def test_unique_with_no_match_decides_nothing() -> None:
    assert outputs_of(table(UNIQUE), {"amount": None, "tier": "gold"}) == ({}, ())


def test_unique_overlap_names_both_rows() -> None:
    message = rule_error(table(UNIQUE), {"amount": 1000, "tier": "silver"})
    assert message == "fee v3 is 'unique' but rows large-other, huge all match"


# --- first ---------------------------------------------------------------------------------

FIRST = """\
    table: ladder
    version: 1
    hit: first
    inputs:
      lateness: double
      tier: string
    outputs:
      level: int
      notify: {values: [manager, supervisor, nobody]}
    rules:
      - id: far
        when: {lateness: ">= 1.5"}
        then: {level: 3, notify: manager}
      - id: strategic
        when: {lateness: ">= 1.0", tier: strategic}
        then: {level: 3, notify: manager}
      - id: breach
        when: {lateness: ">= 1.0"}
        then: {level: 2, notify: supervisor}
      - id: rest
        then: {level: 0, notify: nobody}
"""


@pytest.mark.parametrize(
    ("inputs", "level", "row"),
    [
        ({"lateness": 2.0, "tier": "strategic"}, 3, "far"),
        ({"lateness": 1.5, "tier": "ordinary"}, 3, "far"),
        ({"lateness": 1.0, "tier": "strategic"}, 3, "strategic"),
        ({"lateness": 1, "tier": "ordinary"}, 2, "breach"),
        ({"lateness": 1.2, "tier": None}, 2, "breach"),
        ({"lateness": 0.99, "tier": "strategic"}, 0, "rest"),
        ({"lateness": None, "tier": "strategic"}, 0, "rest"),
    ],
)
def test_first_returns_the_first_matching_row(inputs: dict[str, Any], level: int,
                                              row: str) -> None:
    outputs, matched = outputs_of(table(FIRST), inputs)
    assert outputs["level"] == level
    assert matched == (row,)


def test_first_with_default_none_may_match_nothing() -> None:
    spec = table(FIRST.replace("    hit: first\n", "    hit: first\n    default: none\n")
                 .replace("  - id: rest\n        then: {level: 0, notify: nobody}\n", ""))
    assert outputs_of(spec, {"lateness": 0.5, "tier": "x"}) == ({}, ())
    assert dict(decide(spec, {"lateness": 0.5, "tier": "x"}).outputs) == {}


def test_first_fast_path_decisions_are_read_only() -> None:
    spec = table(FIRST)
    one = decide(spec, {"lateness": 2.0, "tier": "a"})
    with pytest.raises(TypeError):
        one.outputs["level"] = 9  # the fast path may share one decision between calls
    assert decide(spec, {"lateness": 3.0, "tier": "b"}).outputs == {"level": 3,
                                                                    "notify": "manager"}


# --- priority ------------------------------------------------------------------------------

PRIORITY = """\
    table: screening
    version: 1
    hit: priority
    inputs:
      score: int
      country: string
    outputs:
      action: {values: [block, review, allow]}
      reason: string
    rules:
      - id: fine
        then: {action: allow, reason: default}
      - id: watch-country
        when: {country: "xx, yy"}
        then: {action: review, reason: country}
      - id: risky
        when: {score: ">= 80"}
        then: {action: block, reason: score}
      - id: medium
        when: {score: "[50..80)"}
        then: {action: review, reason: score}
"""


@pytest.mark.parametrize(
    ("inputs", "outputs", "matched"),
    [
        ({"score": 10, "country": "de"}, {"action": "allow", "reason": "default"}, ("fine",)),
        ({"score": 90, "country": "de"}, {"action": "block", "reason": "score"}, ("risky",)),
        ({"score": 90, "country": "xx"}, {"action": "block", "reason": "score"}, ("risky",)),
        # two rows of equal priority: the earlier row wins
        ({"score": 50, "country": "yy"}, {"action": "review", "reason": "country"},
         ("watch-country",)),
        ({"score": 79, "country": "de"}, {"action": "review", "reason": "score"}, ("medium",)),
    ],
)
def test_priority_follows_the_order_of_output_values_and_names_the_winning_row(
        inputs: dict[str, Any], outputs: dict[str, Any], matched: tuple[str, ...]) -> None:
    assert outputs_of(table(PRIORITY), inputs) == (outputs, matched)


def test_priority_ranks_by_the_outputs_in_their_declared_order() -> None:
    spec = table("""\
        table: p
        version: 1
        hit: priority
        inputs: {x: int}
        outputs:
          a: {values: [high, low]}
          b: {values: [one, two]}
        rules:
          - id: low-one
            then: {a: low, b: one}
          - id: high-two
            then: {a: high, b: two}
          - id: high-one
            when: {x: 1}
            then: {a: high, b: one}
    """)
    assert outputs_of(spec, {"x": 0}) == ({"a": "high", "b": "two"}, ("high-two",))
    assert outputs_of(spec, {"x": 1}) == ({"a": "high", "b": "one"}, ("high-one",))


def test_priority_with_no_match_decides_nothing() -> None:
    spec = table(PRIORITY.replace("      - id: fine\n        then: {action: allow, reason: "
                                  "default}\n", ""))
    assert outputs_of(spec, {"score": 0, "country": "de"}) == ({}, ())


# --- any -----------------------------------------------------------------------------------

ANY = """\
    table: eligible
    version: 2
    hit: any
    inputs:
      age: int
      member: bool
    outputs:
      eligible: bool
    rules:
      - id: adult
        when: {age: ">= 18"}
        then: {eligible: true}
      - id: member
        when: {member: true}
        then: {eligible: true}
      - id: child
        when: {age: "< 18", member: "not(true)"}
        then: {eligible: false}
      - id: banned
        when: {age: "[60..65]", member: false}
        then: {eligible: false}
"""


def test_any_returns_the_agreed_outputs_of_every_matching_row() -> None:
    spec = table(ANY)
    assert outputs_of(spec, {"age": 30, "member": True}) == ({"eligible": True},
                                                             ("adult", "member"))
    assert outputs_of(spec, {"age": 10, "member": None}) == ({"eligible": False}, ("child",))
    assert outputs_of(spec, {"age": None, "member": None}) == ({}, ())


def test_any_disagreement_names_the_rows() -> None:
    assert rule_error(table(ANY), {"age": 60, "member": False}) == \
        "eligible v2 is 'any' but matching rows adult, banned disagree"


# --- collect and rule_order ----------------------------------------------------------------

COLLECT = """\
    table: points
    version: 1
    hit: collect
    inputs:
      spend: double
      tier: string
    outputs:
      points: int
    rules:
      - id: base
        when: {spend: "> 0"}
        then: {points: 10}
      - id: gold
        when: {tier: gold}
        then: {points: 50}
      - id: big
        when: {spend: ">= 1000"}
        then: {points: 100}
      - id: nothing
        when: {tier: "null"}
        then: {points: 0}
"""


def test_collect_lists_every_match_in_row_order() -> None:
    spec = table(COLLECT)
    assert outputs_of(spec, {"spend": 2000, "tier": "gold"}) == (
        [{"points": 10}, {"points": 50}, {"points": 100}], ("base", "gold", "big"))
    assert outputs_of(spec, {"spend": 0, "tier": "silver"}) == ([], ())


@pytest.mark.parametrize(
    ("aggregate", "gold_big", "none_matched", "zero"),
    [
        ("sum", 160, None, 0),
        ("count", 3, 0, 1),
        ("min", 10, None, 0),
        ("max", 100, None, 0),
    ],
)
def test_collect_aggregates(aggregate: str, gold_big: int, none_matched: int | None,
                            zero: int) -> None:
    spec = table(COLLECT.replace("hit: collect\n", f"hit: collect\n    aggregate: {aggregate}\n"))
    assert spec.aggregate == aggregate
    assert outputs_of(spec, {"spend": 2000, "tier": "gold"}) == (
        {"points": gold_big}, ("base", "gold", "big"))
    assert outputs_of(spec, {"spend": 0, "tier": "silver"}) == ({"points": none_matched}, ())
    assert outputs_of(spec, {"spend": 0, "tier": None}) == ({"points": zero}, ("nothing",))


def test_collect_sum_of_doubles() -> None:
    spec = table("""\
        table: s
        version: 1
        hit: collect
        aggregate: sum
        inputs: {x: double}
        outputs: {share: double}
        rules:
          - id: a
            then: {share: 0.25}
          - id: b
            when: {x: "> 1"}
            then: {share: "=x / 2.0"}
    """)
    assert outputs_of(spec, {"x": 3}) == ({"share": 1.75}, ("a", "b"))


def test_rule_order_lists_every_match_in_row_order() -> None:
    spec = table(COLLECT.replace("hit: collect", "hit: rule_order"))
    assert outputs_of(spec, {"spend": 5, "tier": "gold"}) == (
        [{"points": 10}, {"points": 50}], ("base", "gold"))
    assert outputs_of(spec, {"spend": None, "tier": None}) == ([{"points": 0}], ("nothing",))


# --- if: rows and computed outputs ---------------------------------------------------------

CEL_TABLE = """\
    table: discount
    version: 1
    hit: first
    inputs:
      amount: double
      items: int
      code: string
    outputs:
      percent: double
      label: {values: [bulk, promo, none]}
    rules:
      - id: bulk
        when: {items: ">= 10"}
        if: amount / double(items) < 5.0
        then: {percent: "=amount > 100.0 ? 15.0 : 10.0", label: bulk}
      - id: promo
        if: code.startsWith("PROMO")
        then: {percent: 5, label: "=code == 'PROMO-BULK' ? 'bulk' : 'promo'"}
      - id: none
        then: {percent: 0, label: none}
"""


@pytest.mark.parametrize(
    ("inputs", "outputs", "row"),
    [
        ({"amount": 40.0, "items": 10, "code": ""}, {"percent": 10.0, "label": "bulk"}, "bulk"),
        ({"amount": 120, "items": 30, "code": ""}, {"percent": 15.0, "label": "bulk"}, "bulk"),
        ({"amount": 60.0, "items": 10, "code": "PROMO1"}, {"percent": 5, "label": "promo"},
         "promo"),
        ({"amount": 60.0, "items": 1, "code": "PROMO-BULK"}, {"percent": 5, "label": "bulk"},
         "promo"),
        ({"amount": 60.0, "items": 1, "code": "SPRING"}, {"percent": 0, "label": "none"},
         "none"),
        ({"amount": 60.0, "items": None, "code": "SPRING"}, {"percent": 0, "label": "none"},
         "none"),
    ],
)
def test_if_conditions_and_computed_outputs(inputs: dict[str, Any], outputs: dict[str, Any],
                                            row: str) -> None:
    spec = table(CEL_TABLE)
    assert outputs_of(spec, inputs) == (outputs, (row,))


def test_a_computed_output_outside_its_values_is_a_rule_error() -> None:
    spec = table(CEL_TABLE.replace("'bulk' : 'promo'", "'bulky' : 'promo'"))
    assert rule_error(spec, {"amount": 1.0, "items": 1, "code": "PROMO-BULK"}) == (
        "discount v1 row 'promo' output 'label' computed 'bulky', not one of "
        "['bulk', 'promo', 'none']")


def test_a_failing_computed_output_is_a_rule_error_naming_row_and_output() -> None:
    spec = table(CEL_TABLE)
    message = rule_error(spec, {"amount": None, "items": 20, "code": ""})
    assert message.startswith("discount v1 row 'bulk': expression "
                              "'amount / double(items) < 5.0' failed: ")
    spec = table(CEL_TABLE.replace("amount / double(items) < 5.0", "items > 0"))
    message = rule_error(spec, {"amount": None, "items": 20, "code": ""})
    assert message.startswith("discount v1 row 'bulk' output 'percent': expression "
                              "'amount > 100.0 ? 15.0 : 10.0' failed: ")


def test_an_if_condition_that_is_not_true_does_not_match() -> None:
    spec = table("""\
        table: c
        version: 1
        hit: collect
        inputs: {x: int}
        outputs: {y: int}
        rules:
          - id: truthy-int
            if: x + 1
            then: {y: 1}
          - id: really-true
            if: x == 1
            then: {y: 2}
    """)
    assert outputs_of(spec, {"x": 1}) == ([{"y": 2}], ("really-true",))


def test_if_condition_on_a_null_input_is_a_rule_error_naming_the_row() -> None:
    spec = table(CEL_TABLE)
    message = rule_error(spec, {"amount": 1.0, "items": 1, "code": None})
    assert message.startswith("discount v1 row 'promo': expression "
                              "'code.startsWith(\"PROMO\")' failed: ")


# --- inputs --------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [FIRST, UNIQUE])
def test_missing_input_names_it_and_the_rows_that_read_it(source: str) -> None:
    spec = table(source)
    name = spec.name
    inputs = {"lateness": 1.0, "amount": 1.0}
    assert rule_error(spec, inputs) == (f"{name} v{spec.version}: input 'tier' is missing "
                                        f"(read by rows: {', '.join(spec.readers['tier'])})")
    assert spec.readers["tier"] == (("strategic",) if source == FIRST
                                    else ("large-gold", "large-other", "huge"))


def test_missing_input_read_by_no_row_and_by_if_and_computed_outputs() -> None:
    spec = table(CEL_TABLE)
    assert spec.readers == {"amount": ("bulk",), "items": ("bulk",), "code": ("promo",)}
    unread = table(FIRST.replace("      tier: string\n", "      tier: string\n      spare: int\n"))
    assert rule_error(unread, {"lateness": 1.0, "tier": "x"}) == \
        "ladder v1: input 'spare' is missing (read by rows: none)"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"lateness": "1.0", "tier": "x"},
         "ladder v1: input 'lateness' must be double, not str '1.0' (read by rows: far, "
         "strategic, breach)"),
        ({"lateness": True, "tier": "x"},
         "ladder v1: input 'lateness' must be double, not bool True (read by rows: far, "
         "strategic, breach)"),
        ({"lateness": 1.0, "tier": 5},
         "ladder v1: input 'tier' must be string, not int 5 (read by rows: strategic)"),
    ],
)
def test_wrong_input_type_names_input_and_rows(inputs: dict[str, Any], message: str) -> None:
    assert rule_error(table(FIRST), inputs) == message


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("int", [0, -3, 2**70], [1.0, True, "1"]),
        ("double", [0, 1.5, -2], [False, "1.5"]),
        ("string", ["", "a"], [1, b"a"]),
        ("bool", [True, False], [0, 1, "true"]),
        ("timestamp", [datetime(2024, 1, 1, tzinfo=UTC)], [datetime(2024, 1, 1), "2024-01-01"]),
        ("duration", [timedelta(hours=1)], [3600, "1h"]),
        ("list", [[1], (1, 2)], ["ab", {"a": 1}]),
        ("map", [{"a": 1}], [[("a", 1)]]),
    ],
)
def test_input_types(kind: str, good: list[Any], bad: list[Any]) -> None:
    spec = table(f"""\
        table: k
        version: 1
        hit: first
        inputs: {{v: {kind}}}
        outputs: {{y: int}}
        rules:
          - id: all
            then: {{y: 1}}
    """)
    for value in [*good, None]:
        assert outputs_of(spec, {"v": value}) == ({"y": 1}, ("all",))
    for value in bad:
        assert rule_error(spec, {"v": value}) == (
            f"k v1: input 'v' must be {kind}, not {type(value).__name__} {value!r} "
            "(read by rows: none)")


def test_ints_are_accepted_for_doubles_and_seen_as_doubles() -> None:
    spec = table("""\
        table: d
        version: 1
        hit: unique
        inputs: {x: double}
        outputs: {y: double}
        rules:
          - id: half
            when: {x: "[1..2]"}
            then: {y: "=x / 2.0"}
    """)
    assert outputs_of(spec, {"x": 1}) == ({"y": 0.5}, ("half",))
    assert outputs_of(spec, {"x": 2}) == ({"y": 1.0}, ("half",))


def test_unknown_inputs_are_ignored() -> None:
    assert outputs_of(table(FIRST), {"lateness": 2.0, "tier": "a", "other": object()})[1] == \
        ("far",)


def test_decision_to_json() -> None:
    spec = table(FIRST)
    assert decide(spec, {"lateness": 1.0, "tier": "strategic"}).to_json() == {
        "table": "ladder", "version": 1, "content_hash": spec.content_hash,
        "outputs": {"level": 3, "notify": "manager"}, "matched": ["strategic"]}
    collected = decide(table(COLLECT), {"spend": 1.0, "tier": "gold"})
    assert collected.to_json()["outputs"] == [{"points": 10}, {"points": 50}]
    assert collected.to_json()["matched"] == ["base", "gold"]


# --- explain -------------------------------------------------------------------------------

def test_explain_shows_each_cell_true_false_or_not_evaluated() -> None:
    spec = table(FIRST)
    traces, decision = explain(spec, {"lateness": 1, "tier": "ordinary"})
    assert [(t.id, t.matched) for t in traces] == [
        ("far", False), ("strategic", False), ("breach", True), ("rest", True)]
    assert traces[0].cells == (
        CellTrace("lateness", ">= 1.5", "lateness >= 1.5", 1.0, False),)
    assert traces[1].cells == (
        CellTrace("lateness", ">= 1.0", "lateness >= 1.0", 1.0, True),
        CellTrace("tier", "strategic", 'tier == "strategic"', "ordinary", False))
    assert traces[3].cells == ()
    assert (decision.outputs, decision.matched) == ({"level": 2, "notify": "supervisor"},
                                                    ("breach",))


def test_explain_marks_cells_after_a_failed_one_as_not_evaluated() -> None:
    traces, decision = explain(table(FIRST), {"lateness": 0.5, "tier": "strategic"})
    assert [c.result for c in traces[1].cells] == [False, None]
    assert traces[1].cells[1].value == "strategic"
    assert decision.matched == ("rest",)


def test_explain_shows_the_if_condition() -> None:
    spec = table(CEL_TABLE)
    traces, decision = explain(spec, {"amount": 40.0, "items": 10, "code": "PROMO"})
    bulk, promo, default = traces
    assert bulk.cells == (
        CellTrace("items", ">= 10", "items >= 10", 10, True),
        CellTrace("if", "amount / double(items) < 5.0", "amount / double(items) < 5.0", None,
                  True))
    assert bulk.matched and promo.matched and default.matched
    assert decision.matched == ("bulk",)
    traces, decision = explain(spec, {"amount": 40.0, "items": 2, "code": "X"})
    assert [c.result for c in traces[0].cells] == [False, None]
    assert [c.result for c in traces[1].cells] == [False]
    assert not traces[0].matched and not traces[1].matched
    assert decision.matched == ("none",)


def test_explain_checks_inputs() -> None:
    with pytest.raises(RuleError, match="input 'tier' is missing"):
        explain(table(FIRST), {"lateness": 1.0})


# --- embedded tests and coverage -----------------------------------------------------------

TESTED = FIRST + """\
    tests:
      - given: {lateness: 2.0, tier: x}
        expect: {level: 3}
        rows: [far]
      - given: {lateness: 1.0, tier: x}
        expect: {level: 3, notify: manager}
      - given: {lateness: 1.0, tier: strategic}
        expect: {level: 3}
        rows: [breach]
      - given: {lateness: 0.1}
        expect: {level: 0}
      - given: {lateness: 0.1, tier: x}
        expect: {level: 0, notify: nobody}
        rows: []
"""


def test_run_tests_reports_expected_against_actual() -> None:
    results = run_tests(table(TESTED))
    assert [r.test.line for r in results] == [23, 26, 28, 31, 33]
    assert results[0].failure is None
    assert results[0].decision is not None
    assert results[0].decision.matched == ("far",)
    assert results[1].failure == (
        "given {'lateness': 1.0, 'tier': 'x'} expected {'level': 3, 'notify': "
        "'manager'}, got {'level': 2, 'notify': 'supervisor'} (rows breach)")
    assert results[2].failure == (
        "given {'lateness': 1.0, 'tier': 'strategic'} expected rows breach, "
        "matched strategic")
    assert results[3].decision is None
    assert results[3].failure == (
        "ladder v1: input 'tier' is missing (read by rows: strategic)")
    assert results[4].failure == (
        "given {'lateness': 0.1, 'tier': 'x'} expected rows none, matched rest")


def test_run_tests_failure_when_nothing_matches() -> None:
    spec = table(textwrap.dedent(UNIQUE) + textwrap.dedent("""\
        tests:
          - given: {amount: null, tier: gold}
            expect: {fee: 5}
    """))
    [result] = run_tests(spec)
    assert result.failure == ("given {'amount': None, 'tier': 'gold'} expected "
                              "{'fee': 5}, got {'fee': None} (rows none)")


def test_run_tests_of_a_collect_table_compare_the_whole_list() -> None:
    spec = table(textwrap.dedent(COLLECT) + textwrap.dedent("""\
        tests:
          - given: {spend: 5, tier: gold}
            expect: [{points: 10}, {points: 50}]
            rows: [base, gold]
          - given: {spend: 5, tier: gold}
            expect: [{points: 50}, {points: 10}]
    """))
    passed, failed = run_tests(spec)
    assert passed.failure is None
    assert failed.failure == ("given {'spend': 5, 'tier': 'gold'} expected "
                              "[{'points': 50}, {'points': 10}], got [{'points': 10}, "
                              "{'points': 50}] (rows base, gold)")


def test_coverage_lists_the_rows_no_test_reaches() -> None:
    spec = table(TESTED)
    assert coverage(spec) == []  # failing tests count: they still reach their rows
    spec = table(textwrap.dedent(FIRST) + textwrap.dedent("""\
        tests:
          - given: {lateness: 2.0, tier: x}
            expect: {level: 3}
          - given: {lateness: 2.0}
            expect: {level: 3}
    """))
    assert coverage(spec) == ["strategic", "breach", "rest"]
    assert coverage(table(FIRST)) == ["far", "strategic", "breach", "rest"]


def test_coverage_counts_every_row_a_collect_test_matches() -> None:
    spec = table(textwrap.dedent(COLLECT) + textwrap.dedent("""\
        tests:
          - given: {spend: 5000, tier: gold}
            expect: [{points: 10}, {points: 50}, {points: 100}]
    """))
    assert coverage(spec) == ["nothing"]


# --- shipped tables: fast path == slow path ------------------------------------------------

SHIPPED = {path.stem: load_table_file(path) for path in RULES}


def _literals(spec: TableSpec, name: str) -> list[Any]:
    """The literals the table's cells for input `name` compare against."""
    found: list[Any] = []
    for row in spec.rows:
        for input_name, test in row.cells:
            if input_name == name:
                cell = test.source[4:-1] if test.source.startswith("not(") else test.source
                found += [part.strip(" \"'[]()<>=!") for part in cell.replace("..", ",")
                          .split(",")]
    return found


def _numbers(literals: list[str]) -> list[float]:
    numbers = []
    for literal in literals:
        try:
            numbers.append(float(literal))
        except ValueError:
            continue  # null, -, or a word
    return sorted(set(numbers))


def _values(spec: TableSpec, name: str) -> st.SearchStrategy[Any]:
    """Values of the input's declared type, near the table's own literals, and null."""
    kind = spec.inputs[name]
    literals = _literals(spec, name)
    if kind == "string":
        strategy: st.SearchStrategy[Any] = st.one_of(
            st.sampled_from(sorted(set(literals)) or ["x"]), st.text(max_size=8))
    elif kind in ("int", "double"):
        numbers = _numbers(literals) or [0.0]
        near = st.sampled_from(numbers).flatmap(
            lambda v: st.sampled_from([v, v - 1, v + 1, v - 1e-9, v + 1e-9, v / 2]))
        if kind == "int":
            strategy = st.one_of(st.integers(-(2**53), 2**53), near.map(int))
        else:
            # wider than a double: too large is a RuleError on both paths
            strategy = st.one_of(st.floats(), near, st.integers(-(2**53), 2**53),
                                 st.integers(-(2**1100), 2**1100))
    elif kind == "bool":
        strategy = st.booleans()
    elif kind == "timestamp":
        strategy = st.datetimes(timezones=st.just(UTC))
    elif kind == "duration":
        strategy = st.timedeltas()
    elif kind == "list":
        strategy = st.lists(st.integers(), max_size=3)
    else:
        strategy = st.dictionaries(st.text(max_size=3), st.integers(), max_size=3)
    return st.one_of(st.none(), strategy)


@st.composite
def shipped_inputs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(SHIPPED)))
    spec = SHIPPED[name]
    return name, {n: draw(_values(spec, n)) for n in spec.inputs}


def test_every_rules_file_is_sampled() -> None:
    assert set(SHIPPED) >= {"complaint_escalation", "complaint_routing", "complaint_sla",
                            "customer_tier"}
    assert {"1.5", "1.0", "0.8"} <= set(_literals(SHIPPED["complaint_escalation"], "lateness"))
    assert {"strategic", "key"} <= set(_literals(SHIPPED["complaint_escalation"], "tier"))


@settings(max_examples=600, deadline=None)
@given(shipped_inputs())
def test_fast_path_agrees_with_the_slow_path_on_shipped_tables(
        case: tuple[str, dict[str, Any]]) -> None:
    name, inputs = case
    spec = SHIPPED[name]
    try:
        slow = _decide_slowly(spec, inputs)
    except RuleError as exc:
        with pytest.raises(RuleError) as caught:
            decide(spec, inputs)
        assert str(caught.value) == str(exc)
        return
    fast = decide(spec, inputs)
    assert dict(fast.outputs) == dict(slow.outputs), inputs
    assert fast.matched == slow.matched, inputs
    assert fast == slow
    if spec.hit == "first":
        assert len(fast.matched) == 1  # every shipped first table has a default row


# --- computed outputs of the wrong type, numbers beyond a double ----------------------------

def test_a_computed_output_of_the_wrong_type_is_a_rule_error() -> None:
    spec = table("""\
        table: t
        version: 1
        hit: unique
        inputs: {x: string}
        outputs: {y: int}
        rules:
          - id: a
            then: {y: "=x"}
    """)
    assert rule_error(spec, {"x": "hello"}) == "t v1 row 'a' output 'y' computed 'hello', not a int"


@pytest.mark.parametrize(("kind", "expression", "value"), [
    ("double", "=x * 2", 4), ("double", "=double(x) / 4.0", 0.5), ("int", "=x * 2", 4),
])
def test_computed_numbers_fit_their_output_type(kind: str, expression: str, value: Any) -> None:
    spec = table(f"""\
        table: t
        version: 1
        hit: unique
        inputs: {{x: int}}
        outputs: {{y: {kind}}}
        rules:
          - id: a
            then: {{y: "{expression}"}}
    """)
    assert outputs_of(spec, {"x": 2}) == ({"y": value}, ("a",))


def test_a_computed_double_for_an_int_output_is_a_rule_error() -> None:
    spec = table("""\
        table: t
        version: 1
        hit: unique
        inputs: {x: double}
        outputs: {y: int}
        rules:
          - id: a
            then: {y: "=x * 2.0"}
    """)
    assert rule_error(spec, {"x": 1.25}) == "t v1 row 'a' output 'y' computed 2.5, not a int"


def test_aggregating_a_computed_non_number_is_a_rule_error() -> None:
    spec = table("""\
        table: t
        version: 1
        hit: collect
        aggregate: sum
        inputs: {x: string}
        outputs: {y: int}
        rules:
          - id: a
            then: {y: "=x"}
          - id: b
            then: {y: 1}
    """)
    assert rule_error(spec, {"x": "hello"}) == "t v1 row 'a' output 'y' computed 'hello', not a int"


def test_an_int_too_large_for_a_double_input_is_a_rule_error() -> None:
    spec = SHIPPED["customer_tier"]
    inputs = {"revenue_share": 10**400, "clv": 0.0, "years_active": 0.0, "r_score": 1,
              "f_score": 1, "m_score": 1}
    message = rule_error(spec, inputs)
    assert message == (f"customer_tier v1: input 'revenue_share' is {10**400!r}, too large for "
                       "a double")


def test_fast_and_slow_paths_agree_on_ints_above_2_to_the_53_for_doubles() -> None:
    spec = table("""\
        table: t
        version: 1
        hit: first
        inputs: {x: double}
        outputs: {y: int}
        rules:
          - id: above
            when: {x: "> 9007199254740992"}
            then: {y: 1}
          - id: rest
            then: {y: 0}
    """)
    # an int given for a double is seen as the nearest double, on both paths
    assert outputs_of(spec, {"x": 2**53 + 1}) == ({"y": 0}, ("rest",))
    assert outputs_of(spec, {"x": 2**53 + 2}) == ({"y": 1}, ("above",))


def test_the_hit_policies_that_decide_one_result() -> None:
    """A decide action needs one of these; the others give a list."""
    assert [p for p in HitPolicy if p.single] == ["unique", "first", "priority", "any"]
    assert [p for p in HitPolicy if not p.single] == ["collect", "rule_order"]


def test_what_an_output_may_decide() -> None:
    """Its declared values, in their order; else what the rows give, in row order."""
    table = load_table_text(textwrap.dedent("""\
        table: t
        version: 1
        hit: first
        inputs: {x: int}
        outputs:
          queue: string
          tier: {values: [gold, silver, bronze]}
          score: int
        rules:
          - {id: a, when: {x: "> 5"}, then: {queue: billing, tier: silver, score: 2}}
          - {id: b, when: {x: "> 1"}, then: {queue: intake, tier: gold, score: "=x * 2"}}
          - {id: c, then: {queue: billing, tier: bronze, score: 1}}
        """), "t.yaml")
    assert table.values_of("tier") == ("gold", "silver", "bronze")
    assert table.values_of("queue") == ("billing", "intake")
    assert table.values_of("score") == (2, 1)  # a computed value is not known before
    assert table.values_of("nothing") == ()
