"""/jobs: a manager requests a job, its page shows the progress and polls (htmx) until the job
has finished, then keeps the summary; a second recompute is refused (409), bad input too."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from engine.kernel.jobs import JobState
from engine.wiring import Casework
from tests.web_fixtures import NOW, Client, csrf

POLL = 'hx-trigger="every 2s"'


def request_job(client: Client, kind: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"/jobs/{kind}", data={**form, **csrf(client)}, follow_redirects=False)


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_job_requested_on_the_page_shows_its_progress_until_done(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    assert "Recompute tiers" in max_.get("/jobs").text
    done = request_job(max_, "cycles", year="2026")
    assert done.status_code == 303 and done.headers["location"] == "/jobs/1"
    waiting = max_.get("/jobs/1").text
    assert POLL in waiting and "Annual cycles for 2026" in text(waiting)
    assert "Waiting for a worker" in waiting
    ran = desk.jobs.run_next(NOW)
    assert ran is not None and ran.state == JobState.DONE
    poll = max_.get("/jobs/1", headers={"HX-Request": "true"})
    assert poll.status_code == 200
    assert poll.text.lstrip().startswith('<section id="progress"')  # the block alone
    assert POLL not in poll.text  # finished: the poll stops
    assert "2026 cycles:" in poll.text and "of annual_cycle opened" in poll.text
    assert "2026 cycles:" in text(max_.get("/jobs").text)  # the list keeps the summary
    assert re.search(r'<progress id="bar" value="(\d+)" max="\1"', poll.text) or \
        "0 customer(s) passed over" in poll.text


def test_a_second_recompute_is_refused_with_a_clear_message(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    assert request_job(max_, "recompute", as_of="2026-03-01").status_code == 303
    again = request_job(client_as("root"), "recompute", as_of="2026-03-02")
    assert again.status_code == 409
    assert "only one recompute runs at a time" in html.unescape(again.text)
    assert len(desk.jobs.store.recent()) == 1


def test_bad_input_and_who_may_request(desk: Casework,
                                       client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    bad = request_job(max_, "cycles", year="next year")
    assert bad.status_code == 422 and "the year must be a year" in html.unescape(bad.text)
    assert request_job(max_, "reviews", as_of="tomorrow").status_code == 422
    assert request_job(max_, "backup").status_code == 422
    assert desk.jobs.store.recent() == []
    sam = client_as("sam")
    assert sam.get("/jobs").status_code == 403
    assert request_job(sam, "cycles", year="2026").status_code == 403
