"""Workflow definitions as immutable specs, loaded once and shared by every case that uses them.

A spec never holds case data; a case holds only its workflow name, version, state and fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.expressions import Expression
from engine.fields import FieldSpec

ROLES = frozenset({"agent", "supervisor", "account_manager", "manager", "auditor", "admin"})
# What `case.<name>` means besides the declared fields; a field may not reuse these names.
CASE_ATTRIBUTES = frozenset(
    {"id", "state", "workflow", "version", "queue", "assignee", "customer", "created_at",
     "updated_at", "closed_at"}
)
# What `customer.<name>` offers in a case's expressions.
CUSTOMER_ATTRIBUTES = frozenset({"id"})
# A customer's figures (engine.figures), by CEL type: what customer decision tables may read.
CUSTOMER_FIGURES: dict[str, str] = {
    "recency_days": "int", "frequency": "int", "monetary": "double", "revenue_12m": "double",
    "revenue_share": "double", "years_active": "double", "r_score": "int", "f_score": "int",
    "m_score": "int", "p_alive": "double", "expected_purchases": "double",
    "expected_spend": "double", "clv": "double", "type": "string", "status": "string",
}
# The figures a recompute keeps per customer (customer_figures), in the order it writes them.
STORED_FIGURES = tuple(name for name in CUSTOMER_FIGURES if name not in ("type", "status"))
# Customer events that may start cases (`starts:`), and what `customer.<name>` offers there.
START_EVENTS = frozenset({"customer.tier_changed", "customer.churn_risk_changed"})
START_CUSTOMER_ATTRIBUTES = frozenset(
    {"id", "tier", "previous_tier", "churn_risk", "previous_churn_risk", *CUSTOMER_FIGURES}
)
# Roles that may read but never fire a transition.
READ_ONLY_ROLES = frozenset({"auditor"})
ACTOR_ATTRIBUTES = frozenset({"name", "role"})
ASSIGN_STRATEGIES = frozenset({"least_loaded", "round_robin", "nobody"})
# Case attributes a decision's outputs may set besides fields (a routing table sets the queue).
DECIDABLE_ATTRIBUTES = frozenset({"queue", "assignee"})


@dataclass(frozen=True)
class StateSpec:
    name: str
    initial: bool = False
    final: bool = False
    queue: str | None = None
    title: str | None = None
    line: int = 0


@dataclass(frozen=True)
class SetAction:
    """`set: {field: CEL}`: write a field from an expression."""

    field: str
    expression: Expression
    line: int = 0


@dataclass(frozen=True)
class AssignAction:
    """`assign:`: give the case to a user named by an expression, or picked by a strategy."""

    strategy: str  # "expression", "least_loaded", "round_robin" or "nobody"
    expression: Expression | None = None
    among: tuple[str, ...] = ("agent",)  # roles a strategy picks from
    line: int = 0


@dataclass(frozen=True)
class DecideAction:
    """`decide: TABLE`: run a decision table; its outputs set case fields (or the queue)."""

    table: str
    bindings: Mapping[str, Expression] = field(default_factory=dict)  # input -> CEL (`with:`)
    line: int = 0


Action = SetAction | AssignAction | DecideAction


@dataclass(frozen=True)
class StartSpec:
    """`starts:`: open a case of this workflow for a customer when one of its events happens
    and `when` holds (never a second one while one is open for that customer)."""

    on: str
    when: Expression | None = None
    fields: Mapping[str, Expression] = field(default_factory=dict)  # `set:` field -> CEL
    line: int = 0


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[str] = frozenset()  # empty: anyone may fire it
    needs: tuple[str, ...] = ()  # fields that must hold a value afterwards
    accepts: tuple[str, ...] = ()  # further fields the firer may fill in
    when: Expression | None = None
    actions: tuple[Action, ...] = ()
    title: str | None = None
    line: int = 0

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every field a firer may give: what it needs, then what it accepts."""
        return self.needs + tuple(f for f in self.accepts if f not in self.needs)


@dataclass(frozen=True)
class WorkflowSpec:
    """A named, versioned state machine over typed case fields."""

    name: str
    version: int
    title: str
    subject: str | None
    fields: Mapping[str, FieldSpec]
    states: Mapping[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    content_hash: str
    path: str
    starts: tuple[StartSpec, ...] = ()
    _by_source: dict[tuple[str, str], TransitionSpec] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        table = {(t.trigger, s): t for t in self.transitions for s in t.sources}
        object.__setattr__(self, "_by_source", table)

    @property
    def initial(self) -> StateSpec:
        return next(s for s in self.states.values() if s.initial)

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(t.trigger for t in self.transitions)

    def transition(self, trigger: str, state: str) -> TransitionSpec | None:
        """The transition that `trigger` fires from `state`, if there is one."""
        return self._by_source.get((trigger, state))

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        return [t for t in self.transitions if state in t.sources]
