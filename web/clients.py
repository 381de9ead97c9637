"""Who is at the other end: the client's address and whether it came over https.

Both come from the socket, unless its peer is one of CASEWORK_TRUSTED_PROXIES: only a proxy we
run may say, in X-Forwarded-For and X-Forwarded-Proto, whom it forwards. Anyone else can write
those headers, so believing them would let a password guesser be a new address every request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache
from typing import Any

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str | None, trusted: Iterable[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # not an address (a test client's name): nobody we trust
        return False
    return any(ip in network for network in trusted)


def _peer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    client = connection.scope.get("client")
    return client[0] if client else None


def client_address(connection: ASGIConnection[Any, Any, Any, Any],
                   proxies: tuple[str, ...]) -> str | None:
    """The socket's peer; behind trusted proxies, the right-most address of X-Forwarded-For
    that is not one of them (the ones to its left were written by whoever asked)."""
    peer, trusted = _peer(connection), networks(proxies)
    if not _trusted(peer, trusted):
        return peer
    forwarded = [a.strip() for line in connection.headers.getall("x-forwarded-for", [])
                 for a in line.split(",") if a.strip()]
    for address in reversed(forwarded):
        if not _trusted(address, trusted):
            return address[:100]
    return forwarded[0][:100] if forwarded else peer


def came_over_https(connection: ASGIConnection[Any, Any, Any, Any],
                    proxies: tuple[str, ...]) -> bool:
    """Whether the request reached us, or the trusted proxy in front of us, over https."""
    if connection.scope.get("scheme") in ("https", "wss"):
        return True
    if not _trusted(_peer(connection), networks(proxies)):
        return False
    said = connection.headers.get("x-forwarded-proto", "")
    return said.split(",")[-1].strip().lower() == "https"
