"""Intake and the keyboard in a real browser: an agent takes a phone complaint from a caller
who is not a customer yet (looked up, created inline, picked), lands on the new case, and finds
it again by searching; the queue is worked from the keyboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.served import sign_in

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def signed_in(page: Page, path: str, name: str = "alice") -> None:
    page.goto(path)
    sign_in(page, name, demo_password(name))
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def test_a_phone_complaint_from_a_new_caller(new_page: Callable[[], Page], shot: Shot) -> None:
    page = new_page()
    signed_in(page, "/new/complaint")
    page.get_by_label("Find by id, name, phone or email").fill("+86 138 0099 7766")
    found = page.locator("#found")
    expect(found).to_contain_text("No customer matches")
    inline = page.locator("#new-customer")
    expect(inline.get_by_label("Phone")).to_have_value("+86 138 0099 7766")  # guessed
    inline.get_by_label("Customer id").fill("NEW-0001")
    inline.get_by_label("Name").fill("陈静 Chen Jing")
    shot(page, "unknown-caller")
    inline.get_by_role("button", name="Create and pick").click()
    expect(found).to_contain_text("Customer NEW-0001 created and picked")
    expect(page.locator("#picked")).to_contain_text("陈静 Chen Jing")

    # the lookup finds the caller now, by the digits of the number however written
    page.get_by_label("Find by id, name, phone or email").fill("13800997766")
    expect(found.get_by_role("link", name="陈静 Chen Jing")).to_be_visible()

    form = page.locator("#complaint")
    form.get_by_label("Channel").select_option("phone")
    form.get_by_label("Category").select_option("billing")
    form.get_by_label("Severity").select_option("high")
    form.get_by_label("Summary").fill("发票金额错误 客户投诉第二次")
    shot(page, "complaint-filled")
    form.get_by_role("button", name="Open the complaint").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("#case")).to_contain_text("NEW-0001")
    number = page.url.rsplit("/", 1)[1]
    shot(page, "case")

    page.get_by_label("Find a case").fill("客户投诉")
    page.get_by_label("Find a case").press("Enter")
    expect(page.locator("#results").get_by_role("link", name=f"#{number}")).to_be_visible()


def test_the_queue_from_the_keyboard(new_page: Callable[[], Page], shot: Shot) -> None:
    page = new_page()
    signed_in(page, "/queues/intake")
    rows = page.locator("#rows tbody tr")
    expect(rows.first).to_be_visible()
    shown = rows.count()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    shot(page, "shortcuts")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))

    page.keyboard.press("/")  # the queue's own search box
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("j")  # typing in a field is typing, not a shortcut
    expect(page.locator("#q")).to_have_value("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    page.locator("#q").fill("")
    page.locator("h1").click()
    # the search box fetched the rows again as it changed: wait for the whole list, unchosen
    page.wait_for_load_state("networkidle")
    expect(rows).to_have_count(shown)
    expect(page.locator("#rows tr.current")).to_have_count(0)

    unclaimed = rows.filter(has=page.get_by_role("button", name=re.compile("^Claim")))
    number = unclaimed.first.get_by_role("link").first.inner_text()
    index = [rows.nth(i).get_by_role("link").first.inner_text()
             for i in range(rows.count())].index(number)
    for _ in range(index + 1):  # from no row chosen
        page.keyboard.press("j")
    expect(rows.nth(index)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("c")
    expect(page.locator("#rows .notes")).to_contain_text(f"{number}: claimed")
