"""A customer's personal data through the API, for managers and admins: everything held (the
right of access) and erasure (the right to erasure), as on the customer's page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta, Struct

from engine.kernel.accounts import User
from engine.kernel.roles import Permission
from web.api.common import SECURITY, ApiOperation, Body, errors
from web.areas import area, get, post
from web.common import casework_of, now_of

CustomerId = Annotated[str, PathParameter(description="The customer id")]


class ErasureRequest(Body, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=2000, description=(
        "Why: the customer's request and its date, a ticket"))]


class Erasure(Struct, kw_only=True):
    """What an erasure removed; its entry in the protection log."""

    customer: str
    protection_entry: int
    cases: list[int]
    values: Annotated[int, Meta(description="Personal values erased from the vault")]
    entries: Annotated[int, Meta(description="Conversation entries emptied")]
    files: int
    mails: int


@get("/{customer_id:str}/personal-data", summary="Everything held about a customer",
     operation_class=ApiOperation, responses=errors(403, 404))
def export_personal_data(request: Request[User, Any, Any],
                         customer_id: CustomerId) -> dict[str, Any]:
    """The record, figures, purchases, the customer's history, each case with its fields,
    history, conversation (files as base64), mails and survey answers, and the protection log's
    entries about them; histories with their personal values in place (erased ones say who
    erased them, when and why)."""
    return casework_of(request).personal_data.export_customer(customer_id, now_of(request))


@post("/{customer_id:str}/erasure", status_code=HTTP_200_OK,
      summary="Erase a customer's personal data", operation_class=ApiOperation,
      responses=errors(403, 404, 422))
def erase_customer(request: Request[User, Any, Any], customer_id: CustomerId,
                   data: JSONBody[ErasureRequest]) -> Erasure:
    """Erase every personal value of the customer and its cases; the history still verifies.
    An unknown customer is 404; one erased already, or an empty reason, 422."""
    done = casework_of(request).personal_data.erase_customer(
        customer_id, request.user.name, data.reason, now_of(request))
    return Erasure(customer=done.subject, protection_entry=done.seq, cases=list(done.cases),
                   values=done.values, entries=done.entries, files=done.files,
                   mails=done.mails)


ROUTER = area("/api/customers", Permission.PROTECT_DATA, [export_personal_data, erase_customer],
              tags=["personal data"], security=SECURITY)
