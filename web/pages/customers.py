"""Customers: finding one, and a customer's page with its tier, the rule row that set it, its
figures, tier history, purchases, open cases and plans."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import FromPath
from litestar.response import Template

from engine.kernel.accounts import User
from engine.kernel.history import CustomerEvent
from engine.kernel.roles import Permission
from web.areas import area, get
from web.common import casework_of, now_of
from web.rendering import page

PAGE = 50
PURCHASES = 20


@dataclass(frozen=True)
class Figure:
    """A stored figure as the page shows it: a label, what it means in plain words, and how
    to write its value (days, count, money, share, score, chance, number, years, text)."""

    name: str
    label: str
    means: str
    shape: str


# Labels and meanings from docs/customers.md ("Figures").
FIGURES = (
    Figure("recency_days", "Days since last purchase", "How long ago the customer last bought.",
           "days"),
    Figure("frequency", "Purchase occasions", "Days on which the customer bought something.",
           "count"),
    Figure("monetary", "Total spend", "Everything the customer has spent.", "money"),
    Figure("revenue_12m", "Spend, last 12 months", "What the customer spent in the last 365 "
           "days.", "money"),
    Figure("revenue_share", "Share of all spend, last 12 months", "This customer's part of "
           "what all customers spent in the last 365 days.", "share"),
    Figure("years_active", "Years a customer", "Years since the first purchase.", "years"),
    Figure("r_score", "Recency score", "How recently they bought, among today's buyers: 1 to "
           "5, 5 = most recent fifth.", "score"),
    Figure("f_score", "Frequency score", "How often they buy, among today's buyers: 1 to 5, "
           "5 = most often.", "score"),
    Figure("m_score", "Spend score", "How much they spend, among today's buyers: 1 to 5, "
           "5 = most.", "score"),
    Figure("p_alive", "Still buying (P(alive))", "The chance that the customer still buys "
           "(BG/NBD model).", "chance"),
    Figure("expected_purchases", "Expected purchases, next 12 months", "How many purchases "
           "the customer is expected to make in the next 12 months (BG/NBD model).", "number"),
    Figure("expected_spend", "Expected spend per purchase", "The expected value of one "
           "purchase (Gamma-Gamma model).", "money"),
    Figure("clv", "Lifetime value, next 12 months (CLV)", "Expected spend over the next 12 "
           "months, discounted 1% a month.", "money"),
    Figure("churn_risk", "Churn risk", "What the churn_risk table decided: high, medium or "
           "low.", "text"),
)


@dataclass(frozen=True)
class TierChange:
    """A `customer.tier_changed` event: when, from and to, and the rule row behind it."""

    event: CustomerEvent
    old: str | None
    new: str | None
    table: str | None
    version: int | None
    matched: list[str]
    as_of: str | None


def tier_changes(history: list[CustomerEvent]) -> list[TierChange]:
    """Every tier change of a customer's history, newest first."""
    found = []
    for event in reversed(history):
        if event.name != "customer.tier_changed":
            continue
        payload: dict[str, Any] = json.loads(event.payload)
        found.append(TierChange(event, payload.get("old"), payload.get("new"),
                                payload.get("table"), payload.get("version"),
                                list(payload.get("matched") or []), payload.get("as_of")))
    return found


@get("/")
def customer_list(request: Request[User, Any, Any]) -> Template:
    params = request.query_params
    text, tier, after = params.get("q") or "", params.get("tier") or "", params.get("after")
    tiers = casework_of(request).registry.tiers(now_of(request))
    if tier and tier not in tiers:
        raise ValidationException(f"tier {tier!r} is not one of {', '.join(tiers) or 'none'} "
                                  "(the tiers of the customer_tier table in force)")
    found = casework_of(request).search.search(text, PAGE + 1, tier=tier or None,
                                               after=after or None)
    rows = found[:PAGE]
    chosen = {"q": text, "tier": tier}
    next_link = None
    if len(found) > PAGE:
        next_link = {**{k: v for k, v in chosen.items() if v}, "after": rows[-1].id}
    return page(request, "customers.html", "results", user=request.user, rows=rows,
                chosen=chosen, tiers=tiers, next_link=next_link, first=not after)


def parse_purchase_cursor(text: str | None) -> tuple[date, int] | None:
    """The purchases' keyset cursor `YYYY-MM-DD~id` of the last purchase shown."""
    if not text:
        return None
    day, _, number = text.partition("~")
    try:
        return date.fromisoformat(day), int(number)
    except ValueError:
        raise ValidationException(f"the purchases cursor {text!r} is not one this site made; "
                                  "open the customer's page again") from None


@get("/{customer_id:str}")
def customer_page(request: Request[User, Any, Any], customer_id: FromPath[str]) -> Template:
    """The whole page, or (HTMX) the next page of purchases."""
    casework = casework_of(request)
    profile = casework.customers.customer(customer_id)  # NotFound: the 404 page
    after = parse_purchase_cursor(request.query_params.get("purchases_after"))
    bought = casework.search.purchases(customer_id, PURCHASES + 1, after)
    shown = bought[:PURCHASES]
    more = f"{shown[-1].day.isoformat()}~{shown[-1].id}" if len(bought) > PURCHASES else None
    related = casework.search.cases(customer_id)
    # the purchases links ask for that block alone (an empty cursor: the newest again)
    block = "purchases" if "purchases_after" in request.query_params else None
    return page(request, "customer.html", block,
                user=request.user, customer=profile.record, figures=FIGURES,
                stored=profile.figures,
                changes=tier_changes(casework.customers.history(customer_id)),
                purchases=shown, purchases_more=more, first_purchases=after is None,
                plans=[c for c in related if c.is_plan],
                cases=[c for c in related if not c.is_plan],
                may_audit=request.user.may(Permission.AUDIT),
                may_protect=request.user.may(Permission.PROTECT_DATA),
                erased_now="erased" in request.query_params,
                holds=casework.holds.on_customer(customer_id))


ROUTER = area("/customers", Permission.READ_CUSTOMERS, [customer_list, customer_page])
