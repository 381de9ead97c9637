"""The pages work under their Content-Security-Policy (web/headers.py): Chromium reports no
violation and no console error on the main pages of each area, htmx's swaps included."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.served import sign_in, watched

pytestmark = pytest.mark.browser

PAGES = ["/queues", "/queues/intake", "/my-cases", "/search?q=parcel", "/new/complaint",
         "/customers", "/rules", "/audit", "/dashboards", "/notifications",
         # the manager's workbench: the editors (CodeMirror, whose styles carry the nonce),
         # the drawn diagram, approvals, jobs
         "/rules/tables/complaint_sla/edit", "/rules/workflows/complaint",
         "/rules/workflows/complaint/edit", "/rules/workflows/complaint/migrate",
         "/rules/approvals", "/jobs"]


def test_no_page_breaks_its_content_security_policy(new_page: Callable[[], Page]) -> None:
    page = new_page()
    errors = watched(page)  # a violation is reported to the console, and counted
    page.goto("/queues")
    sign_in(page, "max", demo_password("max"))
    expect(page).to_have_url(re.compile(r"/queues$"))
    for path in PAGES:
        answer = page.goto(path)
        assert answer is not None and answer.ok, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")  # htmx's loads (the views menu) have run
    page.goto("/queues/intake")
    page.locator("table.grid tbody a[href^='/cases/']").first.click()
    page.wait_for_load_state("networkidle")
    assert errors == [], "\n".join(errors)

