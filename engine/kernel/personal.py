"""Personal data kept apart from the hashed history, so that it can be erased later and the
history still verifies.

Where an event would hold a personal value (a customer's name, e-mail or phone, a workflow field
declared `personal: true`, a comment's text), its payload holds a marker instead:
`{"$personal": REF}`. REF is the SHA-256 of a random salt and the value's canonical JSON; the
value and its salt are kept in the vault (the `personal_values` table) under REF, with the
customer and case they belong to. The chain hashes the marker, never the value, so

- verify checks the chain as before, and checks each value still in the vault against its REF
  (a value changed in the vault is found);
- erasing a customer removes the values and salts from the vault and keeps REF with who erased
  it, when and why: the chain still verifies, and says which entries were erased.

The salt makes REF useless for guessing: without it nobody can test whether a REF stands for a
given e-mail address.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

MARK = "$personal"
SALT_BYTES = 16

# The customer record's columns that identify a person. type, status, industry, region, owner and
# tier describe a class of customer, not a person, and stay after erasure.
PERSONAL_COLUMNS = ("name", "email", "phone")


@dataclass(frozen=True)
class Sealed:
    """A personal value, its salt and its reference, before it is kept in the vault."""

    ref: str
    salt: str  # hex
    text: str  # the value's canonical JSON

    @property
    def marker(self) -> dict[str, str]:
        return {MARK: self.ref}


@dataclass(frozen=True)
class Erased:
    """What the vault keeps of an erased value: when, by whom, why."""

    at: datetime
    by: str
    reason: str

    def __str__(self) -> str:
        return f"(erased {self.at:%Y-%m-%d} by {self.by})"

    def to_json(self) -> dict[str, Any]:
        return {"erased": {"at": self.at.isoformat(), "by": self.by, "reason": self.reason}}


def _text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def digest(salt: str, text: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + text.encode()).hexdigest()


def seal(value: Any) -> Sealed:
    """Seal one personal value (None is not personal: it stays None and is never sealed)."""
    salt = secrets.token_hex(SALT_BYTES)
    text = _text(value)
    return Sealed(digest(salt, text), salt, text)


def holds(sealed_ref: str, salt: str, text: str) -> bool:
    """Whether a vault row's value is the one its reference was made from."""
    return secrets.compare_digest(digest(salt, text), sealed_ref)


def ref_of(value: Any) -> str | None:
    """The reference a payload value stands for, or None when it is not a marker."""
    if isinstance(value, dict) and len(value) == 1:
        ref = value.get(MARK)
        if isinstance(ref, str):
            return ref
    return None


def refs_in(payload: Any) -> Iterable[str]:
    """Every reference anywhere in a payload (maps and lists walked)."""
    ref = ref_of(payload)
    if ref is not None:
        yield ref
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from refs_in(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from refs_in(value)


def reveal(payload: Any, values: Mapping[str, Any]) -> Any:
    """The payload with each marker replaced by its value from `values` (ref -> value, or an
    Erased); markers not in `values` stay as they are."""
    ref = ref_of(payload)
    if ref is not None:
        return values.get(ref, payload)
    if isinstance(payload, dict):
        return {key: reveal(value, values) for key, value in payload.items()}
    if isinstance(payload, list):
        return [reveal(value, values) for value in payload]
    return payload


class Sealer:
    """Seals the personal values of one write and remembers them for the vault (the writer
    keeps them with the customer and case they belong to, in the write's transaction)."""

    def __init__(self) -> None:
        self.kept: list[Sealed] = []

    def __call__(self, value: Any) -> Any:
        """The marker standing for `value` (None and empty text stay as they are)."""
        if value is None or value == "":
            return value
        sealed = seal(value)
        self.kept.append(sealed)
        return sealed.marker

    def fields(self, values: Mapping[str, Any], personal: Iterable[str]) -> dict[str, Any]:
        """`values` with those named in `personal` sealed."""
        names = set(personal)
        return {name: self(value) if name in names else value for name, value in values.items()}


def sealed_changes(sealer: Sealer, changed: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A customer's changes ({column: {"old", "new"}}) with the personal columns sealed."""
    return {name: {key: sealer(value) for key, value in change.items()}
            if name in PERSONAL_COLUMNS else dict(change) for name, change in changed.items()}


def refs_in_texts(payloads: Iterable[str]) -> set[str]:
    """Every reference in these stored payload texts (a cheap test first: most hold none)."""
    return {ref for text in payloads if MARK in text for ref in refs_in(orjson.loads(text))}


def shown_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """ref -> value as JSON (an erased one as {"erased": {at, by, reason}})."""
    return {ref: value.to_json() if isinstance(value, Erased) else value
            for ref, value in values.items()}
