"""One `transitions.Machine` per workflow version; cases are attached to fire and detached after.

The machine holds no case: a case's state lives in its row. `move` hands the trigger's event a
throw-away model in the case's state and reads the state it reaches: `Event.trigger(model)` runs
the machine's transition on any object with a `state`, without `add_model` binding every trigger
and state check onto it (which cost more than the transition), so nothing about a case stays in
memory between fires.
"""

from __future__ import annotations

from typing import Any

from transitions import Machine, MachineError

from engine.kernel.specs import WorkflowSpec


class _CaseModel:
    """What `transitions` sees of a case while it is attached: only its state."""

    state: str


class WorkflowMachine:
    """The state machine of one workflow version, built once and shared by all its cases."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self._machine: Any = Machine(
            model=None,
            states=list(spec.states),
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                for t in spec.transitions
            ],
            initial=spec.initial.name,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    def move(self, state: str, trigger: str) -> str:
        """The state a case in `state` reaches by `trigger`; MachineError if it cannot."""
        if state not in self.spec.states or trigger not in self.spec.triggers:
            raise MachineError(f"cannot fire '{trigger}' from state '{state}': "
                               "no such trigger or state")
        model = _CaseModel()
        model.state = state
        self._machine.events[trigger].trigger(model)
        return model.state

    def triggers(self, state: str) -> list[str]:
        """The triggers the machine knows from `state`, in definition order."""
        return list(self._machine.get_triggers(state))


__all__ = ["MachineError", "WorkflowMachine"]
