"""The JSON API under /api for other systems: token authentication, the pages' role rules."""

from typing import Any

ROUTES: list[Any] = []
