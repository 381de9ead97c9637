"""engine.channels.mailing and .templates: the customer's mail from the workflow's templates,
threaded, queued in the step's transaction; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from engine.cases.conversation import EntryKind
from engine.cases.runtime import Actor
from engine.channels.templates import MailTemplates
from engine.kernel.errors import DefinitionError
from engine.wiring import Casework
from tests.fixtures import ROOT, T0

ANN = Actor("ann", "agent")
CASE = {"case": {"id": 7, "state": "Received", "title": "Double charge", "fields": {}},
        "customer": {"id": "C1", "name": "Chen Li"}, "workflow": "Customer complaint"}


def complaint(casework: Casework, customer: str = "C1") -> int:
    return casework.runtime.start("complaint", {"channel": "phone", "summary": "Double charge"},
                                  ANN, T0, customer=customer).id


def test_intake_mails_the_acknowledgement_with_the_token_and_our_message_id(
        casework: Casework) -> None:
    casework.customers.add("C1", T0, email="c1@example.org", name="Chen Li")
    case_id = complaint(casework)
    [ack] = casework.timers.notices()
    assert (ack.case_id, ack.recipient, ack.audience, ack.address, ack.automatic) == (
        case_id, "C1", "customer", "c1@example.org", True)
    assert ack.subject == f"We have received your complaint: Double charge [#{case_id}]"
    assert ack.body.startswith("Dear Chen Li,\n\nThank you") and f"case {case_id}" in ack.body
    assert ack.message_id is not None and ack.message_id.endswith("@localhost>")
    assert (ack.in_reply_to, ack.thread_refs) == (None, None)  # it starts the thread
    [mailed] = [json.loads(e.payload) for e in casework.store.case_events(case_id)
                if e.name == "case.mailed"]
    assert mailed == {"template": "acknowledgement", "language": "en", "outbox": ack.id}


def test_a_second_mail_answers_the_first_and_references_the_thread(casework: Casework) -> None:
    casework.customers.add("C1", T0, email="c1@example.org", name="Chen Li")
    case_id = complaint(casework)
    talk = casework.conversation
    for hours, text in ((1, "We are on it"), (2, "Refunded")):
        talk.record(case_id, EntryKind.TO_CUSTOMER, text, ANN, T0 + timedelta(hours=hours))
    ack, first, second = casework.timers.notices()
    assert first.subject == f"About your complaint: Double charge [#{case_id}]"
    assert (first.in_reply_to, first.thread_refs) == (ack.message_id, ack.message_id)
    assert second.in_reply_to == first.message_id
    assert second.thread_refs == f"{ack.message_id} {first.message_id}"
    assert len({ack.message_id, first.message_id, second.message_id}) == 3


def test_a_customer_without_an_address_opens_the_case_and_no_mail_is_queued(
        casework: Casework) -> None:
    casework.customers.add("C2", T0)
    case_id = complaint(casework, "C2")
    assert casework.store.get_case(case_id).state == "received"
    assert casework.timers.notices() == []
    [skipped] = [json.loads(e.payload) for e in casework.store.case_events(case_id)
                 if e.name.startswith("case.mail")]
    assert skipped == {"template": "acknowledgement",
                       "reason": "customer 'C2' has no email address"}


def test_templates_per_language_fall_back_to_english() -> None:
    templates = MailTemplates(ROOT)
    chinese = templates.render("complaint", "acknowledgement", "zh", CASE)
    assert (chinese.language, chinese.subject) == ("zh", "我们已收到您的投诉：Double charge")  # noqa: RUF001 - Chinese punctuation
    assert chinese.body.startswith("尊敬的Chen Li：\n")  # noqa: RUF001 - Chinese punctuation
    french = templates.render("complaint", "acknowledgement", "fr", CASE)
    assert (french.language, french.subject) == ("en",
                                                 "We have received your complaint: Double charge")


def test_a_value_the_template_needs_and_is_not_given_is_named_at_its_line() -> None:
    with pytest.raises(DefinitionError, match=r"message\.en\.txt:5: 'body' is undefined"):
        MailTemplates(ROOT).render("complaint", "message", "en", CASE)


def test_a_workflow_without_a_message_template_uses_the_built_in_one() -> None:
    rendered = MailTemplates(ROOT).render("record_review", "message", "zh",
                                          {**CASE, "body": "Hello"})
    assert (rendered.subject, rendered.body, rendered.language) == (
        "Customer complaint: Double charge", "Hello\n", "en")


def test_check_names_a_broken_template_and_a_missing_blank_line(tmp_path: Path) -> None:
    folder = tmp_path / "workflows" / "mail" / "complaint"
    folder.mkdir(parents=True)
    (folder / "acknowledgement.en.txt").write_text("Subject\n\nDear {{ customer.name \n")
    (folder / "message.zh.txt").write_text("Subject\nno blank line\n")
    found = [str(p) for p in MailTemplates(tmp_path).problems()]
    assert found == [
        f"{folder / 'acknowledgement.en.txt'}:3: unexpected end of template, expected 'end of "
        "print statement'.",
        f"{folder / 'message.zh.txt'}:2: a mail template is its subject line, a blank line, "
        "then the body"]
