"""The steps a person may take on a case now: the transitions one of their roles may fire from
the case's state whose guard does not refuse them. A page shows buttons only for these.

A guard is judged before anything is filled in when it reads only what the case holds, who
acts and the time; a step whose guard refuses is not offered at all. A guard that reads a field
the step's own form sets (triage's severity) cannot be judged until the form is filled: that
step is offered with the guard's message as a hint, and the fire judges it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.cases.runtime import Actor, Runtime, case_values, context_for
from engine.kernel.errors import ExpressionError
from engine.kernel.records import CaseRecord
from engine.kernel.roles import READ_ONLY_ROLES
from engine.kernel.specs import TransitionSpec


@dataclass(frozen=True)
class Offer:
    """A step offered: the transition, the role it is fired in, and what its guard asks when
    the form's values decide it (None: nothing to say)."""

    transition: TransitionSpec
    role: str
    hint: str | None = None


def role_for(roles: Sequence[str], allowed: Collection[str] = ()) -> str:
    """The role someone holding `roles` acts in: the first they hold that `allowed` names,
    else their first role that may change things (their first role if none may)."""
    usable = [r for r in roles if r not in READ_ONLY_ROLES]
    for role in usable:
        if role in allowed:
            return role
    return usable[0] if usable else roles[0]


def reads_form(transition: TransitionSpec) -> bool:
    """Whether the transition's guard reads a field its form sets."""
    read = transition.when.members.get("case", frozenset()) if transition.when else frozenset()
    return not read.isdisjoint(transition.inputs)


def offers(runtime: Runtime, case: CaseRecord, name: str, roles: Sequence[str],
           now: datetime) -> list[Offer]:
    """What `name`, holding `roles`, may fire on the case now (see the module's docstring)."""
    spec = runtime.registry.get(case.definition_id).spec
    values = case_values(spec, case.fields)
    found = []
    for transition in runtime.triggers_for(case, roles):
        role = role_for(roles, transition.roles)
        guard = transition.when
        if guard is None:
            found.append(Offer(transition, role))
        elif reads_form(transition):
            found.append(Offer(transition, role, transition.message))
        else:
            try:
                allowed = guard.evaluate(context_for(guard, spec, case, values,
                                                     Actor(name, role), now)) is True
            except ExpressionError:  # the fire would be refused for it too
                allowed = False
            if allowed:
                found.append(Offer(transition, role))
    return found
