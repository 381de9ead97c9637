"""Typed case fields: coercion of incoming values, validation, and the JSON and CEL forms.

A value has three forms: what arrives (a CLI string, a JSON value, a CEL result), the canonical
Python value (int, Decimal, date, aware datetime, timedelta, ...), and the JSON form stored in the
case row and in history. Money is Decimal, never float.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import cel

from engine.kernel.errors import InvalidInput
from engine.kernel.yaml_source import suggest

SCALAR_TYPES = frozenset(
    {"text", "int", "decimal", "bool", "date", "datetime", "duration", "enum", "user", "customer",
     "case"}
)
# Field types that name a stored record: the runtime checks that it exists when one is written.
REFERENCE_TYPES = frozenset({"user", "customer", "case"})
TYPES = SCALAR_TYPES | {"list"}
_SECONDS = re.compile(r"^-?\d+(\.\d+)?$")
_INT_LOW, _INT_HIGH = -(2**63), 2**63 - 1
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class FieldSpec:
    """One typed case field as declared under `fields:` in a workflow."""

    name: str
    type: str
    required: bool = False
    default: Any = None
    values: tuple[str, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = None
    of: FieldSpec | None = None  # item type of a list
    title: str | None = None
    line: int = 0
    personal: bool = False  # identifies a person: kept apart from the history, erasable


def coerce(spec: FieldSpec, raw: Any) -> Any:
    """Turn an incoming value into the canonical value of the field, or raise InvalidInput."""
    if raw is None:
        return None
    if spec.type == "list":
        return _coerce_list(spec, raw)
    value = _COERCERS[spec.type](spec, raw)
    _check_bounds(spec, value)
    return value


def to_json(spec: FieldSpec, value: Any) -> Any:
    """The JSON form of a canonical value (stored in case rows and history payloads)."""
    if value is None:
        return None
    if spec.type == "list":
        assert spec.of is not None
        return [to_json(spec.of, item) for item in value]
    if spec.type == "decimal":
        return str(value)
    if spec.type in ("date", "datetime"):
        return _iso(value)
    if spec.type == "duration":  # seconds: whole ones exact, else to the microsecond
        return value.days * 86400 + value.seconds if not value.microseconds \
            else value.total_seconds()
    return value


def to_cel(spec: FieldSpec, value: Any) -> Any:
    """The form a CEL expression sees: decimals as doubles, dates as midnight UTC timestamps."""
    if value is None:
        return None
    if spec.type == "list":
        assert spec.of is not None
        return [to_cel(spec.of, item) for item in value]
    if spec.type == "decimal":
        return float(value)
    if spec.type == "date":
        return datetime.combine(value, time(), tzinfo=UTC)
    return value


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _iso(value: date) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _fail(spec: FieldSpec, raw: Any, expected: str) -> InvalidInput:
    return InvalidInput(spec.name, f"{describe(raw)} is not {expected}")


def _text(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str):
        raise _fail(spec, raw, "text")
    return raw


def _identifier(spec: FieldSpec, raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise _fail(spec, raw, f"a {spec.type} id")
    return raw.strip()


def _int(spec: FieldSpec, raw: Any) -> int:
    value = _whole(spec, raw)
    if not _INT_LOW <= value <= _INT_HIGH:  # what the database and the history's JSON hold
        raise _fail(spec, raw, "a whole number from -2^63 to 2^63 - 1")
    return value


def _whole(spec: FieldSpec, raw: Any) -> int:
    if isinstance(raw, bool):
        raise _fail(spec, raw, "a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise _fail(spec, raw, "a whole number")


def _case(spec: FieldSpec, raw: Any) -> int:
    if isinstance(raw, str) and raw.strip().startswith("#"):
        raw = raw.strip()[1:]
    try:
        value = _int(spec, raw)
    except InvalidInput:
        raise _fail(spec, raw, "a case number") from None
    if value < 1:
        raise _fail(spec, raw, "a case number")
    return value


def _decimal(spec: FieldSpec, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise _fail(spec, raw, "a decimal number")
    if isinstance(raw, float):  # from CEL arithmetic: keep the 15 digits a double holds exactly
        raw = format(raw, ".15g")
    try:
        value = Decimal(str(raw).strip()) if isinstance(raw, str | int | Decimal) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise _fail(spec, raw, "a decimal number")
    return value


def _bool(spec: FieldSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise _fail(spec, raw, "true or false")


def _date(spec: FieldSpec, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise _fail(spec, raw, "a date (YYYY-MM-DD)")


def _datetime(spec: FieldSpec, raw: Any) -> datetime:
    value: datetime | None = raw if isinstance(raw, datetime) else None
    if isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            value = None
    if value is None:
        raise _fail(spec, raw, "a date and time (ISO 8601, e.g. 2026-03-01T09:30:00Z)")
    if value.tzinfo is None:
        raise InvalidInput(spec.name, f"{describe(raw)} has no time zone; add Z or +HH:MM")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _fail(spec, raw, "a date and time that can be expressed in UTC") from None


def _duration(spec: FieldSpec, raw: Any) -> timedelta:
    if isinstance(raw, timedelta):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return timedelta(seconds=raw)
        except (OverflowError, ValueError):
            raise _fail(spec, raw, "a duration that fits in 999999999 days") from None
    if isinstance(raw, str) and _SECONDS.match(raw.strip()):
        return _duration(spec, float(raw))
    if isinstance(raw, str):
        try:
            value = cel.evaluate("duration(text)", {"text": raw.strip()})
        except Exception:  # the CEL runtime raises several types for a bad duration
            value = None
        if isinstance(value, timedelta):
            return value
    raise _fail(spec, raw, "a duration (e.g. 90m, 4h, 1h30m, or seconds)")


def _enum(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or raw not in spec.values:
        hint = suggest(str(raw), spec.values) if isinstance(raw, str) else ""
        raise InvalidInput(
            spec.name, f"{describe(raw)} is not one of {', '.join(spec.values)}{hint}"
        )
    return raw


_COERCERS: dict[str, Any] = {
    "text": _text,
    "int": _int,
    "case": _case,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime,
    "duration": _duration,
    "enum": _enum,
    "user": _identifier,
    "customer": _identifier,
}


def _coerce_list(spec: FieldSpec, raw: Any) -> list[Any]:
    assert spec.of is not None
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError:
                raise _fail(spec, raw, "a JSON list") from None
        else:
            raw = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, list | tuple):
        raise _fail(spec, raw, "a list")
    return [coerce(spec.of, item) for item in raw]


def _check_bounds(spec: FieldSpec, value: Any) -> None:
    if spec.max_length is not None and isinstance(value, str) and len(value) > spec.max_length:
        raise InvalidInput(spec.name, f"is {len(value)} characters long; at most "
                           f"{spec.max_length} are allowed")
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        if spec.min is not None and value < spec.min:
            raise InvalidInput(spec.name, f"{value} is below the minimum {spec.min}")
        if spec.max is not None and value > spec.max:
            raise InvalidInput(spec.name, f"{value} is above the maximum {spec.max}")
