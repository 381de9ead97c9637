"""Creating and changing customer records by hand: every value checked and named, every change
a link of the customer's history chain."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from engine.customers.editing import checked, checked_id
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.history import verify
from engine.wiring import Casework
from tests.fixtures import SECRET, T0


@pytest.mark.parametrize(("given", "field", "says"), [
    ({"type": "company"}, "type", "not one of personal, enterprise"),
    ({"status": ""}, "status", "is required"),
    ({"email": "not-an-address"}, "email", "not an email address"),
    ({"phone": "call me"}, "phone", "not a phone number"),
    ({"phone": "12"}, "phone", "at least 3 digits"),
    ({"name": "x" * 201}, "name", "the most is 200"),
    ({"tier": "strategic"}, "tier", "not a customer field a person may set"),
])
def test_a_wrong_value_is_named_with_how_to_fix_it(given: dict[str, str], field: str,
                                                   says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as refused:
        checked(given)
    assert refused.value.field == field


@pytest.mark.parametrize("bad", ["", "  ", "has space", "-leading", "x" * 101, "a/b"])
def test_a_customer_id_is_one_a_link_can_hold(bad: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_id(bad)
    assert refused.value.field == "id"


def test_values_are_trimmed_and_an_empty_one_is_none() -> None:
    assert checked({"name": "  Li Na ", "email": "", "phone": "+86 138-0013 8000"}) == {
        "name": "Li Na", "email": None, "phone": "+86 138-0013 8000"}


def test_create_then_update_chains_the_customer_history(casework: Casework) -> None:
    editor = casework.customer_editor
    made = editor.create("N1", {"name": "Li Na", "email": "li.na@example.com"}, "ann", "agent",
                         T0)
    assert (made.type, made.status, made.tier) == ("personal", "active", None)
    changed = editor.update("N1", {"phone": "+86 138 0013 8000", "name": "Li Na"}, "ann",
                            "agent", T0)
    assert changed.phone == "+86 138 0013 8000"
    unchanged = editor.update("N1", {"name": "Li Na"}, "ann", "agent", T0)
    assert unchanged.history_seq == changed.history_seq == 2  # nothing changed: no event
    events = casework.customers.history("N1")
    assert [e.name for e in events] == ["customer.created", "customer.updated"]
    # the phone is personal: the history holds a marker, the vault the number
    changes = json.loads(events[1].payload)["changed"]
    assert list(changes) == ["phone"] and changes["phone"]["old"] is None
    ref = changes["phone"]["new"]["$personal"]
    assert casework.personal_data.values([ref]) == {ref: "+86 138 0013 8000"}
    assert "Li Na" not in events[0].payload and "li.na@" not in events[0].payload
    stored = casework.customers.customer("N1").record
    assert stored == changed
    assert verify("N1", events, stored.history_seq, stored.history_head,
                  kind="customer") is None


def test_a_taken_id_an_unknown_owner_and_an_unknown_customer_are_refused(
        casework: Casework) -> None:
    editor = casework.customer_editor
    editor.create("N2", {}, "ann", "agent", T0)
    with pytest.raises(InvalidInput, match="exists already") as taken:
        editor.create("N2", {}, "ann", "agent", T0)
    assert taken.value.field == "id"
    with pytest.raises(InvalidInput, match="no active user 'nobody'"):
        editor.update("N2", {"owner": "nobody"}, "ann", "agent", T0)
    with pytest.raises(NotFound):
        editor.update("N404", {"name": "x"}, "ann", "agent", T0)
    assert casework.customers.customer("N2").record.owner is None


def test_a_sender_is_found_by_address_whatever_its_case_else_made_once(
        casework: Casework) -> None:
    editor = casework.customer_editor
    editor.create("N2", {"email": "Wang.Fang@Example.com"}, "ann", "agent", T0)
    assert editor.for_sender("wang.fang@example.COM", "Wang Fang", "mail", None, T0) == (
        "N2", False)
    made, created = editor.for_sender("  new.one@example.org ", "New One", "mail", None, T0)
    record = casework.customers.customer(made).record
    assert created and made.startswith("mail-")
    assert (record.status, record.email, record.name) == ("potential", "new.one@example.org",
                                                         "New One")
    assert editor.for_sender("NEW.ONE@example.org", None, "web", None, T0) == (made, False)
    # the id is keyed by the installation's secret: the address alone does not give it
    unkeyed = hashlib.sha256(b"new.one@example.org").hexdigest()[:16]
    assert made != "mail-" + unkeyed
    assert made == "mail-" + hmac.new(SECRET.encode(), b"new.one@example.org",
                                      hashlib.sha256).hexdigest()[:16]
    with pytest.raises(InvalidInput, match="not an email address"):
        editor.for_sender("nobody", None, "mail", None, T0)
