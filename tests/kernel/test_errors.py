"""engine.kernel.errors: refusals say what refused them, and a role refusal is its own class."""

from __future__ import annotations

import pytest

from engine.kernel.errors import Refusal, RoleRefused, TransitionRefused


def test_a_role_refusal_is_a_transition_refused_for_a_role() -> None:
    refused = RoleRefused("approve", "role 'agent' may not fire it (allowed: supervisor)")
    assert isinstance(refused, TransitionRefused)
    assert (refused.trigger, refused.reason) == ("approve", Refusal.ROLE)
    assert str(refused) == ("'approve' refused (role): role 'agent' may not fire it "
                            "(allowed: supervisor)")


@pytest.mark.parametrize("reason", [r for r in Refusal if r is not Refusal.ROLE])
def test_other_refusals_keep_their_reason(reason: Refusal) -> None:
    refused = TransitionRefused("triage", reason, "because")
    assert (refused.reason, isinstance(refused, RoleRefused)) == (reason, False)
    assert str(refused) == f"'triage' refused ({reason.value}): because"


def test_a_role_refusal_cannot_be_raised_as_the_plain_class() -> None:
    """The edge answers 403 by the class, so a plain TransitionRefused for a role would be
    answered as invalid input."""
    with pytest.raises(TypeError, match="raise RoleRefused"):
        TransitionRefused("approve", Refusal.ROLE, "role 'agent' may not")


def test_the_reasons_are_the_words_the_api_gives() -> None:
    assert list(Refusal) == ["trigger", "state", "role", "guard", "field"]
