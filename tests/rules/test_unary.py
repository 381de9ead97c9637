"""engine.rules.unary: every cell form of the grammar, for every input type, against its CEL
text."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules import unary
from engine.rules.unary import CellError, compile_cell


def ts(*args: int, tz: timezone = UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


def cel_says(test: unary.Test, value: Any, name: str = "x") -> Any:
    return cel.evaluate(test.cel, {name: value})


def assert_cell(test: unary.Test, matching: list[Any], failing: list[Any]) -> None:
    """`check` passes exactly `matching`; `fast` and the CEL text agree for non-null values."""
    for value in matching:
        assert test.check(value) is True, (test.source, value)
    for value in failing:
        assert test.check(value) is False, (test.source, value)
    for value in matching + failing:
        if value is None:
            continue
        expected = value in matching
        if test.fast is not None:
            assert test.fast(value) is expected, (test.source, value)
        assert test.unguarded(value) is expected, (test.source, value)
        assert cel_says(test, value) is expected, (test.cel, value)


# --- every form, every type ----------------------------------------------------------------

CASES = [
    # (cell, kind, cel text, matching values, failing values)
    # any value
    ("-", "int", "true", [0, -7, 10**6, None], []),
    ("  -  ", "string", "true", ["", "gold", None], []),
    ("-", "double", "true", [0.5, None], []),
    ("-", "bool", "true", [True, False, None], []),
    ("-", "timestamp", "true", [ts(2024, 1, 1), None], []),
    # null
    ("null", "int", "x == null", [None], [0, 5]),
    ("null", "double", "x == null", [None], [0.0]),
    ("null", "string", "x == null", [None], ["", "null"]),
    ("null", "bool", "x == null", [None], [False, True]),
    ("null", "timestamp", "x == null", [None], [ts(2024, 1, 1)]),
    # YAML literals
    (5, "int", "x == 5", [5], [4, 6, -5, None]),
    (5.0, "int", "x == 5", [5], [4, None]),
    (0, "int", "x == 0", [0], [1, None]),
    ("5", "int", "x == 5", [5], [4, None]),
    ("-3", "int", "x == -3", [-3], [3, None]),
    (0.2, "double", "x == 0.2", [0.2], [0.3, 0.20000000000000004, None]),
    (3, "double", "x == 3.0", [3.0, 3], [3.5, None]),
    ("0.2", "double", "x == 0.2", [0.2], [0.1, None]),
    ("1e3", "double", "x == 1000.0", [1000.0], [999.0, None]),
    (True, "bool", "x == true", [True], [False, None]),
    (False, "bool", "x == false", [False], [True, None]),
    ("true", "bool", "x == true", [True], [False, None]),
    ("FALSE", "bool", "x == false", [False], [True, None]),
    # comparisons, ints
    ("< 5", "int", "x < 5", [4, -100], [5, 6, None]),
    ("<= 5", "int", "x <= 5", [5, 4], [6, None]),
    ("> 5", "int", "x > 5", [6, 1000], [5, 4, None]),
    (">= 5", "int", "x >= 5", [5, 6], [4, None]),
    ("= 5", "int", "x == 5", [5], [4, 6, None]),
    ("!= 5", "int", "x != 5", [4, 6], [5, None]),
    ("<5", "int", "x < 5", [4], [5, None]),
    ("  >=   5  ", "int", "x >= 5", [5], [4, None]),
    ("> -2", "int", "x > -2", [-1, 0], [-2, -3, None]),
    # comparisons, doubles
    ("< 0.2", "double", "x < 0.2", [0.19999999999999998, -1.0, 0], [0.2, 0.3, None]),
    ("<= 0.2", "double", "x <= 0.2", [0.2, 0.0], [0.20000000000000004, None]),
    ("> 0.2", "double", "x > 0.2", [0.20000000000000004, 1], [0.2, None]),
    (">= 0.2", "double", "x >= 0.2", [0.2, 1.0, 1], [0.19999999999999998, None]),
    ("= 0.2", "double", "x == 0.2", [0.2], [0.3, None]),
    ("!= 0.2", "double", "x != 0.2", [0.3, 0], [0.2, None]),
    (">= 1", "double", "x >= 1.0", [1.0, 1, 2.5], [0.999, 0, None]),
    # comparisons, strings (code point order) and bools (equality only)
    ("< m", "string", 'x < "m"', ["a", "lzzz", "M"], ["m", "ma", "z", None]),
    ("<= m", "string", 'x <= "m"', ["m", "a"], ["ma", None]),
    ("> m", "string", 'x > "m"', ["ma", "z"], ["m", "a", None]),
    (">= m", "string", 'x >= "m"', ["m", "z"], ["lzz", None]),
    ("= gold", "string", 'x == "gold"', ["gold"], ["Gold", None]),
    ("!= gold", "string", 'x != "gold"', ["silver", ""], ["gold", None]),
    ('= "gold star"', "string", 'x == "gold star"', ["gold star"], ["gold", None]),
    ("= true", "bool", "x == true", [True], [False, None]),
    ("!= true", "bool", "x != true", [False], [True, None]),
    # comparisons, timestamps (ISO dates are midnight UTC; offsets are converted to UTC)
    ("< 2024-01-01", "timestamp", 'x < timestamp("2024-01-01T00:00:00Z")',
     [ts(2023, 12, 31, 23, 59, 59)], [ts(2024, 1, 1), ts(2024, 1, 2), None]),
    ("<= 2024-01-01", "timestamp", 'x <= timestamp("2024-01-01T00:00:00Z")',
     [ts(2024, 1, 1)], [ts(2024, 1, 1, 0, 0, 1), None]),
    ("> 2024-01-01T10:00:00+02:00", "timestamp", 'x > timestamp("2024-01-01T08:00:00Z")',
     [ts(2024, 1, 1, 8, 0, 1), ts(2024, 1, 1, 9, 0, 1, tz=timezone(timedelta(hours=1)))],
     [ts(2024, 1, 1, 8), ts(2024, 1, 1, 10, tz=timezone(timedelta(hours=2))), None]),
    (">= 2024-01-01T08:00:00Z", "timestamp", 'x >= timestamp("2024-01-01T08:00:00Z")',
     [ts(2024, 1, 1, 8)], [ts(2024, 1, 1, 7, 59, 59), None]),
    ("= 2024-01-01", "timestamp", 'x == timestamp("2024-01-01T00:00:00Z")',
     [ts(2024, 1, 1)], [ts(2024, 1, 2), None]),
    ("!= 2024-01-01", "timestamp", 'x != timestamp("2024-01-01T00:00:00Z")',
     [ts(2024, 1, 2)], [ts(2024, 1, 1), None]),
    ("2024-01-01T00:00:00Z", "timestamp", 'x == timestamp("2024-01-01T00:00:00Z")',
     [ts(2024, 1, 1)], [ts(2024, 1, 1, 0, 0, 1), None]),
    # unquoted YAML dates and timestamps
    (date(2024, 1, 1), "timestamp", 'x == timestamp("2024-01-01T00:00:00Z")',
     [ts(2024, 1, 1)], [ts(2024, 1, 2), None]),
    (datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2))), "timestamp",
     'x == timestamp("2024-01-01T08:00:00Z")', [ts(2024, 1, 1, 8)], [ts(2024, 1, 1, 10), None]),
    # ranges, ints: all four bracket combinations, boundaries exactly
    ("[1..5]", "int", "x >= 1 && x <= 5", [1, 3, 5], [0, 6, None]),
    ("[1..5)", "int", "x >= 1 && x < 5", [1, 4], [0, 5, None]),
    ("(1..5]", "int", "x > 1 && x <= 5", [2, 5], [1, 6, None]),
    ("(1..5)", "int", "x > 1 && x < 5", [2, 4], [1, 5, None]),
    ("]1..5[", "int", "x > 1 && x < 5", [2, 4], [1, 5, None]),
    ("[1..5[", "int", "x >= 1 && x < 5", [1, 4], [5, None]),
    ("]1..5]", "int", "x > 1 && x <= 5", [2, 5], [1, None]),
    ("[ 1 .. 5 ]", "int", "x >= 1 && x <= 5", [1, 5], [0, 6, None]),
    ("[-5..-1]", "int", "x >= -5 && x <= -1", [-5, -1], [-6, 0, None]),
    ("[3..3]", "int", "x >= 3 && x <= 3", [3], [2, 4, None]),
    # ranges, doubles
    ("[0.8..1.0]", "double", "x >= 0.8 && x <= 1.0", [0.8, 0.9, 1.0, 1],
     [0.7999999999999999, 1.0000000000000002, None]),
    ("[0.8..1.0)", "double", "x >= 0.8 && x < 1.0", [0.8, 0.9999999999999999],
     [1.0, 1, 0.7999999999999999, None]),
    ("(0.8..1.0]", "double", "x > 0.8 && x <= 1.0", [0.8000000000000002, 1.0],
     [0.8, None]),
    ("(0.8..1.0)", "double", "x > 0.8 && x < 1.0", [0.9], [0.8, 1.0, None]),
    ("[-1.5..2]", "double", "x >= -1.5 && x <= 2.0", [-1.5, 0, 2], [-1.6, 2.1, None]),
    # ranges, timestamps
    ("[2024-01-01..2024-02-01)", "timestamp",
     'x >= timestamp("2024-01-01T00:00:00Z") && x < timestamp("2024-02-01T00:00:00Z")',
     [ts(2024, 1, 1), ts(2024, 1, 31, 23, 59)], [ts(2024, 2, 1), ts(2023, 12, 31), None]),
    ("(2024-01-01..2024-02-01]", "timestamp",
     'x > timestamp("2024-01-01T00:00:00Z") && x <= timestamp("2024-02-01T00:00:00Z")',
     [ts(2024, 2, 1), ts(2024, 1, 1, 0, 0, 1)], [ts(2024, 1, 1), None]),
    # strings: bare words and quoted strings
    ("gold", "string", 'x == "gold"', ["gold"], ["Gold", "silver", "", None]),
    ('"gold"', "string", 'x == "gold"', ["gold"], ['"gold"', None]),
    ("'gold'", "string", 'x == "gold"', ["gold"], ["'gold'", None]),
    ("gold-star_2", "string", 'x == "gold-star_2"', ["gold-star_2"], ["gold", None]),
    ('"gold star"', "string", 'x == "gold star"', ["gold star"], ["gold", None]),
    ('"5"', "string", 'x == "5"', ["5"], ["6", None]),
    ('"null"', "string", 'x == "null"', ["null"], [None]),
    ('"-"', "string", 'x == "-"', ["-"], ["", None]),
    ('"< 5"', "string", 'x == "< 5"', ["< 5"], ["4", None]),
    ('"a, b"', "string", 'x == "a, b"', ["a, b"], ["a", "b", None]),
    ('"é"', "string", 'x == "é"', ["é"], ["e", None]),
    # lists
    ("gold, silver", "string", 'x in ["gold", "silver"]', ["gold", "silver"],
     ["bronze", "gold, silver", None]),
    ('"a, b", c', "string", 'x in ["a, b", "c"]', ["a, b", "c"], ["a", "b", None]),
    ("'x y', z", "string", 'x in ["x y", "z"]', ["x y", "z"], ["x", None]),
    ("1, 2, 3", "int", "x in [1, 2, 3]", [1, 2, 3], [0, 4, None]),
    ("1,2", "int", "x in [1, 2]", [1, 2], [3, None]),
    ("0.5, 1.5", "double", "x in [0.5, 1.5]", [0.5, 1.5], [1.0, None]),
    ("1, 2", "double", "x in [1.0, 2.0]", [1.0, 2, 2.0], [1.5, None]),
    ("true, false", "bool", "x in [true, false]", [True, False], [None]),
    ("2024-01-01, 2024-02-01", "timestamp",
     'x in [timestamp("2024-01-01T00:00:00Z"), timestamp("2024-02-01T00:00:00Z")]',
     [ts(2024, 1, 1), ts(2024, 2, 1)], [ts(2024, 1, 2), None]),
]

# not(...): every value the inner test does not pass, null included
NOT_CASES = [
    ("not(gold, silver)", "string", '!(x in ["gold", "silver"])', ["bronze", ""],
     ["gold", "silver"]),
    ("not(gold)", "string", '!(x == "gold")', ["silver"], ["gold"]),
    ("not( gold )", "string", '!(x == "gold")', ["silver"], ["gold"]),
    ("not(1, 2)", "int", "!(x in [1, 2])", [0, 3], [1, 2]),
    ("not(5)", "int", "!(x == 5)", [4, 6], [5]),
    ("not(< 5)", "int", "!(x < 5)", [5, 6], [4, -1]),
    ("not(>= 0.2)", "double", "!(x >= 0.2)", [0.19999999999999998], [0.2, 1.0]),
    ("not(!= 5)", "int", "!(x != 5)", [5], [4]),
    ("not([1..5])", "int", "!(x >= 1 && x <= 5)", [0, 6], [1, 5]),
    ("not([1..5))", "int", "!(x >= 1 && x < 5)", [0, 5], [1, 4]),
    ("not((0.8..1.0])", "double", "!(x > 0.8 && x <= 1.0)", [0.8, 1.1], [0.9, 1.0]),
    ("not(true)", "bool", "!(x == true)", [False], [True]),
    ("not(< 2024-01-01)", "timestamp", '!(x < timestamp("2024-01-01T00:00:00Z"))',
     [ts(2024, 1, 1)], [ts(2023, 1, 1)]),
]


@pytest.mark.parametrize(("cell", "kind", "cel_text", "matching", "failing"), CASES)
def test_cell_forms(cell: Any, kind: str, cel_text: str, matching: list[Any],
                    failing: list[Any]) -> None:
    test = compile_cell(cell, "x", kind)
    assert test.cel == cel_text
    assert_cell(test, matching, failing)


@pytest.mark.parametrize(("cell", "kind", "cel_text", "matching", "failing"), NOT_CASES)
def test_not_passes_every_value_the_inner_test_does_not(
        cell: str, kind: str, cel_text: str, matching: list[Any], failing: list[Any]) -> None:
    test = compile_cell(cell, "x", kind)
    assert test.cel == cel_text
    assert test.source == cell.strip()
    inner = compile_cell(cell.strip()[4:-1], "x", kind)
    # null fails every test but `null` (and "-"), so not(...) of it passes null
    assert inner.check(None) is False
    assert_cell(test, [*matching, None], failing)


def test_not_null_and_not_any() -> None:
    assert_cell(compile_cell("not(null)", "x", "int"), [0, 5, -1], [None])
    assert compile_cell("not(null)", "x", "int").cel == "!(x == null)"
    nothing = compile_cell("not(-)", "x", "string")
    assert not nothing.any
    assert_cell(nothing, [], ["gold", "", None])
    assert_cell(compile_cell("not(not(5))", "x", "int"), [5], [4, None])
    twice = compile_cell("not(not(< 5))", "x", "int")
    assert_cell(twice, [4], [5, None])  # the inner not(< 5) passes null, so this fails it


def test_any_cell_is_marked_and_carries_no_fast_path() -> None:
    for cell in ("-", " - ", "\t-"):
        test = compile_cell(cell, "x", "int")
        assert test.any
        assert test.source == "-"
        assert test.fast is None
        assert test.unguarded is test.check


@pytest.mark.parametrize(
    ("cell", "kind"),
    [("< 5", "int"), ("[1..5]", "int"), ("!= 0.5", "double"), ("(0.1..0.2]", "double"),
     ("> m", "string"), ("< 2024-01-01", "timestamp")],
)
def test_comparisons_and_ranges_have_a_fast_path_that_skips_the_null_guard(
        cell: str, kind: str) -> None:
    test = compile_cell(cell, "x", kind)
    assert test.fast is not None
    assert test.unguarded is test.fast
    assert test.check(None) is False


@pytest.mark.parametrize(
    ("cell", "kind"),
    [("null", "int"), ("5", "int"), ("gold", "string"), ("gold, silver", "string"),
     ("not(< 5)", "int"), (True, "bool")],
)
def test_equality_null_list_and_not_cells_need_no_separate_fast_path(
        cell: Any, kind: str) -> None:
    test = compile_cell(cell, "x", kind)
    assert test.fast is None
    assert test.unguarded is test.check


def test_literal_source_is_the_yaml_value_as_json() -> None:
    assert compile_cell(0.2, "x", "double").source == "0.2"
    assert compile_cell(True, "x", "bool").source == "true"
    assert compile_cell(7, "x", "int").source == "7"
    assert compile_cell("  >= 5 ", "x", "int").source == ">= 5"


def test_cel_text_uses_the_input_name() -> None:
    assert compile_cell("[1..2)", "revenue_share", "double").cel == \
        "revenue_share >= 1.0 && revenue_share < 2.0"
    assert compile_cell("null", "tier", "string").cel == "tier == null"


def test_null_inputs_never_pass_comparisons_ranges_literals_or_lists() -> None:
    for cell, kind in [("< 5", "int"), ("!= 5", "int"), ("> -1e9", "double"),
                       ("[1..5]", "int"), ("(0..1)", "double"), ("5", "int"),
                       ("gold", "string"), ("gold, silver", "string"), ("true", "bool"),
                       ("!= gold", "string"), ("> 2024-01-01", "timestamp")]:
        assert compile_cell(cell, "x", kind).check(None) is False, cell


def test_null_cell_matches_only_null() -> None:
    test = compile_cell("null", "x", "int")
    assert [test.check(v) for v in (None, 0, False, "")] == [True, False, False, False]


def test_duration_list_and_map_inputs_take_null_and_any() -> None:
    for kind in ("duration", "list", "map"):
        assert compile_cell("null", "x", kind).check(None)
        assert compile_cell("-", "x", kind).any
        assert compile_cell("not(null)", "x", kind).check([1])


# --- CellError -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cell", "kind", "message"),
    [
        # a literal of the wrong type for its input
        (5.5, "int", "cell 5.5: 5.5 is not a int"),
        (True, "int", "cell True: True is not a int"),
        (True, "double", "cell True: True is not a double"),
        (True, "string", "cell True: True is not a string"),
        (5, "string", "cell 5: 5 is not a string"),
        (1, "bool", "cell 1: 1 is not a bool"),
        (5, "timestamp", "cell 5: 5 is not a timestamp"),
        (date(2024, 1, 1), "string",
         "cell datetime.date(2024, 1, 1) must be a test such as '>= 5' or 'gold, silver'"),
        (date(2024, 1, 1), "int",
         "cell datetime.date(2024, 1, 1) must be a test such as '>= 5' or 'gold, silver'"),
        # an empty cell (`x:` or `x: ~` in YAML) is ambiguous
        (None, "int", "the cell is empty; write '-' for any value or 'null' for no value"),
        (None, "string", "the cell is empty; write '-' for any value or 'null' for no value"),
        # doubles must be finite: CEL has no literal for inf or nan
        ("< 1e400", "double", "cell '< 1e400': '1e400' is not a double"),
        ("inf", "double", "cell 'inf': 'inf' is not a double"),
        ("nan", "double", "cell 'nan': 'nan' is not a double"),
        ("[0..1e999]", "double", "cell '[0..1e999]': '1e999' is not a double"),
        ("-inf, 1", "double", "cell '-inf, 1': '-inf' is not a double"),
        (math.inf, "double", "cell inf: inf is not a double"),
        (math.nan, "double", "cell nan: nan is not a double"),
        ("abc", "int", "cell 'abc': 'abc' is not a int"),
        ("1.5", "int", "cell '1.5': '1.5' is not a int"),
        ("abc", "double", "cell 'abc': 'abc' is not a double"),
        ("yes", "bool", "cell 'yes': 'yes' is not a bool"),
        ("1", "bool", "cell '1': '1' is not a bool"),
        ("someday", "timestamp", "cell 'someday': 'someday' is not a timestamp"),
        ("< 2024-13-01", "timestamp", "cell '< 2024-13-01': '2024-13-01' is not a timestamp"),
        ("5", "duration", "cell '5': '5' is not a duration"),
        ("5", "list", "cell '5': '5' is not a list"),
        ("1, x", "int", "cell '1, x': 'x' is not a int"),
        ("[1..x]", "int", "cell '[1..x]': 'x' is not a int"),
        ("< five", "int", "cell '< five': 'five' is not a int"),
        ('"a"', "int", "'\"a\"': \"a\" is a string, but the input is int"),
        ("'a'", "double", "''a'': 'a' is a string, but the input is double"),
        ('1, "2"', "int", "'1, \"2\"': \"2\" is a string, but the input is int"),
        ('"2024-01-01"', "timestamp",
         "'\"2024-01-01\"': \"2024-01-01\" is a string, but the input is timestamp"),
        # comparisons and ranges where they do not apply
        ("< true", "bool", "'< true' compares, but input 'x' is bool"),
        (">= 5", "duration", "'>= 5' compares, but input 'x' is duration"),
        ("> 1", "list", "'> 1' compares, but input 'x' is list"),
        ("[a..b]", "string", "'[a..b]' is a range, but input 'x' is string"),
        ("[1..5]", "bool", "'[1..5]' is a range, but input 'x' is bool"),
        ("not([1..5])", "string", "'[1..5]' is a range, but input 'x' is string"),
        # empty ranges
        ("[5..1]", "int", "range '[5..1]' is empty: 5 is above 1"),
        ("(5..1)", "int", "range '(5..1)' is empty: 5 is above 1"),
        ("[1.5..0.5]", "double", "range '[1.5..0.5]' is empty: 1.5 is above 0.5"),
        ("[2024-02-01..2024-01-01]", "timestamp",
         "range '[2024-02-01..2024-01-01]' is empty: 2024-02-01 is above 2024-01-01"),
        # quotes, lists, words
        ('"gold', "string", "'\"gold' has an unclosed quote"),
        ("gold, 'silver", "string", "'gold, 'silver' has an unclosed quote"),
        ('"', "string", "'\"' has an unclosed quote"),
        ("gold,", "string", "'gold,' has an empty item in its list"),
        (", gold", "string", "', gold' has an empty item in its list"),
        ("gold,,silver", "string", "'gold,,silver' has an empty item in its list"),
        ("1, , 2", "int", "'1, , 2' has an empty item in its list"),
        ("gold silver", "string", "'gold silver': put gold silver in quotes to compare it as text"),
        ("gold, big silver", "string",
         "'gold, big silver': put big silver in quotes to compare it as text"),
        ("5", "string", "'5': put 5 in quotes to compare it as text"),
        ("> a b", "string", "'> a b': put a b in quotes to compare it as text"),
        ("not(gold silver)", "string",
         "'gold silver': put gold silver in quotes to compare it as text"),
        # not a test at all
        ([1, 2], "int", "cell [1, 2] must be a test such as '>= 5' or 'gold, silver'"),
        ({"a": 1}, "string", "cell {'a': 1} must be a test such as '>= 5' or 'gold, silver'"),
    ],
)
def test_cell_errors(cell: Any, kind: str, message: str) -> None:
    with pytest.raises(CellError) as caught:
        compile_cell(cell, "x", kind)
    assert str(caught.value) == message


def test_cell_error_names_the_input() -> None:
    with pytest.raises(CellError, match="input 'lateness' is bool"):
        compile_cell("< 1", "lateness", "bool")


# --- bugs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["int", "double"])
@pytest.mark.parametrize("cell", ["(5..5)", "[5..5)", "(5..5]", "]5..5]", "[5..5["])
def test_ranges_that_exclude_their_only_value_are_empty(cell: str, kind: str) -> None:
    with pytest.raises(CellError) as caught:
        compile_cell(cell, "x", kind)
    assert str(caught.value) == f"range '{cell}' is empty: it excludes 5, its only value"


def test_a_range_of_one_value_is_that_value() -> None:
    assert_cell(compile_cell("[5..5]", "x", "int"), [5], [4, 6, None])
    assert_cell(compile_cell("[0.5..0.5]", "x", "double"), [0.5], [0.4, 0.6, None])


@pytest.mark.parametrize("cell", ["(4..5)", "]4..5["])
def test_int_ranges_without_an_integer_inside_are_empty(cell: str) -> None:
    with pytest.raises(CellError, match="is empty"):
        compile_cell(cell, "x", "int")


def test_cel_text_of_a_string_outside_the_bmp_is_cel() -> None:
    test = compile_cell('"😀"', "x", "string")
    assert test.check("😀")
    assert cel_says(test, "😀") is True


@pytest.mark.parametrize("cell", ["< 0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_timestamp_out_of_range_in_utc_is_a_cell_error(cell: str) -> None:
    with pytest.raises(CellError):
        compile_cell(cell, "x", "timestamp")


def test_huge_integer_for_a_double_input_is_a_cell_error() -> None:
    with pytest.raises(CellError):
        compile_cell(10**400, "x", "double")


# --- the CEL text is the reference semantics ------------------------------------------------

INTS = st.integers(min_value=-(2**62), max_value=2**62)
DOUBLES = st.floats(allow_nan=False, allow_infinity=False)
SMALL_INTS = st.integers(min_value=-20, max_value=20)
SMALL_DOUBLES = st.sampled_from([-1.5, -0.5, -0.0, 0.0, 0.1, 0.2, 0.5, 0.8, 1.0, 1.5, 2.0])


def _text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


@st.composite
def cells_and_values(draw: st.DrawFn) -> tuple[str, str, Any]:
    kind = draw(st.sampled_from(["int", "double"]))
    # mix wide values with a small pool so that boundaries and equality are hit often
    numbers = st.one_of(SMALL_INTS, INTS) if kind == "int" else st.one_of(SMALL_DOUBLES, DOUBLES)
    form = draw(st.sampled_from(["comparison", "range", "literal", "list"]))
    if form == "comparison":
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]))
        space = draw(st.sampled_from(["", " "]))
        cell = f"{op}{space}{_text(draw(numbers))}"
    elif form == "range":
        low, high = sorted([draw(numbers), draw(numbers)])
        opening = draw(st.sampled_from(["[", "(", "]"]))
        closing = draw(st.sampled_from(["]", ")", "["]))
        cell = f"{opening}{_text(low)}..{_text(high)}{closing}"
    elif form == "literal":
        cell = _text(draw(numbers))
    else:
        cell = ", ".join(_text(n) for n in draw(st.lists(numbers, min_size=2, max_size=4)))
    if draw(st.booleans()):
        cell = f"not({cell})"
    value = draw(numbers)
    return cell, kind, value


@settings(max_examples=400, deadline=None)
@given(cells_and_values())
def test_check_agrees_with_the_cel_text(case: tuple[str, str, Any]) -> None:
    cell, kind, value = case
    try:
        test = compile_cell(cell, "amount", kind)
    except CellError as exc:  # only a range with no (whole) number inside may be refused
        assert "its only value" in str(exc) or "no whole number lies in it" in str(exc), \
            (cell, exc)
        return
    expected = cel.evaluate(test.cel, {"amount": value})
    assert test.check(value) is expected, (cell, test.cel, value)
    assert test.unguarded(value) is expected
    if test.fast is not None:
        assert test.fast(value) is expected


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["int", "double"]), st.data())
def test_null_fails_every_comparison_and_range(kind: str, data: st.DataObject) -> None:
    numbers = INTS if kind == "int" else DOUBLES
    low, high = sorted([data.draw(numbers), data.draw(numbers)])
    op = data.draw(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]))
    for cell in (f"{op} {_text(low)}", f"[{_text(low)}..{_text(high)}]"):
        test = compile_cell(cell, "x", kind)
        assert test.check(None) is False
        assert compile_cell(f"not({cell})", "x", kind).check(None) is True


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[a-z_][a-z0-9_\-]{0,8}", fullmatch=True).filter(
    lambda w: w not in ("null", "not")), min_size=1, max_size=4),
    st.text(alphabet="abcgls_-", max_size=6))
def test_string_lists_agree_with_the_cel_text(words: list[str], value: str) -> None:
    test = compile_cell(", ".join(words), "tier", "string")
    expected = cel.evaluate(test.cel, {"tier": value})
    assert test.check(value) is expected
    for word in words:
        assert test.check(word)


def test_infinite_values_compare_like_cel() -> None:
    test = compile_cell("[0..1e300]", "x", "double")
    for value in (math.inf, -math.inf):
        assert test.check(value) is cel_says(test, value) is False
