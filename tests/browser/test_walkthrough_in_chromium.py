"""An agent's whole phone complaint from a strategic customer, in a real browser: opened at the
intake page, on the strategic SLA from the moment it arrives, claimed, a note and a reply
(queued in the outbox) written, a refusal read in words, the customer asked and their answer
taken from a call (which moves the case on by itself), resolved and closed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.served import sign_in
from tests.browser.test_desk_in_chromium import fire, open_fire, state_of

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
STRATEGIC = "00111"  # a strategic customer of the demo (the CDNOW sample's biggest spenders)


# htmx keeps its state on each element it has set up: an element swapped in a moment ago may not
# have its handlers yet, and a change made before then would go unheard
HTMX_READY = ("s => { const e = document.querySelector(s); "
              "return !!(e && e['htmx-internal-data']); }")


def pick_canned(page: Page, title: str) -> None:
    """Start the conversation box's text from the canned response `title`."""
    page.wait_for_function(HTMX_READY, arg="#entry-response")
    page.locator("#conversation").get_by_label("Start from").select_option(label=title)


def write(page: Page, kind: str, text: str | None = None) -> None:
    """Write an entry of the conversation box: pick its kind, type (or keep) the text, send."""
    box = page.locator("#conversation form.reply")
    box.get_by_label(kind).check()
    if text is not None:
        box.locator("#entry-body").fill(text)
    box.get_by_role("button", name="Add to the conversation").click()


def open_complaint(page: Page) -> str:
    """Open a phone complaint of the strategic customer at the intake page; its number."""
    page.goto("/new/complaint")
    sign_in(page, "alice", demo_password("alice"))
    expect(page).to_have_url(re.compile(r"/new/complaint$"))
    page.get_by_label("Find by id, name, phone or email").fill(STRATEGIC)
    found = page.locator("#found")
    expect(found).to_contain_text("strategic")
    found.get_by_role("link", name=STRATEGIC).click()
    expect(page.locator("#picked")).to_contain_text(STRATEGIC)
    form = page.locator("#complaint")
    form.get_by_label("Channel").select_option("phone")
    form.get_by_label("Severity").select_option("high")
    form.get_by_label("Summary").fill("The router we installed drops the line every hour")
    form.get_by_role("button", name="Open the complaint").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    return page.url.rsplit("/", 1)[1]


def refused_then_triaged(page: Page) -> None:
    """Triage as critical, which only a supervisor may: refused in words; then as high."""
    triage = open_fire(page, "Triage")
    triage.get_by_label("Category").select_option("technical")
    triage.get_by_label("Severity").select_option("critical")
    triage.locator("button[type=submit]").click()
    refusal = page.locator("#case details[open] .error")
    expect(refusal).to_contain_text("Only a supervisor triages a critical complaint")
    expect(refusal).not_to_contain_text("actor.role")
    triage = page.locator("#case details[open] form")  # it stays open, with what was typed
    triage.get_by_label("Severity").select_option("high")
    triage.locator("button[type=submit]").click()
    expect(page.locator("#case .timeline li.step").first).to_contain_text(
        "Triage: Received → Investigating")


def test_a_strategic_customers_phone_complaint_from_intake_to_closed(
        new_page: Callable[[], Page], shot: Shot) -> None:
    page = new_page()
    number = open_complaint(page)

    # the customer's tier decided the SLA at intake: 1 h of business time to the first reply
    case = page.locator("#case")
    expect(case.locator("aside")).to_contain_text("strategic")
    expect(case.locator("aside")).to_contain_text("of 1h 0m business time (extended)")

    # ... and the intake queue shows the case's countdown, not "no target yet"
    page.goto("/queues/intake?sort=created")
    row = page.locator("#rows tbody tr", has=page.get_by_role("link", name=f"#{number}"))
    expect(row.locator("td:last-child .badge")).to_have_text(re.compile(r"(left|late)$"))
    row.get_by_role("link", name=f"#{number}").click()

    case.get_by_role("button", name="Claim").click()
    expect(state_of(page)).to_contain_text("assigned to alice")

    write(page, "Internal note", "Customer is strategic: call back within the hour")
    talk = page.locator("#conversation ol.conversation")
    expect(talk.locator("li").first).to_contain_text("internal note")
    expect(talk.locator("li").first).to_contain_text("call back within the hour")

    # a reply started from a canned response, filled in for this case and this agent
    pick_canned(page, "Acknowledge the complaint")
    expect(page.locator("#entry-body")).to_have_value(re.compile(rf"case {number}"))
    write(page, "Reply to the customer")
    expect(talk.locator("li").first).to_contain_text("to the customer")
    expect(talk.locator("li").first).to_contain_text("queued for sending")
    expect(case.locator("aside")).to_contain_text(re.compile(r"first reply:\s*met"))
    shot(page, "conversation")

    refused_then_triaged(page)  # a refusal says why in words, not as an expression
    fire(page, "Ask the customer",
         {"What we asked the customer": "Which lights are on when the line drops?"},
         "Ask the customer: Investigating → Waiting for the customer")
    write(page, "The customer's message (from a call or a visit)",
          "Only the red one, and it blinks")
    expect(state_of(page)).to_contain_text("state Investigating")  # the answer moved it on
    expect(talk.locator("li").first).to_contain_text("from the customer")

    fire(page, "Resolve", {"What we did": "Replaced the router", "Root cause": "Faulty unit",
                           "Remedy": "replacement"},
         "Resolve: Investigating → Resolved, follow-up due")
    fire(page, "Follow-up: satisfied, close", {"Customer satisfaction (1-5)": "5"},
         "Follow-up: satisfied, close: Resolved, follow-up due → Closed")
    expect(state_of(page)).to_contain_text("state Closed")
    expect(page.locator("#conversation form.reply")).to_have_count(0)  # closed: read only
