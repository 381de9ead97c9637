"""Generated MIME (random headers, charsets, nesting, garbage bytes) fed to the intake on both
databases: never a crash other than a clear domain error, and each mail recorded once."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cases.runtime import Actor
from engine.channels.intake import Outcome
from engine.wiring import Casework
from tests.fixtures import T0

CHARSETS = ["utf-8", "gbk", "iso-2022-jp", "iso-8859-1", "x-unknown", "utf-7", ""]
TYPES = ["text/plain", "text/html", "application/pdf", "image/png", "message/rfc822",
         "multipart/report", "application/octet-stream", "text/rfc822-headers", "bogus"]
HEADERS = ["Subject", "From", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
           "Precedence", "Return-Path", "Content-Transfer-Encoding", "Content-Disposition",
           "X-Autoreply", "To"]
ENCODINGS = ["base64", "quoted-printable", "7bit", "8bit", "x-uuencode", "garbage"]


@st.composite
def header_value(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["text", "bytes", "encoded", "address", "id", "token"]))
    if kind == "text":
        return draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    if kind == "bytes":
        return draw(st.binary(max_size=40)).replace(b"\r", b"").replace(b"\n", b"")
    if kind == "encoded":
        charset = draw(st.sampled_from(CHARSETS)) or "utf-8"
        payload = draw(st.sampled_from(["B?", "Q?"])) + draw(
            st.from_regex(r"[A-Za-z0-9+/=_%]{0,20}", fullmatch=True))
        return f"=?{charset}?{payload}?=".encode()
    if kind == "address":
        return draw(st.sampled_from([b"Chen <c1@example.org>", b"<>", b"nobody",
                                     b"MAILER-DAEMON@mx", b"\"a\" <b@c.d>, e@f.g",
                                     b"=?utf-8?B?5rC0?= <x@y.z>", b"@@@"]))
    if kind == "id":
        return draw(st.sampled_from([b"<a@b>", b"<a@b> <c@d>", b"<>", b"<\x00@x>", b"a@b"]))
    return f"Re: [#{draw(st.integers(0, 5))}]".encode()


@st.composite
def part(draw: st.DrawFn, depth: int = 0) -> bytes:
    headers = [name.encode() + b": " + draw(header_value())
               for name in draw(st.lists(st.sampled_from(HEADERS), max_size=5))]
    kind = draw(st.sampled_from(TYPES if depth < 2 else TYPES[:3]))
    charset = draw(st.sampled_from(CHARSETS))
    multipart = kind.startswith("multipart") or (depth < 2 and draw(st.booleans()))
    if multipart:
        boundary = draw(st.sampled_from(["b1", "b2", "=="]))
        headers.append(f"Content-Type: multipart/mixed; boundary=\"{boundary}\"".encode())
        children = draw(st.lists(part(depth + 1), max_size=3))
        body = b"".join(f"--{boundary}\r\n".encode() + child + b"\r\n" for child in children)
        if draw(st.booleans()):
            body += f"--{boundary}--\r\n".encode()
    else:
        headers.append(f"Content-Type: {kind}; charset={charset}; name=f.bin".encode())
        if draw(st.booleans()):
            encoding = draw(st.sampled_from(ENCODINGS))
            headers.append(f"Content-Transfer-Encoding: {encoding}".encode())
        body = draw(st.binary(max_size=200))
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


@pytest.fixture
def app(casework: Casework, tmp_path: Path) -> Casework:
    casework.customers.add("C1", T0, email="c1@example.org")
    casework.runtime.start("complaint", {"channel": "phone", "summary": "an old case"},
                           Actor("ann", "agent"), T0, customer="C1")
    casework.settings = replace(casework.settings, attachments=tmp_path / "files")
    return casework


@settings(max_examples=int(os.environ.get("CASEWORK_MIME_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(raws=st.lists(part(), min_size=1, max_size=3))
def test_generated_mail_is_taken_once_or_refused_clearly(app: Casework,
                                                         raws: list[bytes]) -> None:
    seen = {r.message_id for r in app.inbound.recent(10_000)}
    for raw in raws:
        taken = app.intake.take(raw, T0)
        assert (taken.outcome == Outcome.SEEN) == (taken.message_id in seen)
        if taken.outcome in (Outcome.OPENED, Outcome.REPLY):
            assert taken.case_id is not None
        seen.add(taken.message_id)
        again = app.intake.take(raw, T0)
        assert again.outcome == Outcome.SEEN and again.case_id == taken.case_id
    recorded = [r.message_id for r in app.inbound.recent(10_000)]
    assert len(recorded) == len(set(recorded))  # each mail once
    assert seen == set(recorded)
