"""/api/cases/{id}/entries: a case's conversation for other systems: read it, add a note, a
message to the customer (sent through the outbox) or one from the customer, with files given as
base64 in the JSON body."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request
from litestar.params import JSONBody, PathParameter
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta, Struct, field

from engine.cases.conversation import Entry, EntryKind, Upload
from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput
from engine.kernel.roles import Permission
from web.api.case_models import ExpectedVersion
from web.api.cases import IdempotencyKey
from web.api.common import SECURITY, ApiOperation, Body, errors, said
from web.areas import area, get, post
from web.common import acting, casework_of, now_of
from web.files import MAX_FILES, UPLOAD_CEILING, file_response
from web.security import allow

CaseId = Annotated[int, PathParameter(description="The case number")]
ApiRequest = Request[User, Any, Any]
Kind = Literal["note", "to_customer", "from_customer"]


# What base64.b64decode(validate=True) takes: groups of four, padded (RFC 4648 section 4).
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class NewFile(Body):
    """A file to attach, its bytes in base64."""

    file_name: Annotated[str, Meta(min_length=1, max_length=255, examples=["invoice.pdf"])]
    media_type: Annotated[str, Meta(max_length=255, examples=["application/pdf"])]
    content_base64: Annotated[str, said("The file's bytes, base64 (RFC 4648)",
                                        pattern=BASE64)]


class NewEntry(Body):
    """An entry to add to the case's conversation."""

    kind: Annotated[Kind, Meta(description="note: internal, staff only; to_customer: a "
                               "message sent to the customer by email; from_customer: what "
                               "the customer said (on a call, at a visit)")]
    body: Annotated[str, Meta(max_length=20_000, examples=["We are sending a new kettle."])]
    files: Annotated[list[NewFile], Meta(max_length=MAX_FILES)] = field(default_factory=list)
    expected_version: ExpectedVersion = None


class FileOut(Struct, kw_only=True):
    id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    url: Annotated[str, Meta(description="Where the API serves its bytes")]


class EntryOut(Struct, kw_only=True):
    id: int
    kind: Kind
    author: str
    body: str
    created_at: datetime
    delivery: Annotated[str | None, Meta(
        description="For a message to the customer: queued, sent or failing")] = None
    sent_at: datetime | None = None
    last_error: str | None = None
    files: list[FileOut] = field(default_factory=list)


def entry_of(entry: Entry) -> EntryOut:
    files = [FileOut(id=f.id, file_name=f.file_name, media_type=f.media_type, size=f.size,
                     sha256=f.sha256, url=f"/api/cases/{entry.case_id}/files/{f.id}")
             for f in entry.attachments]
    return EntryOut(id=entry.id, kind=entry.kind.value, author=entry.author, body=entry.body,
                    created_at=entry.created_at,
                    delivery=entry.delivery.value if entry.delivery else None,
                    sent_at=entry.sent_at, last_error=entry.last_error, files=files)


def _upload(given: NewFile, index: int) -> Upload:
    try:
        content = base64.b64decode(given.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"files[{index}].content_base64",
                           f"the content of '{given.file_name}' is not base64") from None
    return Upload(given.file_name, given.media_type, content)


@get("/{case_id:int}/entries", summary="A case's conversation", operation_class=ApiOperation,
     responses=errors(403, 404))
def entries(request: ApiRequest, case_id: CaseId) -> list[EntryOut]:
    """The conversation's entries, oldest first, with files and how each message's sending
    goes."""
    casework = casework_of(request)
    casework.store.get_case(case_id)  # an unknown case is 404, not an empty conversation
    return [entry_of(e) for e in casework.conversation.entries(case_id)]


@post("/{case_id:int}/entries", guards=[allow(Permission.WORK_CASES)],
      status_code=HTTP_201_CREATED, summary="Add to a case's conversation",
      operation_class=ApiOperation, responses=errors(403, 404, 409, 422),
      response_description="The entry as stored", request_max_body_size=UPLOAD_CEILING)
def add_entry(request: ApiRequest, case_id: CaseId, data: JSONBody[NewEntry],
              key: IdempotencyKey = None) -> Response[EntryOut]:
    """Record an entry in one transaction with its history event, its files and, for a
    message to the customer, its mail in the outbox (422 when the customer has no email
    address). A message moves the case's reply clocks, and one from the customer moves a
    waiting case on. With an Idempotency-Key, a request sent again with the same key writes
    nothing (no second mail) and answers with the entry the first one wrote, marked
    `Idempotent-Replayed: true`."""
    conversation = casework_of(request).conversation
    files = [_upload(f, i) for i, f in enumerate(data.files)]
    entry_id, again = conversation.record_once(key, case_id, EntryKind(data.kind), data.body,
                                               acting(request.user), now_of(request), files,
                                               expected_version=data.expected_version)
    entry = next(entry_of(e) for e in conversation.entries(case_id) if e.id == entry_id)
    return Response(entry, status_code=HTTP_200_OK if again else HTTP_201_CREATED,
                    headers={"Idempotent-Replayed": "true"} if again else None)


@get("/{case_id:int}/files/{attachment_id:int}", summary="A file of a case's conversation",
     operation_class=ApiOperation, responses=errors(403, 404),
     media_type="application/octet-stream")
def attachment(request: ApiRequest, case_id: CaseId,
               attachment_id: Annotated[int, PathParameter(description="The file's id")]
               ) -> Response[bytes]:
    """The file's bytes, as a download with its name and media type."""
    return file_response(casework_of(request), case_id, attachment_id)


ROUTER = area("/api/cases", Permission.READ_CASES, [entries, add_entry, attachment],
              tags=["cases"], security=SECURITY)
