"""Workflow definitions as immutable specs, loaded once and shared by every case that uses them.

A spec never holds case data; a case holds only its workflow name, version, state and fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from engine.kernel.expressions import Expression
from engine.kernel.fields import FieldSpec

# What `case.<name>` means besides the declared fields; a field may not reuse these names.
CASE_ATTRIBUTES = frozenset(
    {"id", "state", "workflow", "version", "queue", "assignee", "customer", "created_at",
     "updated_at", "closed_at"}
)
# What `customer.<name>` offers in a case's expressions: the customer's record and the figures
# of its latest recompute (engine.cases.facts reads them; a value not known is left out, so that
# `has(customer.tier)` means "is set"). `rfm` is {r, f, m}, the scores as a customer decision
# table takes them.
CUSTOMER_RECORD_FACTS = ("id", "type", "status", "name", "email", "phone", "industry", "region",
                         "owner", "tier", "reviewed_at", "created_at")
CUSTOMER_FIGURE_FACTS = ("as_of", "recency_days", "frequency", "monetary", "revenue_12m",
                         "revenue_share", "years_active", "r_score", "f_score", "m_score",
                         "p_alive", "expected_purchases", "expected_spend", "clv", "churn_risk")
CUSTOMER_ATTRIBUTES = frozenset({*CUSTOMER_RECORD_FACTS, *CUSTOMER_FIGURE_FACTS, "rfm"})
# A customer's figures (engine.customers.figures), by CEL type: what customer decision tables may
# read.
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
ACTOR_ATTRIBUTES = frozenset({"name", "role"})
# The conversation's signals (engine.cases.conversation): a message from the customer, and ours
# to the customer; and a survey's answer (engine.channels.surveys). SLA clocks may start and stop
# on them as on triggers; a transition `on:` one is fired by the engine when such a message is
# recorded (on `survey_answered`: the first whose guard passes, given the score and comment).
SIGNALS = ("message_in", "message_out", "survey_answered")
# Signals that may leave one state by several transitions, the first whose guard passes firing.
SIGNALS_BY_GUARD = frozenset({"survey_answered"})
# The surveys a `survey:` action sends: CSAT (1-5, after a complaint) and NPS (0-10).
SURVEY_KINDS = ("csat", "nps")
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
    """`decide: TABLE`: run a decision table; its outputs set case fields (or the queue).
    With `when:` it decides only when that holds (e.g. a field changed since `before`)."""

    table: str
    bindings: Mapping[str, Expression] = field(default_factory=dict)  # input -> CEL (`with:`)
    line: int = 0
    when: Expression | None = None


@dataclass(frozen=True)
class CustomerAction:
    """`update_customer: {attribute: CEL}`: write the case's customer's record (status,
    reviewed_at, owner, contact data), recorded in the case's and the customer's history."""

    values: Mapping[str, Expression]
    line: int = 0


@dataclass(frozen=True)
class MeasureAction:
    """`measure: CEL year`: compute the customer's KPIs for that calendar year from stored
    purchases and complaints, and set the case's `actual_<kpi>` and `attainment_<kpi>` fields
    against its `goal_<kpi>` fields."""

    year: Expression
    line: int = 0


@dataclass(frozen=True)
class MailAction:
    """`mail: TEMPLATE`: mail the case's customer from the workflow's mail template of that name
    (workflows/mail/<workflow>/<template>.<language>.txt), queued in the outbox in the same
    transaction; a customer without an email address gets nothing, and the history says so."""

    template: str
    line: int = 0


@dataclass(frozen=True)
class SurveyAction:
    """`survey: csat|nps`: send the case's customer a link to a survey (engine.channels.surveys);
    its answer is the `survey_answered` signal on the case."""

    kind: str
    line: int = 0


Action = (SetAction | AssignAction | DecideAction | CustomerAction | MeasureAction
          | MailAction | SurveyAction)

# What `update_customer` may write on a customer record, as the field it is coerced as.
CUSTOMER_WRITABLE: dict[str, FieldSpec] = {
    "status": FieldSpec("status", "enum", values=("potential", "active", "dormant", "lost")),
    "type": FieldSpec("type", "enum", values=("personal", "enterprise")),
    "reviewed_at": FieldSpec("reviewed_at", "datetime"),
    "owner": FieldSpec("owner", "user"),
    "name": FieldSpec("name", "text", max_length=200),
    "email": FieldSpec("email", "text", max_length=200),
    "phone": FieldSpec("phone", "text", max_length=50),
    "industry": FieldSpec("industry", "text", max_length=100),
    "region": FieldSpec("region", "text", max_length=100),
}
# The annual KPIs `measure` computes (engine.customers.kpis); a case keeps
# goal_/actual_/attainment_<kpi>.
KPIS = ("sales_growth", "satisfaction", "retention", "repeat_purchase_rate", "nps")


@dataclass(frozen=True)
class StartSpec:
    """`starts:`: open a case of this workflow for a customer when one of its events happens
    and `when` holds (never a second one while one is open for that customer)."""

    on: str
    when: Expression | None = None
    fields: Mapping[str, Expression] = field(default_factory=dict)  # `set:` field -> CEL
    line: int = 0


@dataclass(frozen=True)
class ReactSpec:
    """`reacts:`: fire `fire` on the customer's open case of this workflow when one of the
    customer's events happens and `when` holds (a plan hands over when its tier is left)."""

    on: str
    fire: str
    when: Expression | None = None
    line: int = 0


@dataclass(frozen=True)
class Delay:
    """How long a timer waits: calendar time, or business time on a calendar (business days
    count whole working days: the same business moment N working days on)."""

    amount: timedelta
    business: bool = False
    days: int = 0  # "N business days": working days, amount is 0

    def __str__(self) -> str:
        if self.days:
            return f"{self.days} business day{'s' if self.days != 1 else ''}"
        return f"{_hours(self.amount)}{' business' if self.business else ''}"


def _hours(amount: timedelta) -> str:
    minutes = int(amount.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes % 60 else f"{minutes // 60}h"


@dataclass(frozen=True)
class TimerSpec:
    """`timers:`: fire `fire` on a case that has stayed in `state` for `after` (or until the
    instant `at` computes). Armed on entering the state, disarmed on leaving it."""

    name: str
    state: str
    fire: str
    after: Delay | None = None
    after_expression: Expression | None = None  # CEL giving a duration
    at: Expression | None = None  # CEL giving a timestamp
    calendar: str | None = None  # for business time; else the workflow's sla calendar
    line: int = 0


@dataclass(frozen=True)
class ClockSpec:
    """One SLA clock: when it runs, pauses and stops, and its target (CEL, in hours or a
    duration, read from the case each time the case changes)."""

    name: str
    target: Expression
    start_on: tuple[str, ...] = ()  # triggers; empty with start_in empty: from creation
    start_in: tuple[str, ...] = ()
    stop_on: tuple[str, ...] = ()
    stop_in: tuple[str, ...] = ()
    pause_in: tuple[str, ...] = ()
    business: Expression | None = None  # CEL bool; None: business time
    calendar: str | None = None
    calendar_expression: Expression | None = None  # CEL naming a calendar (e.g. by tier)
    warn_at: float | None = None
    line: int = 0
    # triggers or signals on which a running clock is met (or breached) and a new round starts
    # at once: a periodic update counts the time between our messages
    restart_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlaSpec:
    """`sla:`: the clocks of a workflow and the ladder that escalates them."""

    clocks: tuple[ClockSpec, ...]
    calendar: str | None = None
    warn_at: float = 0.8
    escalate_at: tuple[float, ...] = ()  # further lateness steps past the breach, e.g. 1.5
    on_warn: str | None = None  # decision tables deciding the escalation
    on_breach: str | None = None
    line: int = 0

    def steps(self, clock: ClockSpec) -> tuple[float, ...]:
        """The lateness at which the clock is looked at: warning, breach, the further steps."""
        warn = clock.warn_at if clock.warn_at is not None else self.warn_at
        return tuple(sorted({warn, 1.0, *self.escalate_at}))


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
    asks: tuple[str, ...] = ()  # fields the firer must give in this very fire (fresh input)
    message: str | None = None  # what a refusal by `when` says ("Only a supervisor ...")
    on: str | None = None  # a conversation signal (message_in) on which the engine fires it

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every field a firer may give: what it asks and needs, then what it accepts."""
        first = self.asks + tuple(f for f in self.needs if f not in self.asks)
        return first + tuple(f for f in self.accepts if f not in first)


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
    timers: tuple[TimerSpec, ...] = ()
    sla: SlaSpec | None = None
    reacts: tuple[ReactSpec, ...] = ()
    one_open_per_customer: bool = False  # a second open case for a customer is refused
    on_start: tuple[Action, ...] = ()  # actions run when a case is opened, before its clocks
    approval: bool = False  # `approval: required`: a publish waits for a second manager
    _by_source: dict[tuple[str, str], TransitionSpec] = field(
        init=False, repr=False, compare=False
    )
    # the customer's facts some expression reads (beyond its id): a fire loads them only then
    customer_facts: frozenset[str] = field(init=False, repr=False, compare=False)
    # the fields declared `personal: true`: kept apart from the history (engine.kernel.personal)
    personal: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {(t.trigger, s): t for t in self.transitions for s in t.sources}
        object.__setattr__(self, "_by_source", table)
        object.__setattr__(self, "personal",
                           frozenset(name for name, f in self.fields.items() if f.personal))
        read = {member for expression in self.expressions()
                for member in expression.members.get("customer", ())}
        object.__setattr__(self, "customer_facts", frozenset(read - {"id"}))

    def expressions(self) -> list[Expression]:
        """Every expression a case of this workflow evaluates (not the starts', which read the
        customer's event)."""
        found: list[Expression | None] = []
        for actions in (self.on_start, *(t.actions for t in self.transitions)):
            found += [e for action in actions for e in _action_expressions(action)]
        found += [t.when for t in self.transitions]
        found += [e for t in self.timers for e in (t.after_expression, t.at)]
        for clock in self.sla.clocks if self.sla else ():
            found += [clock.target, clock.business, clock.calendar_expression]
        return [e for e in found if e is not None]

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


def _action_expressions(action: Action) -> list[Expression | None]:
    if isinstance(action, SetAction):
        return [action.expression]
    if isinstance(action, AssignAction):
        return [action.expression]
    if isinstance(action, DecideAction):
        return [*action.bindings.values(), action.when]
    if isinstance(action, CustomerAction):
        return list(action.values.values())
    if isinstance(action, MailAction | SurveyAction):
        return []
    return [action.year]
