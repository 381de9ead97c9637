"""A customer's personal data for those who protect it (managers, admins): everything held,
downloaded as JSON (the right of access), and erasure on request (the right to erasure), which
asks for a reason and the customer's id typed again."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import casework_of, now_of

Req = Request[User, Any, Any]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def download_name(customer_id: str) -> str:
    """An RFC 6266 Content-Disposition for the export of `customer_id` (any characters)."""
    name = f"customer-{customer_id}-personal-data.json"
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@get("/{customer_id:str}/personal-data")
def personal_data(request: Req, customer_id: FromPath[str]) -> Response[bytes]:
    """Everything held about the customer, as a JSON file."""
    data = casework_of(request).personal_data.export_customer(customer_id, now_of(request))
    return Response(json.dumps(data, ensure_ascii=False, indent=2).encode(),
                    media_type="application/json",
                    headers={"Content-Disposition": download_name(customer_id),
                             "Cache-Control": "no-store"})


@post("/{customer_id:str}/erase")
def erase(request: Req, customer_id: FromPath[str], data: FormBody) -> Redirect:
    """Erase, once the id is typed again; back to the customer's page."""
    if str(data.get("confirm") or "").strip() != customer_id:
        raise InvalidInput("confirm", f"type the customer's id ({customer_id}) to confirm the "
                           "erasure; nothing was erased")
    casework_of(request).personal_data.erase_customer(
        customer_id, request.user.name, str(data.get("reason") or ""), now_of(request))
    return Redirect(f"/customers/{quote(customer_id, safe='')}?erased=1",
                    status_code=HTTP_303_SEE_OTHER)


ROUTER = area("/customers", Permission.PROTECT_DATA, [personal_data, erase])
