"""Administration pages: an admin adds users, changes their roles, disables and enables them,
makes new passwords and API tokens (each shown once) and revokes tokens; each change is a
protection-log entry that verify checks; the last admin who can sign in stays."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable

import pytest
from httpx import Response

from engine.kernel.errors import CaseworkError
from engine.wiring import Casework
from tests.web_fixtures import NOW, Client, csrf, sign_in


def _secret(html: str) -> str:
    found = re.search(r'<code class="secret">([^<]+)</code>', html)
    assert found is not None, html
    return found.group(1)


def _signed_out(answer: Response) -> bool:
    return answer.status_code == 302 and answer.headers["location"].startswith("/login")


def _account_log(desk: Casework, name: str) -> list[tuple[str, str, dict[str, object]]]:
    return [(str(e.act), e.actor, json.loads(e.payload))
            for e in reversed(desk.administration.history(name))]


def test_an_admin_adds_a_user_whose_password_is_made_and_shown_once(
        desk: Casework, client_as: Callable[[str], Client], web: Client) -> None:
    admin = client_as("root")
    answer = admin.post("/admin/users", data={
        **csrf(admin), "name": "zoe", "display_name": "Zoe Ng", "email": "zoe@example.com",
        "roles": ["agent", "supervisor"], "password": ""})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    password = _secret(answer.text)
    assert len(password) >= 16
    assert password not in admin.get("/admin/users/zoe").text  # shown once
    user = desk.accounts.user("zoe")
    assert user is not None and user.roles == ("agent", "supervisor") and user.active
    sign_in(web, "zoe", password)
    assert web.get("/queues").status_code == 200
    assert _account_log(desk, "zoe") == [("user.added", "root", {
        "roles": ["agent", "supervisor"], "display_name": "Zoe Ng", "email": "zoe@example.com",
        "password": True})]
    assert password not in json.dumps(_account_log(desk, "zoe"))
    assert desk.verify().breaks == []


@pytest.mark.parametrize(("form", "message"), [
    ({"name": "ann", "roles": "agent"}, "user 'ann' exists already"),
    ({"name": "no spaces", "roles": "agent"}, "a user name is 1 to 90"),
    ({"name": "lee", "roles": "wizard"}, "unknown role(s) wizard"),
    ({"name": "lee"}, "choose at least one role"),
    ({"name": "lee", "roles": "agent", "password": "short"}, "use at least 8"),
    ({"name": "lee", "roles": "agent", "email": "not-mail"}, "is not an email address"),
])
def test_a_user_that_cannot_be_added_is_refused_with_why_and_nothing_added(
        desk: Casework, client_as: Callable[[str], Client], form: dict[str, str],
        message: str) -> None:
    admin = client_as("root")
    before = desk.accounts.users()
    answer = admin.post("/admin/users", data={**csrf(admin), **form})
    assert answer.status_code == 422
    assert message in answer.text.replace("&#39;", "'")
    assert desk.accounts.users() == before
    assert _account_log(desk, "lee") == []


def test_roles_change_at_once_and_the_change_is_logged_from_and_to(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    admin, ann = client_as("root"), client_as("ann")
    assert ann.get("/rules", follow_redirects=False).status_code == 403
    answer = admin.post("/admin/users/ann", data={
        **csrf(admin), "roles": ["agent", "manager"], "display_name": "Ann",
        "email": "ann@example.com"}, follow_redirects=False)
    assert answer.status_code == 303
    assert ann.get("/rules", follow_redirects=False).status_code == 200  # the next request
    assert _account_log(desk, "ann") == [("user.changed", "root", {
        "roles": {"from": ["agent"], "to": ["agent", "manager"]}})]
    # the same again changes nothing and logs nothing
    admin.post("/admin/users/ann", data={**csrf(admin), "roles": ["agent", "manager"],
                                         "display_name": "Ann", "email": "ann@example.com"})
    assert len(_account_log(desk, "ann")) == 1


def test_the_last_admin_cannot_be_disabled_or_lose_the_role(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    admin = client_as("root")
    for path, form in (("/admin/users/root/disable", {}),
                       ("/admin/users/root", {"roles": "manager"})):
        answer = admin.post(path, data={**csrf(admin), **form})
        assert answer.status_code == 422
        assert "it is the last active admin who can sign in" in answer.text
    root = desk.accounts.user("root")
    assert root is not None and root.active and root.roles == ("admin",)
    assert _account_log(desk, "root") == []
    # with a second admin, the first may step down
    desk.administration.add_user("eve", ["admin"], "root", NOW, password="eve-password")
    assert admin.post("/admin/users/root/disable", data=csrf(admin),
                      follow_redirects=False).status_code == 303
    assert _signed_out(admin.get("/admin/users", follow_redirects=False))


def test_an_admin_without_a_password_does_not_count(desk: Casework) -> None:
    desk.administration.add_user("nopass", ["admin"], "root", NOW)  # cannot sign in
    with pytest.raises(CaseworkError, match="last active admin"):
        desk.administration.set_active("root", False, "root", NOW)


def test_a_disabled_user_is_signed_out_and_its_tokens_refused_until_enabled(
        desk: Casework, client_as: Callable[[str], Client], api: Client) -> None:
    admin, ann = client_as("root"), client_as("ann")
    made = admin.post("/admin/users/ann/tokens", data={**csrf(admin), "label": "crm sync"})
    token = _secret(made.text)
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/notifications", headers=bearer).status_code == 200
    assert admin.post("/admin/users/ann/disable", data=csrf(admin),
                      follow_redirects=False).status_code == 303
    assert _signed_out(ann.get("/queues", follow_redirects=False))
    assert api.get("/api/notifications", headers=bearer).status_code == 401
    assert desk.accounts.password_hash("ann") is None  # refused at sign-in too
    admin.post("/admin/users/ann/enable", data=csrf(admin))
    assert api.get("/api/notifications", headers=bearer).status_code == 200
    assert [act for act, _, _ in _account_log(desk, "ann")] == [
        "token.created", "user.disabled", "user.enabled"]


def test_a_new_password_ends_the_users_sessions_and_the_old_one(
        desk: Casework, client_as: Callable[[str], Client], web: Client) -> None:
    admin, ann = client_as("root"), client_as("ann")
    made = admin.post("/admin/users/ann/password", data=csrf(admin))
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    password = _secret(made.text)
    assert _signed_out(ann.get("/queues", follow_redirects=False))
    web.get("/login")
    refused = web.post("/login", data={"name": "ann", "password": "ann-password", "next": "/",
                                       "_csrf_token": web.cookies["csrftoken"]})
    assert refused.status_code == 401
    sign_in(web, "ann", password)
    assert admin.get("/queues").status_code == 200  # the admin's own session is untouched
    assert _account_log(desk, "ann") == [("user.password_set", "root",
                                          {"sessions_ended": 1})]


def test_a_token_is_shown_once_listed_by_label_and_revoked(
        desk: Casework, client_as: Callable[[str], Client], api: Client) -> None:
    admin = client_as("root")
    token = _secret(admin.post("/admin/users/kim/tokens",
                               data={**csrf(admin), "label": "reports"}).text)
    page = admin.get("/admin/users/kim").text
    assert token not in page and "reports" in page and "in use" in page
    [listed] = desk.administration.tokens("kim")
    answer = admin.post(f"/admin/tokens/{listed.id}/revoke", data=csrf(admin),
                        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/users/kim"
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/notifications", headers=bearer).status_code == 401
    assert "revoked" in admin.get("/admin/users/kim").text
    assert [(act, payload) for act, _, payload in _account_log(desk, "kim")] == [
        ("token.created", {"token": listed.id, "label": "reports"}),
        ("token.revoked", {"token": listed.id, "label": "reports"})]
    assert admin.post("/admin/tokens/424242/revoke", data=csrf(admin)).status_code == 404


def test_only_admins_see_the_admin_menu(client_as: Callable[[str], Client]) -> None:
    assert 'href="/admin/users"' in client_as("root").get("/queues").text
    assert 'href="/admin/users"' not in client_as("max").get("/queues").text


def test_two_admins_disabling_each_other_at_once_leave_one(desk: Casework) -> None:
    """The store locks the users while it decides: whichever goes second sees the first's
    change and is refused, on SQLite and PostgreSQL alike."""
    desk.administration.add_user("eve", ["admin"], "root", NOW, password="eve-password")
    barrier, refused = threading.Barrier(2), []

    def disable(name: str, actor: str) -> None:
        barrier.wait()
        try:
            desk.administration.set_active(name, False, actor, NOW)
        except CaseworkError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=disable, args=pair)
               for pair in (("root", "eve"), ("eve", "root"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    active = [u.name for u in desk.accounts.users("admin")]
    assert len(active) == 1 and len(refused) == 1, (active, refused)
