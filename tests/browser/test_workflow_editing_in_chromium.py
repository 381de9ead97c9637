"""A manager changes the complaint workflow in a real browser: edits its YAML, validates it
(the problems, then the diagram and the diff), publishes v-next, and moves the open demo
complaints to it after a dry run; the pages keep their Content-Security-Policy throughout."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.served import sign_in, watched, write_source

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def test_a_manager_edits_publishes_and_migrates_the_complaint_workflow(
        new_page: Callable[[], Page], shot: Shot) -> None:
    page = new_page()
    errors = watched(page, ("status of 422",))
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm's "Publish this version?"
    page.goto("/rules")
    sign_in(page, "max", demo_password("max"))
    page.goto("/rules/workflows/complaint")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/rules/workflows/complaint/edit$"))
    source = page.locator("#source")
    proposed = source.input_value()
    assert "version: 8" in proposed  # the next version, proposed

    broken = proposed.replace("to: resolved", "to: reslved", 1)
    write_source(page, broken)
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#result .error")).to_contain_text("problem(s)")
    expect(page.locator("#result li.bad", has_text="to: reslved")).to_be_visible()
    shot(page, "problems")

    changed = proposed.replace("in_progress", "investigating")
    write_source(page, changed)
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#result .ok")).to_contain_text("valid: complaint v8")
    expect(page.locator("#result .diagram")).to_contain_text("investigating")
    expect(page.locator("#result pre.diff")).to_contain_text("+version: 8")
    shot(page, "valid")

    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(r"/rules/workflows/complaint\?version=8$"))
    expect(page.locator("h1")).to_contain_text("complaint v8")

    page.get_by_role("link", name="Migrate cases").click()
    expect(page).to_have_url(re.compile(r"/rules/workflows/complaint/migrate$"))
    expect(page.locator("#from_version")).to_have_value("7")
    expect(page.locator("#to_version")).to_have_value("8")
    in_progress = page.locator("#map-in_progress")
    if in_progress.count():  # demo complaints being investigated go to the renamed state
        in_progress.select_option("investigating")
    page.get_by_role("button", name="Dry run").click()
    summary = page.locator("#moves [role=status]")
    expect(summary).to_contain_text("would move")
    expect(summary).to_contain_text("nothing has changed yet")
    would = int(re.search(r"would move (\d+) case", summary.inner_text()).group(1))  # type: ignore[union-attr]
    assert would > 0
    shot(page, "dry-run")

    page.get_by_role("button", name="Migrate").click()
    expect(summary).to_contain_text(f"moved {would} case(s) to v8")
    shot(page, "migrated")
    page.locator("#moves tr.passed a").first.click()
    expect(page.locator("main")).to_contain_text("v8")
    assert errors == [], "\n".join(errors)
