"""A mail as the intake reads it: bytes from the mailbox -> a typed InboundMail.

Pure (the standard library's `email` with `policy.default`), and never crashes on what a sender
can put in a mail: headers in any charset (RFC 2047, GBK, ISO-2022-JP; an unknown one is read
with replacement characters), malformed MIME (each defect is recorded, the rest is read),
HTML-only mail (turned into plain text: never kept or shown as HTML). A file over the size limit
or of a media type not accepted is left out, and the mail says which and why. Whether a mail is
automatic (an auto-reply, a bounce, a list's mail) is decided here, so that the intake never
opens a case for it nor answers it (RFC 3834: no mail loops).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from bs4 import BeautifulSoup

from engine.cases.conversation import Upload
from engine.channels.threads import message_ids
from engine.kernel.errors import InvalidInput

MAIL_MAX_BYTES = 40 * 1024 * 1024  # CASEWORK_MAIL_MAX_BYTES' default
LONGEST_SUBJECT = 300
NO_SUBJECT = "(no subject)"
DAEMONS = frozenset({"mailer-daemon", "postmaster"})
BULK = frozenset({"bulk", "junk", "list"})
BLOCKS = ["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
          "table", "ul", "ol", "hr", "section", "article"]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


class MailTooLarge(InvalidInput):
    """A whole mail over CASEWORK_MAIL_MAX_BYTES: not parsed at all."""


@dataclass(frozen=True)
class MailLimits:
    """What the intake keeps of a mail: its largest size, and which files."""

    mail_max_bytes: int
    attachment_max_bytes: int
    media_types: frozenset[str]


@dataclass(frozen=True)
class InboundMail:
    """One mail, read: who sent it, about what, its text and files, what it answers."""

    key: str  # its Message-ID, or `sha256:` and the digest of its bytes when it has none
    message_id: str | None
    sender: str  # the address ("" when there is none: a bounce's null sender)
    sender_name: str
    subject: str
    body: str
    attachments: tuple[Upload, ...] = ()
    left_out: tuple[str, ...] = ()  # each file not kept, and why
    references: tuple[str, ...] = ()  # In-Reply-To then References: Message-IDs it answers
    automatic: str | None = None  # why it is automatic (never answered, never a case)
    defects: tuple[str, ...] = ()  # what was malformed in its MIME
    bounced: tuple[str, ...] = ()  # the Message-IDs a delivery report says did not arrive


def digest_key(raw: bytes) -> str:
    """The key of a mail without a Message-ID: the same bytes fetched again give the same key."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse(raw: bytes, limits: MailLimits) -> InboundMail:
    """The mail in `raw`. Raises MailTooLarge for a mail over the limit; nothing else."""
    if len(raw) > limits.mail_max_bytes:
        raise MailTooLarge("mail", f"is {len(raw):,} bytes; the most is "
                           f"{limits.mail_max_bytes:,} (CASEWORK_MAIL_MAX_BYTES)")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    own_id = next(iter(message_ids(_header(message, "message-id"))), None)
    address, name = _sender(message)
    reader = _Reader(limits)
    body = reader.read(message)
    return InboundMail(
        key=own_id or digest_key(raw), message_id=own_id, sender=address, sender_name=name,
        subject=_one_line(_header(message, "subject"))[:LONGEST_SUBJECT], body=body,
        attachments=tuple(reader.files), left_out=tuple(reader.left_out),
        references=tuple(message_ids(_header(message, "in-reply-to"),
                                     _header(message, "references"))),
        automatic=automatic(message, address), defects=tuple(reader.defects),
        bounced=tuple(reader.bounced))


def automatic(message: Message, address: str) -> str | None:
    """Why a mail was sent by a machine rather than a person (None: by a person)."""
    submitted = _header(message, "auto-submitted").strip().lower()
    precedence = _header(message, "precedence").strip().lower()
    reasons = [
        (bool(submitted) and not submitted.startswith("no"), f"Auto-Submitted: {submitted}"),
        (message.get("x-autoreply") is not None, "X-Autoreply"),
        (message.get("x-autorespond") is not None, "X-Autorespond"),
        (precedence in BULK, f"Precedence: {precedence}"),
        (message.get_content_type() == "multipart/report",
         "a delivery status report (multipart/report)"),
        (not address or _header(message, "return-path").strip() == "<>",
         "a null sender (a bounce)"),
        (address.split("@", 1)[0].lower() in DAEMONS, f"sent by {address}"),
    ]
    return next((why for found, why in reasons if found), None)


class _Reader:
    """Walks a mail's parts: its text (plain preferred), its files, its defects."""

    def __init__(self, limits: MailLimits) -> None:
        self.limits = limits
        self.files: list[Upload] = []
        self.left_out: list[str] = []
        self.defects: list[str] = []
        self.bounced: list[str] = []
        self.plain: list[str] = []
        self.html: list[str] = []

    def read(self, message: Message) -> str:
        self._walk(message, 0, report=False)
        text = "\n\n".join(t for t in self.plain if t.strip())
        if not text.strip():
            text = "\n\n".join(html_text(h) for h in self.html)
        return _BLANK_LINES.sub("\n\n", storable(text).replace("\r\n", "\n")).strip()

    def _walk(self, part: Message, depth: int, report: bool) -> None:
        self.defects += [f"{type(d).__name__}: {d}" for d in part.defects]
        kind = part.get_content_type()
        if report and kind in ("text/rfc822-headers", "message/rfc822"):
            # the mail that did not arrive: which of ours it was
            self.bounced += message_ids(_text(part).split("\n\n", 1)[0]
                                        if kind == "text/rfc822-headers"
                                        else _header(_inner(part), "message-id"))
        if kind in ("text/rfc822-headers", "message/delivery-status"):
            return  # a report's machine-readable parts: nothing for the case
        if part.is_multipart() and kind != "message/rfc822" and depth < 20:
            payload = part.get_payload()
            for child in payload if isinstance(payload, list) else []:
                if isinstance(child, Message):
                    self._walk(child, depth + 1, report or kind == "multipart/report")
            return
        if _is_file(part, kind):
            self._file(part, kind)
        elif kind == "text/html":
            self.html.append(_text(part))
        elif part.get_content_maintype() == "text" or kind == "message/rfc822":
            self.plain.append(_text(part))

    def _file(self, part: Message, kind: str) -> None:
        name = _one_line(part.get_filename() or "")[:255] or _default_name(kind, len(self.files))
        content = _inner(part).as_bytes() if kind == "message/rfc822" else _bytes(part)
        if kind == "application/octet-stream":
            kind = mimetypes.guess_type(name)[0] or kind
        if len(content) > self.limits.attachment_max_bytes:
            self.left_out.append(f"'{name}' ({len(content):,} bytes) was left out: the most is "
                                 f"{self.limits.attachment_max_bytes:,} bytes "
                                 "(CASEWORK_ATTACHMENT_MAX_BYTES)")
        elif kind not in self.limits.media_types:
            self.left_out.append(f"'{name}' was left out: {kind} is not accepted "
                                 "(CASEWORK_ATTACHMENT_TYPES)")
        else:
            self.files.append(Upload(name, kind, content))


def html_text(html: str) -> str:
    """An HTML body as plain text: its words and line breaks only, never its markup."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "head", "title", "template"]):
        hidden.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(BLOCKS):
        block.append("\n")  # a block ends its line; inline markup (b, a, span) does not
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _is_file(part: Message, kind: str) -> bool:
    """An attachment rather than the text: named, marked so, or not text at all."""
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return kind == "message/rfc822" or part.get_content_maintype() not in ("text", "multipart")


def _inner(part: Message) -> Message:
    """The mail a message/rfc822 part carries (an empty one if it is malformed)."""
    payload = part.get_payload()
    first = payload[0] if isinstance(payload, list) and payload else None
    return first if isinstance(first, Message) else Message()


def _default_name(kind: str, index: int) -> str:
    return f"part-{index + 1}{mimetypes.guess_extension(kind) or '.bin'}"


def _bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a malformed transfer encoding: keep what is there
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _text(part: Message) -> str:
    """A text part's content, whatever charset it claims (an unknown one: replaced)."""
    charset = part.get_content_charset() or "us-ascii"
    content = _bytes(part)
    try:
        return content.decode(charset, "replace")
    except LookupError:
        return content.decode("utf-8", "replace")


def _header(message: Message, name: str) -> str:
    """A header's decoded text ("" when missing); a header that cannot be decoded is read as
    its raw text rather than failing the mail."""
    try:
        value = message.get(name)
        return "" if value is None else storable(str(value))
    except Exception:  # the email package raises many kinds on bad headers
        raw = next((v for k, v in message.raw_items() if k.lower() == name), "")
        return storable(str(raw))


def _sender(message: Message) -> tuple[str, str]:
    """The sender's address and display name ("" for each that is missing)."""
    text = _header(message, "from")
    try:
        found = [(n, a) for n, a in getaddresses([text]) if "@" in a]
    except Exception:  # a From header that the address parser gives up on
        found = []
    name, address = found[0] if found else parseaddr(text)
    address = address if "@" in address else ""
    return _one_line(address)[:320], _one_line(name)[:100]


def _one_line(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", storable(text)).split())


def storable(text: str) -> str:
    """Text every database keeps: no NUL (PostgreSQL refuses it), no lone surrogate (what
    the email package leaves of undecodable header bytes; not UTF-8)."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
