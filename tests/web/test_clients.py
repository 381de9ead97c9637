"""The client's address and scheme: from the socket, unless its peer is a trusted proxy."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from web.clients import came_over_https, client_address

PROXIES = ("10.0.0.0/24", "192.0.2.9")


def connection(peer: str, scheme: str = "http", **headers: str) -> ASGIConnection[Any, Any, Any,
                                                                                  Any]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "client": (peer, 40000), "scheme": scheme, "headers": raw,
             "path": "/", "method": "GET", "query_string": b""}
    return ASGIConnection(scope)  # type: ignore[arg-type]


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    asked = connection("203.0.113.5", x_forwarded_for="198.51.100.1", x_forwarded_proto="https")
    assert client_address(asked, PROXIES) == "203.0.113.5"
    assert client_address(asked, ()) == "203.0.113.5"
    assert not came_over_https(asked, PROXIES)


def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() -> None:
    # the client wrote 6.6.6.6 itself; the proxies appended what they saw
    asked = connection("10.0.0.7", x_forwarded_for="6.6.6.6, 198.51.100.1, 192.0.2.9",
                       x_forwarded_proto="https")
    assert client_address(asked, PROXIES) == "198.51.100.1"
    assert came_over_https(asked, PROXIES)
    assert client_address(connection("10.0.0.7"), PROXIES) == "10.0.0.7"


def test_a_tls_socket_is_https_without_any_proxy() -> None:
    assert came_over_https(connection("203.0.113.5", scheme="https"), ())
