"""/api/customers: one customer's record, figures and tier history; search by id, name, email or
phone; create a customer and change its details."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from litestar import Request
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import UNSET, Meta, Struct, UnsetType

from engine.customers.editing import LONGEST
from engine.customers.files import CUSTOMER_TYPES, STATUSES
from engine.customers.records import CustomerProfile
from engine.kernel.accounts import User
from engine.kernel.history import CustomerEvent
from engine.kernel.roles import Permission
from web.api.common import SECURITY, ApiOperation, Body, errors, said
from web.areas import area, get, patch, post
from web.common import acting, casework_of, now_of
from web.security import allow

MAX_FOUND = 200


class Figures(Struct, kw_only=True):
    """A customer's figures from the latest `casework tiers recompute`."""

    as_of: Annotated[date, Meta(description="The day the figures count up to")]
    computed_at: datetime
    recency_days: Annotated[int | None, Meta(
        description="Days since the last purchase (null: none yet)")]
    frequency: Annotated[int, Meta(description="Purchase occasions (days)")]
    monetary: Annotated[str, Meta(description="Total spend, exact, as text", examples=["12.50"])]
    revenue_12m: Annotated[str, Meta(description="Spend in the last 12 months, as text")]
    revenue_share: Annotated[float, Meta(description="Share of all customers' revenue")]
    years_active: float
    r_score: Annotated[int, Meta(description="Recency quintile 1-5 (0: no purchase yet)")]
    f_score: Annotated[int, Meta(description="Frequency quintile 1-5")]
    m_score: Annotated[int, Meta(description="Monetary quintile 1-5")]
    p_alive: Annotated[float, Meta(description="Probability the customer is still active")]
    expected_purchases: float
    expected_spend: float
    clv: Annotated[float, Meta(description="Customer lifetime value")]
    churn_risk: str | None
    tier_rule: Annotated[str | None, Meta(description="The customer_tier row that set the tier")]
    tier_table_version: Annotated[int | None, Meta(
        description="The customer_tier version that row is of")]


class CustomerEventJson(Struct, kw_only=True):
    """One event of a customer's own history (a tier change and the rule behind it, ...)."""

    seq: int
    name: Annotated[str, Meta(examples=["customer.tier_changed"])]
    actor: str
    role: str | None
    at: datetime
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class Customer(Struct, kw_only=True):
    """A customer record, its latest figures and its history."""

    id: str
    type: Annotated[str, Meta(description="personal or enterprise")]
    status: Annotated[str, Meta(description="potential, active, dormant or lost")]
    name: str | None
    email: str | None
    phone: str | None
    industry: str | None
    region: str | None
    owner: Annotated[str | None, Meta(description="The account manager")]
    tier: str | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    figures: Annotated[Figures | None, Meta(description="null until the first recompute")]
    history: Annotated[list[CustomerEventJson], Meta(description="Oldest first")]
    held: Annotated[bool, Meta(description="Under a legal hold: retention leaves every case "
                               "of theirs alone")] = False


class FoundCustomer(Struct, kw_only=True):
    """A customer a search found."""

    id: str
    name: str | None
    email: str | None
    type: str
    status: str
    tier: str | None
    owner: str | None
    region: str | None


# What engine.customers.editing.checked accepts, said in the schema (issue 20: schemathesis
# found bodies the schema allowed refused): text is trimmed first and empty text is "not known".
_PADDED = r"^\s*{}\s*$"
_KINDS = {"enum": list(CUSTOMER_TYPES)}
_STATUSES = {"enum": list(STATUSES)}
Id = Annotated[str, said("Letters, digits, '.', '_' and '-'; at most 100", ["C1024"],
                         maxLength=LONGEST["id"],
                         pattern=_PADDED.format("[A-Za-z0-9][A-Za-z0-9._-]*"))]
Kind = Annotated[str, said("personal or enterprise", **_KINDS)]
Status = Annotated[str, said("potential, active, dormant or lost", **_STATUSES)]
Name = Annotated[str | None, said("Empty or null: not known", maxLength=LONGEST["name"])]
Industry = Annotated[str | None, said("Empty or null: not known",
                                      maxLength=LONGEST["industry"])]
Region = Annotated[str | None, said("Empty or null: not known", maxLength=LONGEST["region"])]
Email = Annotated[str | None, said(None, ["li.na@example.com"], maxLength=LONGEST["email"],
                                   pattern=_PADDED.format(r"(?:[^@\s]+@[^@\s]+\.[^@\s.]+)?"))]
_PHONE = _PADDED.format(r"(?:\+?(?:[ ()./-]*[0-9]){3}[0-9 ()./-]*)?")
Phone = Annotated[str | None, said("Digits, spaces and + ( ) - . /; at least 3 digits",
                                   ["+86 138 0013 8000"], maxLength=LONGEST["phone"],
                                   pattern=_PHONE)]
Owner = Annotated[str | None, said("The account manager's user name",
                                   maxLength=LONGEST["owner"])]


class NewCustomer(Body):
    """A customer record to create; its tier is set by the customer_tier table at the next
    recompute."""

    id: Id
    type: Kind = "personal"
    status: Status = "active"
    name: Name = None
    email: Email = None
    phone: Phone = None
    industry: Industry = None
    region: Region = None
    owner: Owner = None


class CustomerChange(Body):
    """The details to change; a key left out stays as it is; null or empty clears it."""

    type: Kind | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    email: Email | UnsetType = UNSET
    phone: Phone | UnsetType = UNSET
    industry: Industry | UnsetType = UNSET
    region: Region | UnsetType = UNSET
    owner: Owner | UnsetType = UNSET


@post("/", guards=[allow(Permission.EDIT_CUSTOMERS)], status_code=HTTP_201_CREATED,
      summary="Create a customer", operation_class=ApiOperation, responses=errors(403, 422),
      response_description="The new customer")
def create_customer(request: Request[User, Any, Any], data: JSONBody[NewCustomer]) -> Customer:
    """A new customer record, with a `customer.created` event in its history. An id that is
    taken, or a value that does not fit, is a 422 naming the field."""
    casework, actor = casework_of(request), acting(request.user)
    values = {k: getattr(data, k) for k in NewCustomer.__struct_fields__ if k != "id"}
    casework.customer_editor.create(data.id, values, actor.name, actor.role, now_of(request))
    return customer_of(casework.customers.customer(data.id.strip()),
                       casework.customers.history(data.id.strip()))  # new: never held


@patch("/{customer_id:str}", guards=[allow(Permission.EDIT_CUSTOMERS)],
      status_code=HTTP_200_OK, summary="Change a customer's details",
      operation_class=ApiOperation, responses=errors(403, 404, 422),
      response_description="The customer after the change")
def update_customer(request: Request[User, Any, Any],
                    customer_id: Annotated[str, PathParameter(description="The customer id")],
                    data: JSONBody[CustomerChange]) -> Customer:
    """Change the given details; each change is recorded in a `customer.updated` event (none
    when nothing changes)."""
    casework, actor = casework_of(request), acting(request.user)
    changes = {k: getattr(data, k) for k in CustomerChange.__struct_fields__
               if getattr(data, k) is not UNSET}
    casework.customer_editor.update(customer_id, changes, actor.name, actor.role,
                                    now_of(request))
    return customer_of(casework.customers.customer(customer_id),
                       casework.customers.history(customer_id),
                       held=bool(casework.holds.on_customer(customer_id)))


@get("/{customer_id:str}",
     summary="Read a customer", operation_class=ApiOperation, responses=errors(403, 404))
def read_customer(request: Request[User, Any, Any],
                  customer_id: Annotated[str, PathParameter(description="The customer id")]
                  ) -> Customer:
    """The record, the figures of the latest recompute, and the tier history (each change with
    the table row that made it)."""
    casework = casework_of(request)
    customers = casework.customers
    return customer_of(customers.customer(customer_id), customers.history(customer_id),
                       held=bool(casework.holds.on_customer(customer_id)))


@get("/", summary="Find customers",
     operation_class=ApiOperation, responses=errors(403, 422))
def search(request: Request[User, Any, Any],
           q: Annotated[str, QueryParameter(
               description="The start of an id, or part of a name, email or phone "
                           "number (case-insensitive; a phone number's digits whatever "
                           "its spaces and dashes); empty: every customer")] = "",
           limit: Annotated[int, QueryParameter(description="At most this many", ge=1,
                                                le=MAX_FOUND)] = 50) -> list[FoundCustomer]:
    """Customers by id whose id starts with q, or whose name, email or phone contains it."""
    found = casework_of(request).search.search(q, limit)
    return [FoundCustomer(**{k: getattr(row, k) for k in FoundCustomer.__struct_fields__})
            for row in found]


def customer_of(profile: CustomerProfile, history: list[CustomerEvent],
                held: bool = False) -> Customer:
    stored, figures = profile.figures, None
    if stored is not None:
        figures = Figures(**{name: _exact(getattr(stored, name))
                             for name in Figures.__struct_fields__})
    return Customer(**{name: getattr(profile.record, name) for name in Customer.__struct_fields__
                       if name not in ("figures", "history", "held")},
                    figures=figures, history=[_event(e) for e in history], held=held)


def _exact(value: Any) -> Any:
    """Money as text, so no digit is lost to a float."""
    return str(value) if isinstance(value, Decimal) else value


def _event(event: CustomerEvent) -> CustomerEventJson:
    return CustomerEventJson(seq=event.seq, name=event.name, actor=event.actor, role=event.role,
                             at=event.at, payload=json.loads(event.payload),
                             prev_hash=event.prev_hash, hash=event.hash)


ROUTER = area("/api/customers", Permission.READ_CUSTOMERS, [
    read_customer, search, create_customer, update_customer],
              tags=["customers"], security=SECURITY)
