"""web.errors: the HTTP status of a domain error is chosen by its class."""

from __future__ import annotations

import pytest
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from engine.kernel.errors import Conflict, NotFound, Refusal, RoleRefused, TransitionRefused
from web.errors import error_json, status_of


@pytest.mark.parametrize(("error", "status"), [
    (RoleRefused("approve", "role 'agent' may not fire it"), HTTP_403_FORBIDDEN),
    (TransitionRefused("approve", Refusal.GUARD, "condition not met"),
     HTTP_422_UNPROCESSABLE_ENTITY),
    (TransitionRefused("approve", Refusal.STATE, "case 1 is closed"),
     HTTP_422_UNPROCESSABLE_ENTITY),
    (Conflict(1, 2, 3), HTTP_409_CONFLICT),
    (NotFound("no case 9"), HTTP_404_NOT_FOUND),
])
def test_status_by_class(error: Exception, status: int) -> None:
    assert status_of(error) == status == status_of(error, api=True)


def test_a_refusal_body_names_the_trigger_and_the_reason() -> None:
    body = error_json(RoleRefused("assign", "role 'auditor' is read-only"), HTTP_403_FORBIDDEN)
    assert (body["trigger"], body["reason"], body["status"]) == ("assign", "role", 403)
