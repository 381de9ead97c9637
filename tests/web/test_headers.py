"""Every response carries the security headers; cookies are Secure over https; a CSRF token
works only in its own session; the schema is behind sign-in; a method a route does not serve is
answered 405 with Allow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import TestClient

from engine.kernel.settings import SecureCookies
from engine.wiring import Casework, open_casework
from tests.web_fixtures import Auth, Client, csrf, sign_in
from web.app import create_app
from web.charts import stylesheet
from web.headers import CONTENT_SECURITY_POLICY

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
@pytest.mark.parametrize("method, path", [
    ("GET", "/login"), ("GET", "/queues"), ("GET", "/static/casework.css"),
    ("GET", "/no/such/page"), ("GET", "/api/cases/1"), ("TRACE", "/login"),
    ("GET", "/schema/openapi.json"), ("GET", "/healthz")])
def test_every_response_carries_the_security_headers(web: Client, method: str,
                                                     path: str) -> None:
    headers = web.request(method, path, follow_redirects=False).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # plain http


@sqlite_only
def test_over_https_cookies_are_secure_and_transport_security_is_strict(
        desk: Casework) -> None:
    with TestClient(create_app(desk), base_url="https://testserver.local") as client:
        page = client.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        signed_in = client.post("/login", data={"name": "ann", "password": "ann-password",
                                                "_csrf_token": client.cookies["csrftoken"]},
                                follow_redirects=False)
        assert signed_in.status_code == 302
        cookies = page.headers.get_list("set-cookie") + signed_in.headers.get_list("set-cookie")
        assert {c.split("=")[0] for c in cookies} == {"csrftoken", "session"}
        assert all(all(a in c.lower() for a in ("; secure", "; httponly", "; samesite=lax"))
                   for c in cookies), cookies
        assert client.get("/queues").status_code == 200
    with TestClient(create_app(desk)) as plain:  # auto: plain http, no Secure
        assert all("Secure" not in c for c in plain.get("/login").headers.get_list("set-cookie"))


@sqlite_only
def test_secure_cookies_true_marks_them_over_plain_http_too(desk: Casework) -> None:
    always = replace(desk.settings, web=replace(desk.settings.web,
                                                secure_cookies=SecureCookies.TRUE))
    casework = open_casework(always)
    try:
        with TestClient(create_app(casework)) as client:
            cookies = client.get("/login").headers.get_list("set-cookie")
            assert cookies and all("; Secure" in c for c in cookies)
    finally:
        casework.close()


@sqlite_only
def test_a_csrf_token_and_cookie_of_another_session_are_refused(
        client_as: Callable[[str], Client]) -> None:
    ann, bob = client_as("ann"), client_as("bob")
    own = ann.post("/notifications/read", data=csrf(ann), follow_redirects=False)
    assert own.status_code in (200, 302, 303)
    # bob's pair (as an attacker who planted his cookie in ann's browser would send it)
    stolen = bob.cookies["csrftoken"]
    ann.cookies.set("csrftoken", stolen)
    replayed = ann.post("/notifications/read", data={"_csrf_token": stolen},
                        follow_redirects=False)
    assert replayed.status_code == 403


@sqlite_only
def test_the_schema_needs_a_session_or_a_token(web: Client, auth: Auth,
                                               desk: Casework) -> None:
    assert web.get("/schema/openapi.json").status_code == 401
    assert web.get("/schema/openapi.json", headers=auth("ann")).status_code == 200
    assert sign_in(web, "ann").get("/schema/openapi.json").status_code == 200
    public = replace(desk.settings, web=replace(desk.settings.web, public_schema=True))
    casework = open_casework(public)
    try:
        with TestClient(create_app(casework)) as anyone:
            assert anyone.get("/schema/openapi.json").status_code == 200
    finally:
        casework.close()


@sqlite_only
@pytest.mark.parametrize("path, allowed", [
    ("/login", {"GET", "POST", "OPTIONS"}), ("/api/cases/1", {"GET", "OPTIONS"}),
    ("/queues", {"GET", "OPTIONS"})])
def test_a_method_the_route_does_not_serve_is_405_with_allow(
        web: Client, auth: Auth, path: str, allowed: set[str]) -> None:
    for method in ("TRACE", "PUT"):
        answer = web.request(method, path, headers=auth("ann"))
        assert answer.status_code == 405, (method, path)
        assert {m.strip() for m in answer.headers["allow"].split(",")} >= allowed - {"OPTIONS"}


def test_the_charts_stylesheet_is_what_pygal_draws() -> None:
    shipped = (Path(__file__).parents[2] / "web/static/charts.css").read_text()
    assert shipped.split("*/\n", 1)[1] == stylesheet()
