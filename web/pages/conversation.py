"""A case's conversation on its page: write an internal note, a message to the customer or the
customer's message taken from a call, with files; and the files, served only to people who may
read the case (engine.cases.conversation records and reads them)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Response, Template

from engine.cases.conversation import EntryKind, NoEmailAddress, Upload
from engine.cases.responses import render_for_case
from engine.kernel.accounts import User
from engine.kernel.errors import CaseworkError, InvalidInput, NotFound
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import acting, casework_of, now_of
from web.files import MAX_FILES, UPLOAD_CEILING, file_response
from web.pages.cases import after_change, case_page_with, form_version, refused_page
from web.security import allow

ALREADY_WRITTEN = "This was already added to the conversation: this is the case as it is now."
MultipartBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def uploads(value: Any) -> list[Upload]:
    """The files a form sent (a file input left empty sends one part with no name: none)."""
    parts = value if isinstance(value, list) else [value] if value is not None else []
    found = []
    for part in parts:
        if not isinstance(part, UploadFile) or not part.filename:
            continue
        found.append(Upload(part.filename, part.content_type or "application/octet-stream",
                            part.file.read()))
    if len(found) > MAX_FILES:
        raise InvalidInput("file", f"{len(found)} files were given; an entry holds at most "
                           f"{MAX_FILES}")
    return found


def entry_kind(text: Any) -> EntryKind:
    try:
        return EntryKind(str(text or ""))
    except ValueError:
        raise InvalidInput("kind", f"{text!r} is not a kind of entry (one of "
                           f"{', '.join(k.value for k in EntryKind)})") from None


@post("/{case_id:int}/entries", guards=[allow(Permission.WORK_CASES)],
      request_max_body_size=UPLOAD_CEILING)
def add_entry(request: Request[User, Any, Any], case_id: FromPath[int],
              data: MultipartBody) -> Any:
    """Record an entry; on a refusal the page comes back with the text kept (a reply to a
    customer without an email address stays a draft in the box) and the reason."""
    body = str(data.get("body") or "")
    kept = {"body": body, "kind": str(data.get("kind") or "")}
    try:
        kind = entry_kind(data.get("kind"))
        files = uploads(data.get("files"))
        _, again = casework_of(request).conversation.record_once(
            str(data.get("form_key") or "") or None, case_id, kind, body, acting(request.user),
            now_of(request), files, expected_version=form_version(data))
    except NoEmailAddress as exc:
        return refused_page(request, case_id, "entry", InvalidInput(
            "customer", f"{exc.detail}. The text is kept below as a draft."), kept)
    except CaseworkError as exc:
        return refused_page(request, case_id, "entry", exc, kept)
    if again:  # the same form sent twice: say so, with the case as it is
        return case_page_with(request, case_id, notice=ALREADY_WRITTEN)
    return after_change(request, case_id)


@get("/{case_id:int}/response", guards=[allow(Permission.WORK_CASES)])
def canned(request: Request[User, Any, Any], case_id: FromPath[int],
           response_name: Annotated[str, QueryParameter(name="response")] = "") -> Template:
    """The conversation box's text, started from a canned response filled in for the case
    and the person writing (HTMX swaps it in for the box; no name: a blank box)."""
    casework = casework_of(request)
    name = response_name
    if not name:
        return Template(template_name="_entry_body.html", context={"text": ""})
    response = casework.responses.get(name)
    if response is None:
        raise NotFound(f"there is no canned response '{name}' in rules/responses.yaml")
    case = casework.store.get_case(case_id)
    spec = casework.registry.get(case.definition_id).spec
    customer_name = None
    if case.customer:
        try:
            customer_name = casework.customers.customer(case.customer).record.name
        except NotFound:
            customer_name = None
    text = render_for_case(response, case, spec, customer_name, request.user.label)
    return Template(template_name="_entry_body.html", context={"text": text})


@get("/{case_id:int}/files/{attachment_id:int}")
def attachment(request: Request[User, Any, Any], case_id: FromPath[int],
               attachment_id: FromPath[int]) -> Response[bytes]:
    """A file of the case's conversation, as a download."""
    return file_response(casework_of(request), case_id, attachment_id)


ROUTER = area("/cases", Permission.READ_CASES, [add_entry, canned, attachment])
