"""Administration in a real browser: the demo's admin adds a user whose password is made and
shown once, the new user signs in with it in a browser of their own, gets a role more and is
disabled (signed out at once); an API token is made, shown once and revoked. No page of it
breaks the Content-Security-Policy; a manager is kept out."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.served import sign_in, watched

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_user_who_signs_in_then_disables_them(
        new_page: Callable[[], Page], site: str,
        shot: Callable[[Page, str], Path]) -> None:
    admin = new_page()
    errors = watched(admin, ("status of 403",))
    admin.goto("/admin/users")
    sign_in(admin, "root", demo_password("root"))
    expect(admin.get_by_role("heading", name="Users")).to_be_visible()
    form = admin.locator("form", has=admin.get_by_role("button", name="Add user"))
    form.get_by_label("Name (to sign in)").fill("nora")
    form.get_by_label("Display name").fill("Nora Vance")
    form.get_by_label("agent").check()
    form.get_by_role("button", name="Add user").click()
    secret = admin.locator("#secret code.secret")
    expect(secret).to_be_visible()
    password = secret.inner_text().strip()
    shot(admin, "password-shown-once")

    nora = new_page()
    nora.goto("/queues")
    sign_in(nora, "nora", password)
    expect(nora).to_have_url(re.compile(r"/queues$"))
    expect(nora.get_by_role("link", name="Rules")).to_have_count(0)

    admin.goto("/admin/users/nora")
    admin.get_by_label("supervisor").check()
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#log")).to_be_visible()
    expect(admin.locator("section[aria-labelledby=log] li").first).to_contain_text("changed")
    nora.goto("/queues")
    expect(nora.get_by_role("link", name="Rules")).to_be_visible()  # the new role, at once

    admin.get_by_role("button", name="Disable the account").click()
    expect(admin.get_by_text("Disabled", exact=False).first).to_be_visible()
    nora.goto("/queues")
    expect(nora).to_have_url(re.compile(r"/login"))
    assert errors == [], "\n".join(errors)


def test_a_token_is_shown_once_works_and_is_revoked(
        new_page: Callable[[], Page], site: str,
        shot: Callable[[Page, str], Path]) -> None:
    admin = new_page()
    errors = watched(admin, ("status of 403",))
    admin.goto("/admin/users/alice")
    sign_in(admin, "root", demo_password("root"))
    admin.get_by_label("Label (what the token is for)").fill("crm sync")
    admin.get_by_role("button", name="Create a token").click()
    token = admin.locator("#secret code.secret").inner_text().strip()
    shot(admin, "token-shown-once")
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{site}/api/notifications", headers=bearer).status_code == 200
    admin.goto("/admin/users/alice")  # shown once: a new look shows only its label
    expect(admin.locator("#secret")).to_have_count(0)
    row = admin.locator("tr", has_text="crm sync")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(admin.locator("tr", has_text="crm sync")).to_contain_text("revoked")
    assert httpx.get(f"{site}/api/notifications", headers=bearer).status_code == 401
    assert errors == [], "\n".join(errors)


def test_a_manager_sees_no_admin_page(new_page: Callable[[], Page]) -> None:
    manager = new_page()
    manager.goto("/queues")
    sign_in(manager, "max", demo_password("max"))
    expect(manager.get_by_role("link", name="Admin")).to_have_count(0)
    answer = manager.goto("/admin/users")
    assert answer is not None and answer.status == 403
