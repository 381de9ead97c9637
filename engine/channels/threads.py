"""How a mail finds its case again: the case token in its subject, and its Message-IDs.

Every mail about a case carries the token `[#123]` in its subject and a Message-ID of our own
domain; a reply names the case by the token, or by quoting one of our Message-IDs in its
In-Reply-To or References header (mail clients keep the latter even when the subject is edited).
A token is only a claim: the intake checks that the case belongs to the sender (a token is easy
to type), the Message-IDs are not guessable.
"""

from __future__ import annotations

import re
import secrets

TOKEN = re.compile(r"\[#(\d{1,12})\]")
MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
MAX_REFERENCES = 50  # a References header names at most this many of its mails


def case_token(case_id: int) -> str:
    """The token a case's mail carries in its subject."""
    return f"[#{case_id}]"


def with_token(subject: str, case_id: int) -> str:
    """The subject with the case's token, added once at its end."""
    token = case_token(case_id)
    return subject if token in subject else f"{subject.rstrip()} {token}".lstrip()


def token_in(subject: str) -> int | None:
    """The case a subject names by its token (the last one, as replies prepend 'Re:'s and a
    forwarded subject may hold an older one first), or None."""
    found = TOKEN.findall(subject or "")
    return int(found[-1]) if found else None


def new_message_id(domain: str) -> str:
    """A fresh Message-ID of our domain: random, so that nobody can forge a reference."""
    return f"<{secrets.token_hex(16)}@{domain}>"


def message_ids(*headers: str | None) -> list[str]:
    """The Message-IDs that In-Reply-To / References headers name, in order, each once, at
    most MAX_REFERENCES of them (the newest, which are last)."""
    seen: dict[str, None] = {}
    for header in headers:
        for found in MESSAGE_ID.findall(header or ""):
            seen[f"<{found}>"] = None
    return list(seen)[-MAX_REFERENCES:]
