"""The JSON API under /api for other systems: token authentication, the pages' role rules.
Each module holds one area's operations (docs/api.md describes them)."""

from typing import Any

from web.api import audit, cases, customers, tables
from web.api.common import SECURITY_SCHEMES

ROUTES: list[Any] = [*cases.ROUTES, *customers.ROUTES, *tables.ROUTES, *audit.ROUTES]

__all__ = ["ROUTES", "SECURITY_SCHEMES"]
