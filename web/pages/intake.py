"""Intake in the browser: a new complaint taken on the phone or at the counter (the customer
found by id, name, phone or email as one types, or created inline), and a new customer.

The complaint page is one page in three HTMX blocks: `found` (the customers the lookup
matches, or the form that creates one), `picked` (the customer the complaint is for, inside
the complaint form) and the form itself. Without JavaScript the lookup is a GET of the page and
a pick a link to it. The complaint starts through Runtime.start, as the API's does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from engine.customers.editing import EDITABLE
from engine.customers.files import CUSTOMER_TYPES, STATUSES
from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.records import CustomerRecord
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import acting, casework_of, now_of
from web.rendering import page
from web.security import allow

COMPLAINT = "complaint"
TAKEN = ("channel", "category", "severity", "summary")  # what the intake form asks
FOUND = 10  # customers a lookup lists
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Req = Request[User, Any, Any]


def _block(request: Req) -> str | None:
    """The block an HTMX request targets (`found` or `picked`), else the whole page."""
    htmx = getattr(request, "htmx", None)
    target = htmx.target if htmx and not htmx.boosted else None
    return target if target in ("found", "picked") else None


def _customer(request: Req, customer_id: str) -> CustomerRecord | None:
    try:
        return casework_of(request).customers.customer(customer_id).record
    except NotFound:
        return None


def _guess(lookup: str) -> dict[str, str]:
    """What an unknown lookup probably is, to start the new customer's form with."""
    text = lookup.strip()
    if "@" in text:
        return {"email": text}
    if text and sum(c.isdigit() for c in text) >= 3 and not text.strip("+0123456789 ()./-"):
        return {"phone": text}
    return {"name": text} if text else {}


def _complaint_page(request: Req, *, picked: CustomerRecord | None = None,
                    given: Mapping[str, Any] | None = None, error: InvalidInput | None = None,
                    customer_error: InvalidInput | None = None,
                    new_customer: Mapping[str, Any] | None = None, created: bool = False,
                    status_code: int = 200) -> Template:
    casework = casework_of(request)
    spec = casework.registry.active(COMPLAINT).spec
    lookup = request.query_params.get("lookup", "") if request.method == "GET" else ""
    found = casework.search.search(lookup, FOUND) if lookup.strip() else []
    return page(request, "intake.html", _block(request), status_code=status_code,
                user=request.user, spec=spec, taken=TAKEN, lookup=lookup, found=found,
                picked=picked, given=given or {}, error=error,
                customer_error=customer_error, types=CUSTOMER_TYPES, created=created,
                new_customer=new_customer if new_customer is not None else _guess(lookup),
                may_create=request.user.may(Permission.EDIT_CUSTOMERS))


@get("/complaint", guards=[allow(Permission.WORK_CASES)])
def complaint_form(request: Req) -> Template:
    """The form; `?lookup=` lists matching customers, `?customer=` picks one."""
    chosen = request.query_params.get("customer", "")
    return _complaint_page(request, picked=_customer(request, chosen) if chosen else None)


@post("/complaint", guards=[allow(Permission.WORK_CASES)])
def start_complaint(request: Req, data: FormBody) -> Template | Redirect:
    """Start the complaint and go to its case page; a wrong value shows the form again."""
    casework = casework_of(request)
    customer_id = str(data.get("customer") or "").strip()
    fields = {k: str(data[k]).strip() for k in TAKEN if str(data.get(k) or "").strip()}
    picked = _customer(request, customer_id) if customer_id else None
    try:
        if picked is None:
            raise InvalidInput("customer", "pick the customer the complaint is from (find "
                               "them by id, name, phone or email), or create them")
        case = casework.runtime.start(COMPLAINT, fields, acting(request.user),
                                      now_of(request), customer=picked.id)
    except InvalidInput as exc:
        return _complaint_page(request, picked=picked, given=data, error=exc,
                               status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/cases/{case.id}", status_code=HTTP_303_SEE_OTHER)


def _values(data: Mapping[str, Any]) -> dict[str, str | None]:
    return {k: str(data[k]) for k in EDITABLE if k in data}


@get("/customer", guards=[allow(Permission.EDIT_CUSTOMERS)])
def customer_form(request: Req) -> Template:
    return page(request, "customer_new.html", user=request.user, given={}, error=None,
                types=CUSTOMER_TYPES, statuses=STATUSES, owners=_owners(request))


def _owners(request: Req) -> list[str]:
    return [u.name for u in casework_of(request).accounts.users()
            if u.active and u.holds("account_manager", "manager")]


@post("/customer", guards=[allow(Permission.EDIT_CUSTOMERS)])
def create_customer(request: Req, data: FormBody) -> Template | Redirect:
    """Create the customer: from the New customer page, on to the customer's page; from the
    complaint page (`then=complaint`), back to it with the customer picked."""
    casework, actor = casework_of(request), acting(request.user)
    inline = data.get("then") == COMPLAINT
    try:
        record = casework.customer_editor.create(str(data.get("id") or ""), _values(data),
                                                 actor.name, actor.role, now_of(request))
    except InvalidInput as exc:
        if inline:
            return _complaint_page(request, customer_error=exc, new_customer=data,
                                   status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        return page(request, "customer_new.html", status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                    user=request.user, given=data, error=exc, types=CUSTOMER_TYPES,
                    statuses=STATUSES, owners=_owners(request))
    if inline:
        if _block(request) is not None:
            return _complaint_page(request, picked=record, created=True)
        return Redirect(f"/new/complaint?customer={quote(record.id)}",
                        status_code=HTTP_303_SEE_OTHER)
    return Redirect(f"/customers/{quote(record.id)}", status_code=HTTP_303_SEE_OTHER)


ROUTER = area("/new", Permission.READ_CASES, [complaint_form, start_complaint, customer_form,
                                              create_customer])
