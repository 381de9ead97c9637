"""Drafts of tables and workflows in the editors: save one's own, discard it, read another's.

A draft is kept as typed, whether or not it loads; the editors open with one's own draft and
warn of the newer drafts of others (engine/workflows/drafts.py). Publishing never reads a
draft: it loads the posted text again, so a draft that does not load is never published.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.roles import Permission
from engine.wiring import Casework
from engine.workflows.drafts import Draft, DraftKind, DraftsSeen, seen_by
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.pages.rules import stored
from web.rendering import page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MAX_DRAFT = 200_000  # characters, as the editors take


def editor_of(kind: DraftKind, name: str) -> str:
    """The editor's address of a table or workflow."""
    return f"/rules/{kind.value}s/{name}/edit"


def drafts_seen(casework: Casework, kind: DraftKind, name: str, user: User) -> DraftsSeen:
    """The user's own draft of a definition and the newer drafts of others."""
    return seen_by(casework.drafts.of(kind, name), user.name)


def _kind(kind: str, name: str, casework: Casework) -> DraftKind:
    """The kind a path names, for a definition that is stored; NotFound (404) otherwise."""
    try:
        found = DraftKind(kind)
    except ValueError:
        raise NotFound(f"there are no drafts of '{kind}': drafts are of "
                       f"{', '.join(k.value for k in DraftKind)}") from None
    stored(casework, found.value, name)
    return found


@post("/{kind:str}/{name:str}")
def save_draft(request: Request[User, Any, Any], kind: FromPath[str], name: FromPath[str],
               data: FormBody) -> Redirect:
    casework = casework_of(request)
    found = _kind(kind, name, casework)
    # browsers send a textarea's line breaks as CRLF; drafts keep plain newlines, as sources do
    text = str(data.get("source") or "").replace("\r\n", "\n")
    if len(text) > MAX_DRAFT:
        raise InvalidInput("source", f"the draft is {len(text)} characters; a draft holds at "
                           f"most {MAX_DRAFT}")
    casework.drafts.save(found, name, request.user.name, text, now_of(request))
    return Redirect(editor_of(found, name) + "?draft=saved", status_code=HTTP_303_SEE_OTHER)


@post("/{kind:str}/{name:str}/discard")
def discard_draft(request: Request[User, Any, Any], kind: FromPath[str],
                  name: FromPath[str]) -> Redirect:
    casework = casework_of(request)
    found = _kind(kind, name, casework)
    casework.drafts.discard(found, name, request.user.name)
    return Redirect(editor_of(found, name) + "?draft=discarded",
                    status_code=HTTP_303_SEE_OTHER)


@get("/{kind:str}/{name:str}")
def read_draft(request: Request[User, Any, Any], kind: FromPath[str], name: FromPath[str],
               author: FromQuery[str]) -> Template:
    casework = casework_of(request)
    found = _kind(kind, name, casework)
    draft: Draft | None = next((d for d in casework.drafts.of(found, name)
                                if d.author == author), None)
    if draft is None:
        raise NotFound(f"{author} holds no draft of {found.value} '{name}'")
    return page(request, "draft.html", user=request.user, draft=draft,
                editor=editor_of(found, name))


ROUTER = area("/rules/drafts", Permission.EDIT_RULES, [save_draft, discard_draft, read_draft])
