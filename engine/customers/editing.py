"""Creating and changing a customer record by hand (the intake page, the customer pages, the
API): every value is checked and, when wrong, named with how to fix it; every change is an
event of the customer's own history (`customer.created`, `customer.updated`), written in the
transaction that writes the record."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from engine.customers.files import CUSTOMER_TYPES, STATUSES
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.history import GENESIS, CustomerEvent, EventDraft, chain_customer
from engine.kernel.personal import PERSONAL_COLUMNS, Sealed, Sealer, sealed_changes
from engine.kernel.records import CustomerHead, CustomerRecord

# What a person may write of a record; the tier is the customer_tier table's to decide.
EDITABLE = ("type", "status", "name", "email", "phone", "industry", "region", "owner")
REQUIRED = ("type", "status")
LONGEST = {"id": 100, "name": 200, "email": 200, "phone": 50, "industry": 100, "region": 100,
           "owner": 100}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_CHOICES = {"type": CUSTOMER_TYPES, "status": STATUSES}


class CustomerEdit(Protocol):
    """One transaction that writes a customer record and its history."""

    def customer_for_update(self, customer_id: str) -> CustomerRecord | None:
        """The record, locked against other writers until the transaction ends."""
    def insert_customer(self, record: CustomerRecord) -> None:
        """Add the record; InvalidInput('id') if another transaction took the id meanwhile."""
    def update_customer(self, head: CustomerHead, changes: Mapping[str, Any],
                        events: Sequence[CustomerEvent], at: datetime) -> None:
        """Write changed attributes of a customer and the events that record them."""
    def append_customer_events(self, events: Sequence[CustomerEvent]) -> None: ...
    def keep_personal(self, sealed: Sequence[Sealed], customer_id: str | None,
                      case_id: int | None, at: datetime) -> None:
        """Put sealed personal values in the vault (engine/kernel/personal.py)."""
    def exists(self, kind: str, key: Any) -> bool:
        """Whether a 'user' (active) or 'customer' with this key exists."""
    def customer_with_email(self, address: str) -> str | None:
        """The id of the customer with this email address (compared without case; the oldest
        if several share it), or None."""


class CustomerEdits(Protocol):
    def editing(self) -> AbstractContextManager[CustomerEdit]: ...


def checked_id(customer_id: str) -> str:
    """A new customer's id as it will be stored, or InvalidInput('id') saying what is wrong."""
    text = customer_id.strip()
    if not text:
        raise InvalidInput("id", "is empty; give the customer an id, e.g. C1024")
    if len(text) > LONGEST["id"]:
        raise InvalidInput("id", f"is {len(text)} characters long; the most is {LONGEST['id']}")
    if not _ID.fullmatch(text):
        raise InvalidInput("id", f"'{text}' may hold letters, digits, '.', '_' and '-' only, "
                           "starting with a letter or digit")
    return text


def checked(values: Mapping[str, str | None]) -> dict[str, str | None]:
    """`values` (by EDITABLE name) as they will be stored: trimmed, an empty text as None;
    InvalidInput naming the first wrong one."""
    result: dict[str, str | None] = {}
    for name, value in values.items():
        if name not in EDITABLE:
            raise InvalidInput(name, f"is not a customer field a person may set (they are "
                               f"{', '.join(EDITABLE)})")
        text = (value or "").strip() or None
        if text is None:
            if name in REQUIRED:
                raise InvalidInput(name, f"is required: one of {', '.join(_CHOICES[name])}")
        elif name in _CHOICES and text not in _CHOICES[name]:
            raise InvalidInput(name, f"'{text}' is not one of {', '.join(_CHOICES[name])}")
        elif len(text) > LONGEST.get(name, 100):
            raise InvalidInput(name, f"is {len(text)} characters long; the most is "
                               f"{LONGEST.get(name, 100)}")
        elif name == "email" and not _EMAIL.fullmatch(text):
            raise InvalidInput(name, f"'{text}' is not an email address (name@example.com)")
        elif name == "phone" and (not _PHONE.fullmatch(text)
                                  or sum(c.isdigit() for c in text) < 3):
            raise InvalidInput(name, f"'{text}' is not a phone number: digits, spaces and "
                               "+ ( ) - . / only, at least 3 digits")
        result[name] = text
    return result


class CustomerEditor:
    """Creates and changes customer records through a CustomerEdits store."""

    def __init__(self, store: CustomerEdits, sender_key: Callable[[], str]) -> None:
        self.store = store
        # keys the ids of customers made for new senders: an id made from the address alone
        # would tell anyone who knows the address that the person wrote to us, even after the
        # address is erased
        self.sender_key = sender_key

    def create(self, customer_id: str, values: Mapping[str, str | None], actor: str,
               role: str | None, at: datetime) -> CustomerRecord:
        """A new customer (type personal and status active unless given)."""
        key = checked_id(customer_id)
        given = checked({"type": "personal", "status": "active", **values})
        with self.store.editing() as tx:
            if tx.customer_for_update(key) is not None:
                raise InvalidInput("id", f"customer '{key}' exists already; pick it, or choose "
                                   "another id")
            self._check_owner(tx, given)
            fields: dict[str, Any] = dict.fromkeys(EDITABLE) | given
            sealer = Sealer()
            events = chain_customer(key, 0, GENESIS, [EventDraft("customer.created", {
                "fields": sealer.fields({k: v for k, v in fields.items() if v is not None},
                                        PERSONAL_COLUMNS)})], actor, role, at)
            record = CustomerRecord(id=key, tier=None, reviewed_at=None, created_at=at,
                                    updated_at=at, history_seq=events[-1].seq,
                                    history_head=events[-1].hash, **fields)
            tx.insert_customer(record)
            tx.append_customer_events(events)
            tx.keep_personal(sealer.kept, key, None, at)
            return record

    def update(self, customer_id: str, changes: Mapping[str, str | None], actor: str,
               role: str | None, at: datetime) -> CustomerRecord:
        """The customer with `changes` made; nothing is written when nothing changes."""
        given = checked(changes)
        with self.store.editing() as tx:
            record = tx.customer_for_update(customer_id)
            if record is None:
                raise NotFound(f"customer '{customer_id}' does not exist")
            self._check_owner(tx, given)
            moved = {name: {"old": getattr(record, name), "new": value}
                     for name, value in given.items() if getattr(record, name) != value}
            if not moved:
                return record
            sealer = Sealer()
            events = chain_customer(record.id, record.history_seq, record.history_head,
                                    [EventDraft("customer.updated",
                                                {"changed": sealed_changes(sealer, moved)})],
                                    actor, role, at)
            tx.keep_personal(sealer.kept, record.id, None, at)
            values = {k: v["new"] for k, v in moved.items()}
            tx.update_customer(CustomerHead(record.id, record.tier, None, events[-1].seq,
                                            events[-1].hash), values, events, at)
            return replace(record, **values, updated_at=at, history_seq=events[-1].seq,
                           history_head=events[-1].hash)

    def for_sender(self, address: str, name: str | None, actor: str, role: str | None,
                   at: datetime) -> tuple[str, bool]:
        """The customer a mail or a web form comes from: the one with this email address, else
        a new potential customer with it (id `mail-` and a keyed digest of the address, so that
        two intakes of one new sender, or one repeated after a crash, make one customer, and
        nobody without the installation's secret can tell whose address it was made from).
        Returns the customer's id, and whether it was created now."""
        email = checked({"email": address})["email"]
        if email is None:
            raise InvalidInput("email", "is empty; a sender needs an email address")
        with self.store.editing() as tx:
            found = tx.customer_with_email(email)
        if found is not None:
            return found, False
        key = "mail-" + hmac.new(self.sender_key().encode(), email.lower().encode(),
                                 hashlib.sha256).hexdigest()[:16]
        values = {"email": email, "status": "potential",
                  "name": (name or "").strip()[:LONGEST["name"]] or None}
        try:
            return self.create(key, values, actor, role, at).id, True
        except InvalidInput as taken:  # created a moment ago by another intake of this sender
            if taken.field != "id":
                raise
            return key, False

    @staticmethod
    def _check_owner(tx: CustomerEdit, given: Mapping[str, str | None]) -> None:
        owner = given.get("owner")
        if owner is not None and not tx.exists("user", owner):
            raise InvalidInput("owner", f"there is no active user '{owner}'; the owner is the "
                               "account manager's user name (casework users add)")
