"""Jobs from the browser: a manager requests a tier recompute (as of a day), a year's annual
cycles or the record reviews; a worker runs it (engine/jobs/requested.py) while its page shows
the progress, polling every two seconds with htmx until the job has finished, then keeps its
summary. Without JavaScript the page shows the progress when it is loaded (reload to see more).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_409_CONFLICT

from engine.kernel.accounts import User
from engine.kernel.errors import InvalidInput, JobRefused
from engine.kernel.jobs import TITLES, JobKind
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.rendering import page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _jobs_page(request: Request[User, Any, Any], message: str | None = None,
               status_code: int = 200, form: dict[str, Any] | None = None) -> Template:
    today = now_of(request).date()
    form = form or {}
    return page(request, "jobs.html", user=request.user, status_code=status_code,
                jobs=casework_of(request).jobs.store.recent(20), message=message,
                titles=TITLES, kinds=JobKind,
                as_of=str(form.get("as_of") or today.isoformat()),
                year=str(form.get("year") or today.year))


@get("/")
def jobs_index(request: Request[User, Any, Any]) -> Template:
    return _jobs_page(request)


@post("/{kind:str}")
def request_job(request: Request[User, Any, Any], kind: FromPath[str],
                data: FormBody) -> Template | Redirect:
    try:
        job = casework_of(request).jobs.request(kind, data, request.user.name, now_of(request))
    except JobRefused as exc:
        return _jobs_page(request, str(exc), HTTP_409_CONFLICT, data)
    except InvalidInput as exc:
        return _jobs_page(request, str(exc), 422, data)
    return Redirect(f"/jobs/{job.id}", status_code=HTTP_303_SEE_OTHER)


@get("/{job_id:int}")
def job_page(request: Request[User, Any, Any], job_id: FromPath[int]) -> Template:
    """The job; an htmx poll gets its progress block alone, which polls no more once the
    job has finished."""
    return page(request, "job.html", "progress", user=request.user,
                job=casework_of(request).jobs.store.get(job_id))


ROUTER = area("/jobs", Permission.EDIT_RULES, [jobs_index, request_job, job_page])
