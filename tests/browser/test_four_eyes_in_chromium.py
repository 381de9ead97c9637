"""Four-eyes publishing and jobs in a real Chromium: max proposes a change to a decision table
that says `approval: required`, mia (a second manager, in a browser context of her own) sees it
on /rules/approvals and approves it; and a job requested on /jobs runs in the served worker,
its page following the progress until the summary shows. No page breaks its CSP."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.conftest import _need_chromium
from tests.browser.served import (
    prepare_home,
    run_casework,
    served,
    sign_in,
    watched,
    write_source,
)

pytestmark = pytest.mark.browser
MIA_PASSWORD = "mia-second-manager"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo served, with a second manager, mia."""
    _need_chromium()
    home = tmp_path_factory.mktemp("four-eyes-home")
    prepare_home(home)
    run_casework(home, "users", "add", "mia", "--role", "manager", "--password", MIA_PASSWORD)
    with served(home) as url:
        yield url


def signed_in(new_page: Callable[[], Page], name: str, password: str) -> tuple[Page, list[str]]:
    page = new_page()
    errors = watched(page)
    page.goto("/rules")
    sign_in(page, name, password)
    expect(page).to_have_url(re.compile(r"/rules$"))
    return page, errors


def test_a_second_manager_approves_a_table_change(new_page: Callable[[], Page],
                                                   shot: Callable[[Page, str], object]) -> None:
    max_, max_errors = signed_in(new_page, "max", demo_password("max"))
    max_.goto("/rules/tables/complaint_sla/edit")
    source = max_.locator("#source")
    text = source.input_value()
    assert "version: 2" in text
    write_source(max_, "approval: required\n" + text.replace("version: 2", "version: 3")
                .replace("resolution_hours: 24, business_time: false",
                         "resolution_hours: 20, business_time: false", 1))
    max_.on("dialog", lambda dialog: dialog.accept())  # htmx's "Publish this version?"
    max_.get_by_role("button", name="Publish").click()
    expect(max_).to_have_url(re.compile(r"/rules/approvals/\d+$"))
    request_url = max_.url
    expect(max_.locator("#state")).to_contain_text("It is not active until a second manager")
    expect(max_.get_by_role("button", name="Approve and publish")).to_have_count(0)
    shot(max_, "proposed")

    mia, mia_errors = signed_in(new_page, "mia", MIA_PASSWORD)
    mia.goto("/rules/approvals")
    mia.locator("#pending").get_by_role("link", name="complaint_sla v3").click()
    expect(mia).to_have_url(request_url)
    expect(mia.locator("#diff")).to_contain_text("+approval: required")
    expect(mia.locator("body")).to_contain_text("7 of 7 tests passed")
    shot(mia, "to-approve")
    mia.get_by_role("button", name="Approve and publish").click()
    expect(mia).to_have_url(re.compile(r"/rules/tables/complaint_sla\?published=3$"))
    expect(mia.locator("body")).to_contain_text("by max, approved by mia")
    shot(mia, "approved")
    assert max_errors + mia_errors == []


def test_a_job_requested_in_the_browser_runs_with_its_progress_shown(
        new_page: Callable[[], Page], shot: Callable[[Page, str], object]) -> None:
    page, errors = signed_in(new_page, "max", demo_password("max"))
    page.goto("/jobs")
    page.get_by_role("button", name="Start the reviews").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    # the served worker takes it up; the page polls (htmx) until it is done
    expect(page.locator("#summary")).to_contain_text("record reviews:", timeout=60_000)
    expect(page.locator("#state")).to_have_text("done")
    assert page.locator("#progress[hx-trigger]").count() == 0  # the polling has stopped
    shot(page, "job-done")
    page.goto("/jobs")
    expect(page.locator("#recent")).to_contain_text("record reviews:")
    assert errors == []


def test_the_complaint_workflow_edited_approved_by_a_second_manager_and_cases_migrated(
        new_page: Callable[[], Page], shot: Callable[[Page, str], object]) -> None:
    """The issue's whole flow: max edits the complaint workflow (it now says `approval:
    required`), sees its diagram, proposes v8; mia approves it; max moves the open complaints
    to v8 after a dry run."""
    max_, max_errors = signed_in(new_page, "max", demo_password("max"))
    max_.on("dialog", lambda dialog: dialog.accept())  # htmx's "Publish this version?"
    max_.goto("/rules/workflows/complaint")
    max_.get_by_role("link", name="Edit", exact=True).click()
    source = max_.locator("#source")
    proposed = source.input_value()
    assert "version: 8" in proposed  # the next version, proposed
    write_source(max_, "approval: required\n"
                 + proposed.replace("in_progress", "investigating"))
    max_.get_by_role("button", name="Validate").click()
    expect(max_.locator("#result .ok")).to_contain_text("valid: complaint v8")
    diagram = max_.locator("#result svg.diagram")
    expect(diagram).to_be_visible()
    expect(diagram).to_contain_text("investigating")
    max_.get_by_role("button", name="Publish").click()
    expect(max_).to_have_url(re.compile(r"/rules/approvals/\d+$"))
    request_url = max_.url
    expect(max_.locator("#state")).to_contain_text("It is not active until a second manager")

    mia, mia_errors = signed_in(new_page, "mia", MIA_PASSWORD)
    mia.goto("/rules/approvals")
    mia.locator("#pending").get_by_role("link", name="complaint v8").click()
    expect(mia).to_have_url(request_url)
    expect(mia.locator("#diff")).to_contain_text("+approval: required")
    mia.get_by_role("button", name="Approve and publish").click()
    expect(mia).to_have_url(re.compile(r"/rules/workflows/complaint"))
    expect(mia.locator("body")).to_contain_text("approved by mia")
    shot(mia, "workflow-approved")

    max_.goto("/rules/workflows/complaint/migrate")
    expect(max_.locator("#from_version")).to_have_value("7")
    expect(max_.locator("#to_version")).to_have_value("8")
    in_progress = max_.locator("#map-in_progress")
    if in_progress.count():  # complaints being investigated go to the renamed state
        in_progress.select_option("investigating")
    max_.get_by_role("button", name="Dry run").click()
    summary = max_.locator("#moves [role=status]")
    expect(summary).to_contain_text("nothing has changed yet")
    found = re.search(r"would move (\d+) case", summary.inner_text())
    assert found is not None and int(found.group(1)) > 0
    max_.get_by_role("button", name="Migrate").click()
    expect(summary).to_contain_text(f"moved {found.group(1)} case(s) to v8")
    shot(max_, "workflow-migrated")
    assert max_errors + mia_errors == []
