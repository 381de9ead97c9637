"""The JSON API under /api for other systems: token authentication, the pages' permissions.
Each module holds one area's operations and its Router (docs/api.md describes them)."""

from web.api import audit, cases, conversation, customers, notifications, personal_data, tables
from web.api.common import SECURITY_SCHEMES

ROUTERS = [cases.ROUTER, conversation.ROUTER, customers.ROUTER, tables.ROUTER, audit.ROUTER,
           notifications.ROUTER, personal_data.ROUTER]

__all__ = ["ROUTERS", "SECURITY_SCHEMES"]
