"""The customers' pages: no account, no session. A survey link (`/survey/{token}`, signed and
single-use: engine.channels.surveys) asks a score and a comment; the complaint form
(`/contact`) opens a complaint. Both carry the site's CSRF token like every other form.

A refused survey link answers with a page in the site's layout that says why, by the error's
class: 404 for a link that is not ours, 410 for an expired one, 409 for one answered already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_410_GONE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
)

from engine.channels.surveys import Survey, SurveyAnswered, SurveyExpired, SurveyRefused
from engine.channels.webform import WORKFLOW, ComplaintForm, FormRateLimited
from engine.kernel.errors import CaseworkError, InvalidInput
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.files import UPLOAD_CEILING
from web.pages.conversation import MultipartBody, uploads
from web.rendering import page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
TRAP = "website"  # the contact form's hidden field (a name bots like to fill in)
# A refused link's status and heading, by the refusal's class (the most specific first).
REFUSALS: list[tuple[type[SurveyRefused], int, str]] = [
    (SurveyExpired, HTTP_410_GONE, "This survey link has expired"),
    (SurveyAnswered, HTTP_409_CONFLICT, "This survey has been answered"),
    (SurveyRefused, HTTP_404_NOT_FOUND, "We do not know this survey link"),
]


def client_of(request: Request[Any, Any, Any]) -> str | None:
    """The client's address (behind a reverse proxy, the proxy's, unless the server trusts
    its forwarded headers: `uvicorn --proxy-headers`)."""
    return request.client.host if request.client else None


def _refused(request: Request[Any, Any, Any], refused: SurveyRefused) -> Template:
    status, title = next((s, t) for kind, s, t in REFUSALS if isinstance(refused, kind))
    return page(request, "survey.html", status_code=status, user=None, refused=str(refused),
                refused_title=title)


def _form(request: Request[Any, Any, Any], token: str, survey: Survey,
          given: Mapping[str, Any] | None = None, error: InvalidInput | None = None,
          status_code: int = 200) -> Template:
    return page(request, "survey.html", status_code=status_code, user=None, token=token,
                survey=survey, given=given or {}, error=error, done=False, refused=None)


@get("/{token:str}")
def survey_form(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    """The survey a link asks, or why it cannot be answered."""
    try:
        survey = casework_of(request).surveys.open(token, now_of(request), client_of(request))
    except SurveyRefused as refused:
        return _refused(request, refused)
    return _form(request, token, survey)


@post("/{token:str}")
def answer_survey(request: Request[Any, Any, Any], token: FromPath[str],
                  data: FormBody) -> Template:
    """Answer once: the thank-you page, the form again for a missing score."""
    surveys, now, client = casework_of(request).surveys, now_of(request), client_of(request)
    text = str(data.get("score") or "").strip()
    try:
        survey = surveys.open(token, now, client)  # a refused link says why before the score
        if not text.isdigit():
            raise InvalidInput("score", "choose a score")
        answered = surveys.answer(token, int(text), str(data.get("comment") or ""), now,
                                  client)
    except SurveyRefused as refused:
        return _refused(request, refused)
    except InvalidInput as exc:
        return _form(request, token, survey, data, exc, HTTP_422_UNPROCESSABLE_ENTITY)
    return page(request, "survey.html", user=None, survey=answered, done=True, refused=None)


def _contact(request: Request[Any, Any, Any], status_code: int = 200,
             **context: Any) -> Template:
    spec = casework_of(request).registry.active(WORKFLOW).spec
    values = {"given": {}, "error": None, "case_id": None, "caught": False, "limited": None,
              **context}
    return page(request, "contact.html", status_code=status_code, user=None,
                categories=spec.fields["category"].values, **values)


@get("/")
def contact_form(request: Request[Any, Any, Any]) -> Template:
    """The public complaint form."""
    return _contact(request)


@post("/", request_max_body_size=UPLOAD_CEILING)
def send_contact(request: Request[Any, Any, Any], data: MultipartBody) -> Template:
    """Open the complaint and thank the sender (a bot caught by the hidden field is thanked
    alike); a field that does not do shows the form again with what was typed."""
    given = {k: str(data.get(k) or "") for k in ("name", "email", "phone", "category",
                                                 "summary", "description")}
    try:
        form = ComplaintForm(given["name"], given["email"], given["summary"],
                             given["description"], given["category"] or None,
                             given["phone"] or None, uploads(data.get("files")),
                             str(data.get(TRAP) or ""))
        case_id = casework_of(request).web_form.submit(form, client_of(request),
                                                       now_of(request))
    except FormRateLimited as limited:
        return _contact(request, HTTP_429_TOO_MANY_REQUESTS, limited=str(limited))
    except CaseworkError as refused:
        return _contact(request, HTTP_422_UNPROCESSABLE_ENTITY, given=given, error=refused)
    return _contact(request, case_id=case_id, caught=case_id is None)


SURVEY = area("/survey", None, [survey_form, answer_survey])
CONTACT = area("/contact", None, [contact_form, send_contact])
