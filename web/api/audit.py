"""/api/audit: check every case's and customer's history chain."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from msgspec import Meta, Struct

from engine.kernel.accounts import User
from engine.kernel.roles import Permission
from web.api.common import SECURITY, ApiOperation, errors
from web.areas import area, get
from web.common import casework_of


class Break(Struct, kw_only=True):
    """The first place one history's chain does not hold."""

    kind: Annotated[str, Meta(description="case or customer")]
    subject: Annotated[int | str, Meta(description="The case number or customer id")]
    seq: Annotated[int, Meta(description="The event where the chain breaks")]
    reason: Annotated[str, Meta(description="What is wrong there")]


class Verification(Struct, kw_only=True):
    """The result of checking every history chain."""

    cases: Annotated[int, Meta(description="Case histories checked")]
    customers: Annotated[int, Meta(description="Customer histories checked")]
    intact: Annotated[bool, Meta(description="Whether no chain is broken")]
    breaks: Annotated[list[Break], Meta(description="The first break of each broken chain")]


@get("/verify",
     summary="Verify the history chains", operation_class=ApiOperation,
     responses=errors(403))
def verify(request: Request[User, Any, Any]) -> Verification:
    """Walk every case's and every customer's events and check each hash and link, as
    `casework audit verify` does; this reads every event, so it takes a while on a large
    database."""
    cases, customers, breaks = casework_of(request).verify_history()
    return Verification(cases=cases, customers=customers, intact=not breaks,
                        breaks=[Break(kind=b.kind, subject=b.subject, seq=b.seq,
                                      reason=b.reason) for b in breaks])


ROUTER = area("/api/audit", Permission.AUDIT, [verify], tags=["audit"], security=SECURITY)
