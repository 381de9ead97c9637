"""The screenshots of docs/web.md, made from the demo data in Debian's headless Chromium.

Run from the repository root: `.venv/bin/python -m tests.browser.screenshots` (about a minute;
needs /usr/bin/chromium). It prepares a demo home in a temporary folder, serves it with a fixed
clock (so the SLA badges and dates come out the same each run), and writes docs/images/*.png.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from engine.cli.demo import demo_password
from tests.browser.served import (
    ROOT,
    VIEWPORT,
    launch,
    prepare_home,
    run_casework,
    served,
    sign_in,
    write_source,
)
from tests.browser.test_walkthrough_in_chromium import pick_canned

# The demo opens its complaints on a Monday morning; the pages are shown the next afternoon,
# when some first responses are late and others are still running.
DEMO_AT = "2026-03-02T08:30:00Z"
SHOWN_AT = "2026-03-03T14:00:00Z"
# Sweeps of the timer worker in between, so that the warnings and breaches due by then are
# recorded (the queue counts read them) soon after they fell due, as a running worker would.
SWEPT_AT = ["2026-03-03T08:45:00Z", "2026-03-03T13:30:00Z"]


def new_page(browser: Browser, url: str) -> Page:
    """A page whose clock agrees with the server's (the SLA badges count down in the page)."""
    context = browser.new_context(base_url=url, viewport=VIEWPORT)
    context.clock.set_fixed_time(datetime.fromisoformat(SHOWN_AT))
    return context.new_page()


def signed_in(browser: Browser, url: str, name: str) -> Page:
    page = new_page(browser, url)
    page.goto("/login")
    sign_in(page, name, demo_password(name))
    return page


def open_fire(page: Page, button: str) -> Locator:
    page.locator("#case summary", has_text=button).click()
    return page.locator("#case details[open] form")


def first_case(page: Page, queue_url: str) -> str:
    page.goto(queue_url)
    href = page.locator("#rows tbody tr td:nth-child(2) a, #rows tbody tr td:nth-child(1) a"
                        ).first.get_attribute("href")
    assert href is not None
    return href


def take(browser: Browser, url: str, out: Path, home: Path) -> list[Path]:
    """Each picture the guide shows, named for its section."""
    made: list[Path] = []

    def save(target: Page | Locator, name: str) -> None:
        path = out / f"{name}.png"
        target.screenshot(path=str(path))
        made.append(path)

    anonymous = new_page(browser, url)
    anonymous.goto("/queues")
    save(anonymous, "sign-in")

    alice = signed_in(browser, url, "alice")
    save(alice, "queues")

    sam = signed_in(browser, url, "sam")  # a supervisor sees the bulk-assign controls
    sam.goto("/queues/after_sales")
    sam.locator("#rows tbody input[type=checkbox]").nth(1).check()
    save(sam, "queue")

    # an open case in intake, claimed and with the triage form open
    case = first_case(alice, "/queues/intake?severity=medium")
    alice.goto(case)
    alice.get_by_role("button", name="Claim").click()
    expect(alice.locator("#case .meta")).to_contain_text("assigned to alice")
    open_fire(alice, "Triage").get_by_label("category").select_option("billing")
    save(alice, "case")

    # the demo's first complaint, resolved: a "satisfied" close with a low CSAT is refused
    alice.goto("/cases/1")
    form = open_fire(alice, "Follow-up: satisfied, close")
    form.get_by_label("Customer satisfaction").fill("2")
    form.locator("button[type=submit]").click()
    refusal = alice.locator("#case details[open] .error")
    expect(refusal).to_be_visible()
    top, bottom = alice.locator("#act").bounding_box(), refusal.bounding_box()
    assert top is not None and bottom is not None
    alice.screenshot(path=str(out / "refused.png"), clip={
        "x": 0, "y": top["y"] - 16, "width": VIEWPORT["width"],
        "height": bottom["y"] + bottom["height"] + 72 - top["y"]})
    made.append(out / "refused.png")

    triage = alice.locator("#case .timeline li.step", has_text="Triage")
    triage.locator("summary").click()
    alice.locator("#hist").scroll_into_view_if_needed()
    triage.scroll_into_view_if_needed()
    save(alice, "history")

    # two people on one case: bob fires on the case as it was before alice's triage
    bob = signed_in(browser, url, "bob")
    case = first_case(bob, "/queues/intake?severity=low")
    bob.goto(case)
    alice.goto(case)
    open_fire(alice, "Triage").get_by_label("category").select_option("technical")
    alice.locator("#case details[open] form button[type=submit]").click()
    expect(alice.locator("#case .meta")).to_contain_text("Investigating")
    open_fire(bob, "Triage").get_by_label("category").select_option("after_sales")
    bob.locator("#case details[open] form button[type=submit]").click()
    expect(bob.get_by_role("alert")).to_be_visible()
    save(bob, "conflict")
    desk_pages(alice, save)
    admin_pages(signed_in(browser, url, "root"), save)
    # the served clock is fixed, so the server runs no worker: one run takes the job
    workbench_pages(signed_in(browser, url, "max"), save,
                    lambda: run_casework(home, "worker", "--once", now=SHOWN_AT))
    return made


def workbench_pages(max_: Page, save: Callable[[Page | Locator, str], None],
                    run_worker: Callable[[], object]) -> None:
    """The manager's workbench, last (it publishes): the workflow editor with the text's
    diagram, a migration's dry run, a publication awaiting approval, a job done."""
    max_.on("dialog", lambda dialog: dialog.accept())  # htmx's "Publish this version?"
    max_.goto("/rules/workflows/complaint/edit")
    text = max_.locator("#source").input_value()
    write_source(max_, text.replace("in_progress", "investigating"))
    max_.get_by_role("button", name="Validate").click()
    expect(max_.locator("#result .ok")).to_contain_text("valid: complaint v8")
    save(max_, "workflow-edit")
    max_.get_by_role("button", name="Publish").click()
    expect(max_).to_have_url(re.compile(r"/rules/workflows/complaint\?version=8$"))
    max_.goto("/rules/workflows/complaint/migrate")
    max_.locator("#map-in_progress").select_option("investigating")
    max_.get_by_role("button", name="Dry run").click()
    expect(max_.locator("#moves [role=status]")).to_contain_text("nothing has changed yet")
    save(max_, "workflow-migrate")
    max_.goto("/rules/tables/complaint_sla/edit")
    text = max_.locator("#source").input_value()
    write_source(max_, "approval: required\n" + text.replace("version: 2", "version: 3")
                 .replace("resolution_hours: 24, business_time: false",
                          "resolution_hours: 20, business_time: false", 1))
    max_.get_by_role("button", name="Publish").click()
    expect(max_).to_have_url(re.compile(r"/rules/approvals/\d+$"))
    save(max_, "approval")
    max_.goto("/jobs")
    max_.get_by_role("button", name="Start the reviews").click()
    expect(max_).to_have_url(re.compile(r"/jobs/\d+$"))
    run_worker()
    expect(max_.locator("#summary")).to_contain_text("record reviews:", timeout=60_000)
    save(max_, "job")


def admin_pages(root: Page, save: Callable[[Page | Locator, str], None]) -> None:
    """Administration: the users, and a user's page with a token just made."""
    root.goto("/admin/users")
    save(root, "admin-users")
    root.goto("/admin/users/alice")
    root.get_by_label("Label (what the token is for)").fill("crm sync")
    root.get_by_role("button", name="Create a token").click()
    expect(root.locator("#secret")).to_be_visible()
    save(root, "admin-user")


def desk_pages(alice: Page, save: Callable[[Page | Locator, str], None]) -> None:
    """The new complaint page with a strategic caller picked, a conversation, the search."""
    alice.goto("/new/complaint")
    alice.get_by_label("Find by id, name, phone or email").fill("00111")
    alice.locator("#found").get_by_role("link", name="00111").click()
    expect(alice.locator("#picked")).to_contain_text("00111")
    alice.locator("#complaint").get_by_label("Summary").fill(
        "The router we installed drops the line every hour")
    save(alice, "intake")
    alice.locator("#complaint").get_by_role("button", name="Open the complaint").click()
    box = alice.locator("#conversation form.reply")
    box.get_by_label("Internal note").check()
    box.locator("#entry-body").fill("Strategic customer: call back within the hour")
    box.get_by_role("button", name="Add to the conversation").click()
    expect(alice.locator("#conversation li.note")).to_have_count(1)
    pick_canned(alice, "Acknowledge the complaint")
    expect(box.locator("#entry-body")).to_have_value(re.compile("Dear"))
    box.get_by_label("Reply to the customer").check()
    box.get_by_role("button", name="Add to the conversation").click()
    expect(alice.locator("#conversation li.to_customer")).to_have_count(1)
    save(alice.locator("#conversation"), "conversation")
    alice.goto("/search?q=parcel")
    save(alice, "search")


def main(argv: list[str] | None = None,
         report: Callable[[str], None] = print) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="folder for the PNGs (default: docs/images)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="casework-shots-") as folder:
        home = Path(folder)
        prepare_home(home, now=DEMO_AT)
        for moment in SWEPT_AT:  # what the worker beside the server did meanwhile
            run_casework(home, "worker", "--once", now=moment)
        with served(home, now=SHOWN_AT) as url, sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                made = take(browser, url, args.out, home)
            finally:
                browser.close()
    for path in made:
        report(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
               f"{path.stat().st_size // 1024} KB")
    return made


if __name__ == "__main__":
    main()
