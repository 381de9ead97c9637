"""engine.kernel.roles: the one table of who may do what."""

from __future__ import annotations

import pytest

from engine.kernel.roles import PERMISSIONS, READ_ONLY_ROLES, Permission, Role, holders, may


def test_every_permission_is_in_the_table_and_admin_holds_each() -> None:
    assert set(PERMISSIONS) == set(Permission)
    assert all(Role.ADMIN in holders(p) for p in Permission)


@pytest.mark.parametrize(("roles", "permission", "expected"), [
    (["agent"], Permission.WORK_CASES, True),
    (["agent"], Permission.ASSIGN_CASES, False),
    (["auditor"], Permission.READ_CASES, True),
    (["auditor"], Permission.WORK_CASES, False),
    (["auditor", "supervisor"], Permission.ASSIGN_CASES, True),
    (["account_manager"], Permission.READ_RULES, False),
    (["manager"], Permission.EDIT_RULES, True),
    (["supervisor"], Permission.EDIT_RULES, False),
    (["admin"], Permission.AUDIT, True),
    ([], Permission.READ_CASES, False),
])
def test_may_reads_the_table(roles: list[str], permission: Permission, expected: bool) -> None:
    assert may(roles, permission) is expected


def test_a_read_only_role_changes_nothing() -> None:
    changing = (Permission.WORK_CASES, Permission.ASSIGN_CASES, Permission.EDIT_RULES)
    assert not any(READ_ONLY_ROLES & PERMISSIONS[p] for p in changing)
