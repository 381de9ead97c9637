"""What page and API handlers share: the running casework, the clock, and who acts in which
role."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from litestar import Request

from engine.cases.desk import ASSIGNING_ROLES
from engine.cases.offers import role_for
from engine.cases.runtime import Actor
from engine.kernel.accounts import User
from engine.wiring import Casework


def casework_of(request: Request[Any, Any, Any]) -> Casework:
    found: Casework = request.app.state.casework
    return found


def now_of(request: Request[Any, Any, Any]) -> datetime:
    return casework_of(request).settings.clock()


def acting(user: User, allowed: Iterable[str] = ()) -> Actor:
    """The role `user` acts in: one the action allows if they hold it (alphabetical first, so
    the choice is stable), else their first role that may change things
    (engine.cases.offers.role_for: the role a step is offered in is the role it fires in)."""
    return Actor(user.name, role_for(user.roles, set(allowed)))


def assignment(user: User, wanted: str | None) -> tuple[str | None, Actor]:
    """Whom an assignment form means ("me", "none" or empty, or a name), and the role the user
    acts in: their own claim needs no assigning role; handing a case to another does."""
    target = None if wanted in (None, "", "none") else user.name if wanted == "me" else wanted
    return target, assigning(user, target)


def assigning(user: User, target: str | None) -> Actor:
    """The role `user` acts in to give a case to `target` (None: to nobody)."""
    return acting(user, ASSIGNING_ROLES if target != user.name else ())
