"""Reading a mail (engine/channels/inbound.py): charsets, HTML, files, limits, automatic mail."""

from __future__ import annotations

import base64
from email.header import Header
from email.message import EmailMessage

import pytest

from engine.channels.inbound import (
    NO_SUBJECT,
    MailLimits,
    MailTooLarge,
    digest_key,
    html_text,
    parse,
)
from engine.kernel.settings import ATTACHMENT_TYPES

LIMITS = MailLimits(40 * 1024 * 1024, 10 * 1024 * 1024, frozenset(ATTACHMENT_TYPES))


def mail(subject: str = "Broken kettle", body: str = "It leaks.", sender: str =
         "Ann Lee <ann@example.com>", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "desk@casework.example"
    message["Subject"] = subject
    message["Message-ID"] = "<m1@example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def test_a_plain_mail_is_read_whole() -> None:
    read = parse(bytes(mail(In_Reply_To="<a@x>", References="<b@x> <a@x>")), LIMITS)
    assert (read.key, read.message_id) == ("<m1@example.com>", "<m1@example.com>")
    assert (read.sender, read.sender_name) == ("ann@example.com", "Ann Lee")
    assert (read.subject, read.body) == ("Broken kettle", "It leaks.")
    assert read.references == ("<a@x>", "<b@x>")
    assert read.automatic is None and read.attachments == () and read.defects == ()


def test_subjects_in_gbk_and_iso_2022_jp_are_decoded() -> None:
    for text, charset in (("水壶坏了", "gbk"), ("やかんが壊れた", "iso-2022-jp")):
        encoded = Header(text, charset).encode()
        raw = (f"From: a@example.com\r\nSubject: {encoded}\r\nMessage-ID: <x@y>\r\n"
               f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() \
            + text.encode(charset)
        read = parse(raw, LIMITS)
        assert read.subject == text, charset
        assert read.body == text, charset


def test_an_unknown_charset_is_read_with_replacements_not_a_crash() -> None:
    raw = (b"From: a@example.com\r\nSubject: =?x-klingon?B?" + base64.b64encode(b"\xff\xfe")
           + b"?=\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\xff'\r\n")
    read = parse(raw, LIMITS)
    assert "qapla" in read.body
    assert read.key == digest_key(raw)  # no Message-ID: keyed by its bytes


def test_html_only_mail_becomes_plain_text_without_markup_or_scripts() -> None:
    message = mail()
    message.set_content("<html><head><style>p{color:red}</style></head><body><p>Hello "
                        "<b>there</b></p><script>alert(1)</script><p>line<br>two</p>"
                        "<a href='javascript:x'>link</a></body></html>", subtype="html")
    body = parse(bytes(message), LIMITS).body
    assert "<" not in body and "alert" not in body and "color" not in body
    assert "Hello" in body and "there" in body and "line\ntwo" in body and "link" in body
    assert html_text("") == ""


def test_plain_text_is_preferred_to_its_html_alternative() -> None:
    message = mail(body="plain words")
    message.add_alternative("<p>html words</p>", subtype="html")
    assert parse(bytes(message), LIMITS).body == "plain words"


def test_files_are_kept_and_a_large_or_refused_one_is_left_out_with_a_note() -> None:
    message = mail()
    message.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf",
                           filename="receipt.pdf")
    message.add_attachment(b"\0" * 30_000_000, maintype="application",
                           subtype="pdf", filename="video.pdf")  # a 30 MB attachment
    message.add_attachment(b"MZ", maintype="application", subtype="x-msdownload",
                           filename="run.exe")
    read = parse(bytes(message), LIMITS)
    assert [(f.file_name, f.media_type, f.content) for f in read.attachments] == [
        ("receipt.pdf", "application/pdf", b"%PDF-1.4 receipt")]
    assert len(read.left_out) == 2
    assert "'video.pdf' (30,000,000 bytes) was left out" in read.left_out[0]
    assert "'run.exe' was left out: application/x-msdownload is not accepted" in read.left_out[1]
    assert read.body == "It leaks."


def test_a_mail_over_the_limit_is_not_parsed() -> None:
    with pytest.raises(MailTooLarge, match="CASEWORK_MAIL_MAX_BYTES"):
        parse(b"x" * 101, MailLimits(100, 10, frozenset()))


def test_malformed_mime_is_recorded_as_defects_and_read_as_far_as_it_goes() -> None:
    raw = (b"From: Bob <bob@example.com>\r\nSubject: broken\r\n"
           b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
           b"--zz\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"aGVsbG8@@@\r\n--zz\r\nContent-Type: application/pdf; name=a.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n%%%%\r\n")  # no closing boundary
    read = parse(raw, LIMITS)
    assert read.sender == "bob@example.com" and read.subject == "broken"
    assert read.defects  # e.g. the missing closing boundary
    assert NO_SUBJECT == "(no subject)"


@pytest.mark.parametrize(("headers", "why"), [
    ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
    ({"X_Autoreply": "yes"}, "X-Autoreply"),
    ({"X_Autorespond": "on"}, "X-Autorespond"),
    ({"Precedence": "bulk"}, "Precedence: bulk"),
    ({"Return_Path": "<>"}, "a null sender (a bounce)"),
])
def test_auto_replies_are_automatic(headers: dict[str, str], why: str) -> None:
    assert parse(bytes(mail(**headers)), LIMITS).automatic == why


def test_a_person_saying_auto_submitted_no_is_not_automatic() -> None:
    assert parse(bytes(mail(Auto_Submitted="no")), LIMITS).automatic is None
    daemon = parse(bytes(mail(sender="MAILER-DAEMON@mx.example.com")), LIMITS)
    assert daemon.automatic == "sent by MAILER-DAEMON@mx.example.com"


def test_a_delivery_status_notification_is_automatic_and_names_the_mail_that_bounced() -> None:
    raw = (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx>\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
           b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
           b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <ours1@desk.example>\r\n"
           b"Subject: Your case [#4]\r\n--b--\r\n")
    read = parse(raw, LIMITS)
    assert read.automatic == "a delivery status report (multipart/report)"
    assert read.bounced == ("<ours1@desk.example>",)
    assert read.body == "The mail could not be delivered."


def test_nul_bytes_and_undecodable_headers_become_text_every_database_keeps() -> None:
    raw = (b"From: \xff\xfe <a@example.com>\r\nSubject: =?utf-8?B?/w==?= \xff\x00ok\r\n"
           b"Message-ID: <n\x00@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"one\x00two\r\n")
    read = parse(raw, LIMITS)
    assert "\x00" not in read.body + read.subject + read.key and "onetwo" in read.body
    assert read.sender == "a@example.com"
    read.subject.encode("utf-8")  # no lone surrogate left: it encodes
