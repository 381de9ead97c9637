"""Who may do what: the roles people hold, and the one table of what each permission needs.

Page guards, API guards, the navigation and the engine's own checks all read `PERMISSIONS`;
no other place lists roles for a purpose. An admin holds every permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ACCOUNT_MANAGER = "account_manager"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    READ_CASES = "read_cases"  # queues, case pages, customers' cases
    WORK_CASES = "work_cases"  # fire steps, comment, claim a case for oneself
    ASSIGN_CASES = "assign_cases"  # hand a case to someone else
    READ_CUSTOMERS = "read_customers"
    EDIT_CUSTOMERS = "edit_customers"  # create a customer record (intake), change its details
    READ_RULES = "read_rules"  # decision tables, workflows, their versions and tests
    EDIT_RULES = "edit_rules"  # validate, simulate and publish tables
    AUDIT = "audit"  # search, verify and export histories
    VIEW_DASHBOARDS = "view_dashboards"
    PROTECT_DATA = "protect_data"  # export and erase a customer's personal data, legal holds
    ADMINISTER = "administer"  # users, their roles and passwords, API tokens: admins only


ROLES: frozenset[str] = frozenset(r.value for r in Role)  # the names a workflow may use
# Roles that read and change nothing: a transition may not name them, and they fire nothing.
READ_ONLY_ROLES: frozenset[Role] = frozenset({Role.AUDITOR})
_WORKERS = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ACCOUNT_MANAGER, Role.MANAGER})
PERMISSIONS: Mapping[Permission, frozenset[Role]] = {
    Permission.READ_CASES: _WORKERS | READ_ONLY_ROLES,
    Permission.WORK_CASES: _WORKERS,
    Permission.ASSIGN_CASES: frozenset({Role.SUPERVISOR, Role.MANAGER}),
    Permission.READ_CUSTOMERS: _WORKERS | READ_ONLY_ROLES,
    Permission.EDIT_CUSTOMERS: _WORKERS,
    Permission.READ_RULES: frozenset({Role.MANAGER, Role.SUPERVISOR, Role.AUDITOR}),
    Permission.EDIT_RULES: frozenset({Role.MANAGER}),
    Permission.AUDIT: frozenset({Role.AUDITOR, Role.MANAGER}),
    Permission.VIEW_DASHBOARDS: frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ACCOUNT_MANAGER,
                                           Role.AUDITOR}),
    Permission.PROTECT_DATA: frozenset({Role.MANAGER}),
    Permission.ADMINISTER: frozenset(),  # holders() adds the admin, as to every permission
}


def holders(permission: Permission) -> frozenset[Role]:
    """Every role that holds `permission`, admin included."""
    return PERMISSIONS[permission] | {Role.ADMIN}


def may(roles: Iterable[str], permission: Permission) -> bool:
    """Whether someone holding `roles` holds `permission`."""
    return not holders(permission).isdisjoint(roles)
