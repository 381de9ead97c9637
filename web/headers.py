"""Security headers on every response, and `Secure` on its cookies when it should carry it.

A `before_send` hook of the app, so that it sees every response: pages, /api, static files,
errors and Litestar's own 404 and 405 answers alike (route middleware sees only routed ones).

The Content-Security-Policy allows scripts, styles, images and connections from this site only:
no inline script, no inline style, no `eval`. The templates have none (their scripts are
web/static files; htmx is configured in a <meta> element); htmx's own indicator styles, which
it would inject as an inline <style>, are turned off (htmx.config.includeIndicatorStyles) and
written in casework.css instead, so that style-src needs no 'unsafe-inline', which would let
injected markup restyle a page. The dashboards' SVG charts are drawn without inline styles
(web/charts.py; their stylesheet is web/static/charts.css).

One exception, per response: the YAML editor (CodeMirror, editor/src/editor.js) writes its
styles into a <style> element (style-mod uses constructed stylesheets only inside shadow roots).
A page that includes it asks for `style_nonce(request)`; that response's style-src then allows
<style> elements carrying that nonce, and no others: a fresh random value per response, never
seen by injected markup (browsers hide a nonce attribute's value from the DOM and from CSS).
Every other response keeps the policy exactly as above.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from engine.kernel.settings import SecureCookies, WebSettings
from web.clients import came_over_https

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'"))
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",  # frame-ancestors for browsers that predate it
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
STYLE_NONCE = "casework_style_nonce"  # where a response's nonce waits in the scope's state
HSTS = "max-age=31536000"  # a year: once seen over https, a browser never asks over http


def style_nonce(request: Request[Any, Any, Any]) -> str:
    """The nonce of this response's <style> elements, made on first use; its
    Content-Security-Policy then allows them (and only this response's)."""
    state = request.scope.setdefault("state", {})
    nonce: str | None = state.get(STYLE_NONCE)
    if nonce is None:
        nonce = state[STYLE_NONCE] = secrets.token_urlsafe(18)
    return nonce


def security_headers(message: Message, scope: Scope) -> None:
    """before_send: the headers on a response's start; `Secure` on its cookies over https."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        if name not in headers:
            headers[name] = value
    nonce = scope.get("state", {}).get(STYLE_NONCE)
    if nonce is not None:
        headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
            "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
    settings = _web_settings(scope)
    https = came_over_https(ASGIConnection[Any, Any, Any, Any](scope),
                            settings.trusted_proxies)
    if https:
        headers["strict-transport-security"] = HSTS
    if settings.secure_cookies == SecureCookies.TRUE or (
            settings.secure_cookies == SecureCookies.AUTO and https):
        cookies = headers.getall("set-cookie", [])
        if cookies:
            del headers["set-cookie"]
            for cookie in cookies:
                headers.add("set-cookie", _secure(cookie))


def _secure(cookie: str) -> str:
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    return cookie if "secure" in attributes else f"{cookie}; Secure"


def _web_settings(scope: Scope) -> WebSettings:
    app = scope.get("litestar_app") or scope["app"]
    settings: WebSettings = app.state.casework.settings.web
    return settings
