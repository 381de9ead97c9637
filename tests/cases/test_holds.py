"""Legal holds (engine/cases/holds.py, engine/store/holds.py): placed and released by managers
and admins with a reason, each logged in the protection log, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.cases.context import Actor
from engine.kernel.errors import InvalidInput, NotFound, RoleRefused
from engine.kernel.protection import Act, check_entries
from engine.store.protection_log import SqlProtectionLog
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers

MANAGER = Actor("max", "manager")
ADMIN = Actor("root", "admin")


def complaint(casework: Casework, customer: str = "C1") -> int:
    case = casework.runtime.start("complaint", {"channel": "phone", "summary": "Invoice wrong"},
                                  Actor("ann", "agent"), T0, customer=customer)
    return case.id


def test_a_hold_on_a_customer_holds_their_cases_until_released(casework: Casework) -> None:
    add_test_customers(casework)
    case_id, other = complaint(casework, "C1"), complaint(casework, "C7")
    hold = casework.holds.place(MANAGER, "C1", None, "claim 2026/17 pending", T0)
    assert hold.active and hold.subject == "customer C1"
    assert casework.holds.on_case(case_id) == [hold]
    assert casework.holds.on_case(other) == []
    assert casework.holds.on_customer("C1") == [hold]
    on_case = casework.holds.place(ADMIN, None, other, "  court order 5  ", T0)
    assert on_case.reason == "court order 5"
    assert [h.id for h in casework.holds.listing(active_only=True)] == [hold.id, on_case.id]
    released = casework.holds.release(MANAGER, hold.id, "claim settled", T0 + timedelta(days=1))
    assert (released.released_by, released.release_reason) == ("max", "claim settled")
    assert casework.holds.on_case(case_id) == []
    assert [h.id for h in casework.holds.listing(active_only=True)] == [on_case.id]
    assert len(casework.holds.listing()) == 2
    entries = SqlProtectionLog(casework.database).entries()
    assert [(e.act, e.subject, e.actor, e.reason) for e in entries] == [
        (Act.HOLD_PLACED, "C1", "max", "claim 2026/17 pending"),
        (Act.HOLD_PLACED, str(other), "root", "court order 5"),
        (Act.HOLD_RELEASED, "C1", "max", "claim settled")]
    assert check_entries(entries) is None


def test_bad_holds_are_refused_and_change_nothing(casework: Casework) -> None:
    add_test_customers(casework)
    case_id = complaint(casework)
    with pytest.raises(RoleRefused, match="role 'supervisor' may not place a legal hold"):
        casework.holds.place(Actor("sam", "supervisor"), "C1", None, "why", T0)
    with pytest.raises(InvalidInput, match="either a customer or a case"):
        casework.holds.place(MANAGER, "C1", case_id, "why", T0)
    with pytest.raises(InvalidInput, match="say why"):
        casework.holds.place(MANAGER, "C1", None, "  ", T0)
    with pytest.raises(NotFound, match="customer 'NOBODY' does not exist"):
        casework.holds.place(MANAGER, "NOBODY", None, "why", T0)
    with pytest.raises(NotFound, match="case 999 does not exist"):
        casework.holds.place(MANAGER, None, 999, "why", T0)
    with pytest.raises(NotFound, match="there is no hold 5"):
        casework.holds.release(MANAGER, 5, "why", T0)
    assert casework.holds.listing() == []
    assert SqlProtectionLog(casework.database).entries() == []
    hold = casework.holds.place(MANAGER, None, case_id, "why", T0)
    casework.holds.release(MANAGER, hold.id, "done", T0)
    with pytest.raises(InvalidInput, match=f"hold {hold.id} on case {case_id} was released"):
        casework.holds.release(MANAGER, hold.id, "again", T0)
    with pytest.raises(RoleRefused):
        casework.holds.release(Actor("ann", "agent"), hold.id, "why", T0)
    assert len(SqlProtectionLog(casework.database).entries()) == 2
