"""engine.kernel.fields: coercion of incoming values, validation, and the JSON and CEL forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernel.errors import InvalidInput
from engine.kernel.fields import SCALAR_TYPES, TYPES, FieldSpec, coerce, describe, to_cel, to_json

PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE = timezone(timedelta(hours=-5))


def spec(ftype: str, **options: Any) -> FieldSpec:
    if ftype == "enum":
        options.setdefault("values", ("low", "medium", "high"))
    if ftype == "list":
        options.setdefault("of", FieldSpec("tags[]", "text"))
    return FieldSpec(name="f", type=ftype, **options)


def test_list_is_the_only_non_scalar_type() -> None:
    non_scalar = TYPES - SCALAR_TYPES
    assert non_scalar == {"list"}
    assert SCALAR_TYPES < TYPES


@pytest.mark.parametrize("ftype", sorted(TYPES))
def test_none_means_no_value_in_every_form(ftype: str) -> None:
    assert coerce(spec(ftype), None) is None
    assert to_json(spec(ftype), None) is None
    assert to_cel(spec(ftype), None) is None


# --- coercion from CLI strings -------------------------------------------------------------

@pytest.mark.parametrize(
    ("ftype", "raw", "expected"),
    [
        ("text", "hello world", "hello world"),
        ("text", "  kept as is ", "  kept as is "),
        ("text", "", ""),
        ("int", "42", 42),
        ("int", " -7 ", -7),
        ("decimal", "19.99", Decimal("19.99")),
        ("decimal", " 0.10 ", Decimal("0.10")),
        ("decimal", "-3", Decimal("-3")),
        ("decimal", "1e3", Decimal("1000")),
        ("bool", "true", True),
        ("bool", "Yes", True),
        ("bool", "1", True),
        ("bool", "on", True),
        ("bool", "false", False),
        ("bool", " NO ", False),
        ("bool", "0", False),
        ("bool", "off", False),
        ("date", "2026-03-01", date(2026, 3, 1)),
        ("date", " 2026-03-01 ", date(2026, 3, 1)),
        ("datetime", "2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("datetime", "2026-03-01T11:30:00+02:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("datetime", "2026-03-01 04:30:00-05:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("duration", "90m", timedelta(minutes=90)),
        ("duration", "4h", timedelta(hours=4)),
        ("duration", "1h30m", timedelta(hours=1, minutes=30)),
        ("duration", "45s", timedelta(seconds=45)),
        ("duration", "1.5h", timedelta(minutes=90)),
        ("enum", "medium", "medium"),
        ("user", "ann", "ann"),
        ("user", "  ann ", "ann"),
        ("customer", "C-1001", "C-1001"),
    ],
)
def test_coerce_from_cli_strings(ftype: str, raw: str, expected: Any) -> None:
    value = coerce(spec(ftype), raw)
    assert value == expected
    assert type(value) is type(expected)


def test_coerced_datetime_is_in_utc() -> None:
    value = coerce(spec("datetime"), "2026-03-01T11:30:00+02:00")
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo is UTC


# --- coercion from JSON values -------------------------------------------------------------

@pytest.mark.parametrize(
    ("ftype", "raw", "expected"),
    [
        ("int", 42, 42),
        ("int", 42.0, 42),
        ("decimal", 12, Decimal("12")),
        ("decimal", 0.1, Decimal("0.1")),
        ("decimal", "0.1", Decimal("0.1")),
        ("bool", True, True),
        ("bool", False, False),
        ("date", "2026-03-01", date(2026, 3, 1)),
        ("datetime", "2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("duration", 5400, timedelta(minutes=90)),
        ("duration", 5400.0, timedelta(minutes=90)),
        ("duration", 0.25, timedelta(milliseconds=250)),
        ("user", 17, "17"),
        ("customer", 1001, "1001"),
        ("enum", "high", "high"),
    ],
)
def test_coerce_from_json_values(ftype: str, raw: Any, expected: Any) -> None:
    value = coerce(spec(ftype), raw)
    assert value == expected
    assert type(value) is type(expected)


# --- coercion from Python values -----------------------------------------------------------

@pytest.mark.parametrize(
    ("ftype", "raw", "expected"),
    [
        ("int", 7, 7),
        ("decimal", Decimal("19.99"), Decimal("19.99")),
        ("date", date(2026, 3, 1), date(2026, 3, 1)),
        ("date", datetime(2026, 3, 1, 23, 0, tzinfo=UTC), date(2026, 3, 1)),
        ("datetime", datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
         datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("datetime", datetime(2026, 3, 1, 11, 30, tzinfo=PLUS_TWO),
         datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("duration", timedelta(hours=2), timedelta(hours=2)),
        ("text", "x", "x"),
        ("bool", True, True),
    ],
)
def test_coerce_from_python_values(ftype: str, raw: Any, expected: Any) -> None:
    value = coerce(spec(ftype), raw)
    assert value == expected
    assert type(value) is type(expected)


# --- lists ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("item_type", "raw", "expected"),
    [
        ("text", "a, b,,c ", ["a", "b", "c"]),
        ("text", "", []),
        ("text", "solo", ["solo"]),
        ("int", "1, 2, 3", [1, 2, 3]),
        ("int", "[1, 2, 3]", [1, 2, 3]),
        ("text", '["a, b", "c"]', ["a, b", "c"]),
        ("int", [1, "2", 3.0], [1, 2, 3]),
        ("int", (4, 5), [4, 5]),
        ("decimal", ["1.10", 2], [Decimal("1.10"), Decimal("2")]),
        ("date", ["2026-03-01"], [date(2026, 3, 1)]),
        ("user", " ann , bob ", ["ann", "bob"]),
        ("int", [], []),
    ],
)
def test_coerce_list(item_type: str, raw: Any, expected: list[Any]) -> None:
    list_spec = spec("list", of=FieldSpec("items[]", item_type))
    value = coerce(list_spec, raw)
    assert value == expected
    assert [type(v) for v in value] == [type(v) for v in expected]


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ("[1, 2", "f", "is not a JSON list"),
        (5, "f", "5 is not a list"),
        ({"a": 1}, "f", "is not a list"),
        ('{"a": 1}', "items[]", "is not a whole number"),  # no "[": split on commas
        ("1, two", "items[]", "'two' is not a whole number"),
        ([1, True], "items[]", "True is not a whole number"),
        ("[1, 0]", "items[]", "0 is below the minimum 1"),
    ],
)
def test_coerce_list_rejects(raw: Any, field: str, fragment: str) -> None:
    list_spec = spec("list", of=FieldSpec("items[]", "int", min=Decimal(1)))
    with pytest.raises(InvalidInput) as caught:
        coerce(list_spec, raw)
    assert caught.value.field == field
    assert fragment in str(caught.value)


# --- rejects -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("ftype", "raw", "fragment"),
    [
        ("text", 5, "5 is not text"),
        ("text", ["a"], "is not text"),
        ("int", "4.5", "'4.5' is not a whole number"),
        ("int", 4.5, "4.5 is not a whole number"),
        ("int", "four", "is not a whole number"),
        ("int", True, "True is not a whole number"),
        ("int", Decimal("2"), "is not a whole number"),
        ("int", "", "is not a whole number"),
        ("int", 2**63, "is not a whole number from -2^63 to 2^63 - 1"),  # no column holds it
        ("int", -(2**63) - 1, "is not a whole number from -2^63 to 2^63 - 1"),
        ("int", 1e308, "1e+308 is not a whole number from -2^63 to 2^63 - 1"),
        ("case", 2**70, "is not a case number"),
        ("decimal", "abc", "'abc' is not a decimal number"),
        ("decimal", "NaN", "is not a decimal number"),
        ("decimal", "Infinity", "is not a decimal number"),
        ("decimal", float("inf"), "is not a decimal number"),
        ("decimal", True, "True is not a decimal number"),
        ("decimal", [1], "is not a decimal number"),
        ("bool", "maybe", "'maybe' is not true or false"),
        ("bool", 1, "1 is not true or false"),
        ("date", "2026-02-30", "is not a date (YYYY-MM-DD)"),
        ("date", "yesterday", "is not a date"),
        ("date", 20260301, "is not a date"),
        ("datetime", "soon", "is not a date and time"),
        ("datetime", date(2026, 3, 1), "is not a date and time"),
        ("datetime", 1700000000, "is not a date and time"),
        ("duration", "soon", "'soon' is not a duration"),
        ("duration", True, "True is not a duration"),
        ("duration", [1], "is not a duration"),
        ("enum", "urgent", "'urgent' is not one of low, medium, high"),
        ("enum", "hgih", "is not one of low, medium, high; did you mean 'high'?"),
        ("enum", 1, "1 is not one of low, medium, high"),
        ("user", "", "'' is not a user id"),
        ("user", "   ", "is not a user id"),
        ("user", True, "True is not a user id"),
        ("customer", 1.5, "1.5 is not a customer id"),
    ],
)
def test_wrong_values_are_rejected_naming_the_field(ftype: str, raw: Any, fragment: str) -> None:
    named = FieldSpec(name="severity", type=ftype,
                      values=("low", "medium", "high") if ftype == "enum" else ())
    with pytest.raises(InvalidInput) as caught:
        coerce(named, raw)
    assert caught.value.field == "severity"
    assert str(caught.value).startswith("field 'severity': ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    ["2026-03-01T09:30:00", "2026-03-01 09:30", datetime(2026, 3, 1, 9, 30)],
    ids=["iso-string", "space-string", "naive-datetime"],
)
def test_datetime_without_time_zone_is_rejected(raw: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        coerce(FieldSpec("resolved_at", "datetime"), raw)
    assert caught.value.field == "resolved_at"
    assert "has no time zone; add Z or +HH:MM" in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"],
)
def test_datetime_out_of_range_after_utc_conversion_is_invalid_input(raw: str) -> None:
    with pytest.raises(InvalidInput):
        coerce(spec("datetime"), raw)


def test_duration_in_seconds_from_a_cli_string() -> None:
    assert coerce(spec("duration"), "5400") == timedelta(minutes=90)


# --- bounds --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (FieldSpec("csat", "int", min=Decimal(1), max=Decimal(5)), "1", 1),
        (FieldSpec("csat", "int", min=Decimal(1), max=Decimal(5)), 5, 5),
        (FieldSpec("amount", "decimal", min=Decimal(0)), "0", Decimal("0")),
        (FieldSpec("amount", "decimal", max=Decimal("99.99")), "99.99", Decimal("99.99")),
        (FieldSpec("summary", "text", max_length=5), "12345", "12345"),
    ],
)
def test_values_on_the_bounds_are_accepted(field: FieldSpec, raw: Any, expected: Any) -> None:
    assert coerce(field, raw) == expected


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        (FieldSpec("csat", "int", min=Decimal(1), max=Decimal(5)), "0",
         "field 'csat': 0 is below the minimum 1"),
        (FieldSpec("csat", "int", min=Decimal(1), max=Decimal(5)), 6,
         "field 'csat': 6 is above the maximum 5"),
        (FieldSpec("amount", "decimal", min=Decimal(0)), "-0.01",
         "field 'amount': -0.01 is below the minimum 0"),
        (FieldSpec("amount", "decimal", max=Decimal("99.99")), "100",
         "field 'amount': 100 is above the maximum 99.99"),
        (FieldSpec("summary", "text", max_length=5), "123456",
         "field 'summary': is 6 characters long; at most 5 are allowed"),
    ],
)
def test_values_outside_the_bounds_are_rejected(field: FieldSpec, raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        coerce(field, raw)
    assert str(caught.value) == message
    assert caught.value.field == field.name


# --- money stays Decimal -------------------------------------------------------------------

def test_decimals_stay_decimal_and_never_pick_up_float_noise() -> None:
    money = spec("decimal")
    assert coerce(money, 0.1) == Decimal("0.1")  # not Decimal(0.1) = 0.1000000000000000055...
    total = sum((coerce(money, raw) for raw in (0.1, 0.2, "0.3")), Decimal(0))
    assert total == Decimal("0.6")
    assert isinstance(total, Decimal)
    assert to_json(money, coerce(money, "1234567890.123456789")) == "1234567890.123456789"


def test_decimal_keeps_its_scale() -> None:
    money = spec("decimal")
    assert str(coerce(money, "10.50")) == "10.50"
    assert to_json(money, Decimal("10.50")) == "10.50"


# --- JSON and CEL forms --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("ftype", "value", "expected"),
    [
        ("text", "x", "x"),
        ("int", 3, 3),
        ("decimal", Decimal("19.99"), "19.99"),
        ("bool", False, False),
        ("date", date(2026, 3, 1), "2026-03-01"),
        ("datetime", datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "2026-03-01T09:30:00Z"),
        ("datetime", datetime(2026, 3, 1, 11, 30, 0, 5, tzinfo=PLUS_TWO),
         "2026-03-01T09:30:00.000005Z"),
        ("duration", timedelta(minutes=90), 5400),
        ("duration", timedelta(seconds=1.5), 1.5),
        ("enum", "low", "low"),
        ("user", "ann", "ann"),
        ("customer", "C-1", "C-1"),
        ("text", None, None),
    ],
)
def test_to_json(ftype: str, value: Any, expected: Any) -> None:
    result = to_json(spec(ftype), value)
    assert result == expected
    assert type(result) is type(expected)


def test_list_to_json_uses_the_item_form() -> None:
    dates = spec("list", of=FieldSpec("days[]", "date"))
    assert to_json(dates, [date(2026, 3, 1), date(2026, 3, 2)]) == ["2026-03-01", "2026-03-02"]
    money = spec("list", of=FieldSpec("amounts[]", "decimal"))
    assert to_json(money, [Decimal("1.50")]) == ["1.50"]


@pytest.mark.parametrize(
    ("ftype", "value", "expected"),
    [
        ("decimal", Decimal("19.5"), 19.5),
        ("date", date(2026, 3, 1), datetime(2026, 3, 1, tzinfo=UTC)),
        ("datetime", datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
         datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("duration", timedelta(hours=1), timedelta(hours=1)),
        ("int", 3, 3),
        ("bool", True, True),
        ("text", "x", "x"),
        ("enum", "low", "low"),
        ("text", None, None),
    ],
)
def test_to_cel(ftype: str, value: Any, expected: Any) -> None:
    result = to_cel(spec(ftype), value)
    assert result == expected
    assert type(result) is type(expected)


def test_date_to_cel_is_midnight_utc() -> None:
    result = to_cel(spec("date"), date(2026, 3, 1))
    assert result.tzinfo is UTC
    assert (result.hour, result.minute, result.second) == (0, 0, 0)


def test_list_to_cel_uses_the_item_form() -> None:
    money = spec("list", of=FieldSpec("amounts[]", "decimal"))
    assert to_cel(money, [Decimal("1.5"), Decimal("2")]) == [1.5, 2.0]


def test_describe_shortens_long_values() -> None:
    assert describe("abc") == "'abc'"
    long = describe("x" * 100)
    assert len(long) == 60
    assert long.endswith("...")


# --- round trip: coerce(to_json(coerce(x))) == coerce(x) -----------------------------------

_aware = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    # a day away from datetime.min/max (the very edges are tested above)
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
_CENTURY = timedelta(days=36525)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what a stored int may be
_case_number = st.integers(min_value=1, max_value=2**63 - 1)
_INPUTS: dict[str, st.SearchStrategy[Any]] = {
    "text": st.text(),
    "int": _int64 | _int64.map(str),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False).map(str)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(),
    "bool": st.booleans() | st.sampled_from(["true", "yes", "1", "on", "false", "no", "0", "off",
                                             "TRUE", " No "]),
    "date": st.dates() | st.dates().map(date.isoformat),
    "datetime": _aware | _aware.map(datetime.isoformat),
    "duration": st.timedeltas(min_value=-_CENTURY, max_value=_CENTURY)
    | st.integers(min_value=-(10**9), max_value=10**9)
    | st.sampled_from(["90m", "4h", "1h30m", "2.5s", "-15m", "0s"]),
    "enum": st.sampled_from(["low", "medium", "high"]),
    "user": st.text().filter(str.strip) | st.integers(),
    "customer": st.text().filter(str.strip) | st.integers(),
    "case": _case_number | _case_number.map(lambda n: f"#{n}"),
}


def test_round_trip_covers_every_scalar_type() -> None:
    assert set(_INPUTS) == SCALAR_TYPES


@pytest.mark.parametrize("ftype", sorted(SCALAR_TYPES))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_round_trip_through_json(ftype: str, data: st.DataObject) -> None:
    field = spec(ftype)
    value = coerce(field, data.draw(_INPUTS[ftype], label="raw"))
    again = coerce(field, to_json(field, value))
    assert again == value
    assert type(again) is type(value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False)))
def test_round_trip_of_a_list(items: list[Decimal]) -> None:
    field = spec("list", of=FieldSpec("amounts[]", "decimal"))
    value = coerce(field, items)
    assert coerce(field, to_json(field, value)) == value


def test_a_very_long_duration_in_whole_seconds_round_trips_exactly() -> None:
    field = spec("duration")
    value = timedelta(days=999_999_999, seconds=1)
    assert to_json(field, value) == 86_399_999_913_601
    assert coerce(field, to_json(field, value)) == value


@pytest.mark.parametrize("raw", [0, -3, "abc", "#", 1.5, True])
def test_a_case_reference_is_a_case_number(raw: Any) -> None:
    spec = FieldSpec("duplicate_of", "case")
    with pytest.raises(InvalidInput, match="duplicate_of.*is not a case number"):
        coerce(spec, raw)


def test_a_case_reference_reads_a_hash_number() -> None:
    assert coerce(FieldSpec("duplicate_of", "case"), " #42 ") == 42
