"""The public complaint form on both databases: it opens a complaint for the sender's customer
with the description as the first customer message; a bot caught by the hidden field and a
client over the hourly limit open nothing, and each is recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from engine.cases.conversation import Conversation, EntryKind, Limits, Upload
from engine.channels.public import Outcome
from engine.channels.webform import ComplaintForm, FormRateLimited, WebForm
from engine.kernel.errors import InvalidInput
from engine.store.surveys import SqlSurveys
from engine.wiring import Casework
from tests.fixtures import T0

FORM = ComplaintForm("Zhao Lei", "Zhao.Lei@example.com", "Kettle  leaks",
                     "The kettle I bought on 1 March leaks at the base.", "after_sales",
                     "+86 138 0013 8000")
PDF = Upload("receipt.pdf", "application/pdf", b"%PDF-1.4 the receipt")


@pytest.fixture
def form(casework: Casework, tmp_path: Path) -> WebForm:
    limits = Limits(tmp_path / "files", 1000, frozenset({"application/pdf"}))
    conversation = Conversation(casework.conversation.store, casework.runtime, limits)
    return WebForm(casework.store, conversation, casework.customer_editor, per_hour=3)


def outcomes(casework: Casework) -> list[tuple[str, str | None, int | None]]:
    return [(r.outcome.value, r.client, r.case_id)
            for r in SqlSurveys(casework.store).public_requests("form")]


def test_a_form_opens_a_web_complaint_for_a_new_potential_customer(
        casework: Casework, form: WebForm, tmp_path: Path) -> None:
    case_id = form.submit(ComplaintForm(**{**FORM.__dict__, "files": [PDF]}), "10.1.2.3", T0)
    assert case_id is not None
    case = casework.store.get_case(case_id)
    assert (case.workflow, case.state, case.fields["channel"], case.fields["summary"],
            case.fields["category"]) == ("complaint", "received", "web", "Kettle leaks",
                                         "after_sales")
    customer = casework.customers.customer(str(case.customer)).record
    assert (customer.email, customer.name, customer.status) == (
        "Zhao.Lei@example.com", "Zhao Lei", "potential")
    [entry] = casework.conversation.entries(case_id)
    assert (entry.kind, entry.author) == (EntryKind.FROM_CUSTOMER, "web form")
    assert entry.body == ("The kettle I bought on 1 March leaks at the base.\n\n"
                          "(phone: +86 138 0013 8000)")
    [attached] = entry.attachments
    assert (tmp_path / "files" / attached.storage_key).read_bytes() == PDF.content
    created = json.loads(casework.store.case_events(case_id)[0].payload)
    assert created["customer"] == customer.id
    assert outcomes(casework) == [("opened", "10.1.2.3", case_id)]
    # the same sender again: the same customer, a second complaint
    again = form.submit(FORM, "10.1.2.3", T0 + timedelta(minutes=5))
    assert again is not None and casework.store.get_case(again).customer == customer.id


def test_a_known_address_finds_its_customer(casework: Casework, form: WebForm) -> None:
    casework.customers.add("C9", T0, email="zhao.lei@example.com", name="Zhao Lei")
    case_id = form.submit(FORM, None, T0)
    assert case_id is not None and casework.store.get_case(case_id).customer == "C9"


def test_the_honeypot_opens_nothing_and_is_recorded(casework: Casework,
                                                    form: WebForm) -> None:
    caught = form.submit(ComplaintForm(**{**FORM.__dict__, "trap": "http://spam.example"}),
                         "198.51.100.4", T0)
    assert caught is None
    assert [c for c, *_ in casework.store.chains()] == []  # no case at all
    assert outcomes(casework) == [("honeypot", "198.51.100.4", None)]
    [request] = SqlSurveys(casework.store).public_requests("form")
    assert request.detail == "from 'Zhao.Lei@example.com'"


def test_a_client_over_the_hourly_limit_is_refused_others_are_not(
        casework: Casework, form: WebForm) -> None:
    for minute in range(3):
        form.submit(FORM, "203.0.113.9", T0 + timedelta(minutes=minute))
    with pytest.raises(FormRateLimited, match="3 forms were sent from your address"):
        form.submit(FORM, "203.0.113.9", T0 + timedelta(minutes=10))
    assert form.submit(FORM, "203.0.113.10", T0 + timedelta(minutes=10)) is not None
    # every form counts, the refused one too: an hour after it, the window has room again
    assert form.submit(FORM, "203.0.113.9", T0 + timedelta(minutes=71)) is not None
    assert [o for o, client, _ in outcomes(casework) if client == "203.0.113.9"] == [
        "opened", "opened", "opened", "limited", "opened"]


def test_a_form_that_does_not_do_opens_nothing_and_is_recorded(
        casework: Casework, form: WebForm) -> None:
    for number, (broken, field) in enumerate([
            ({"email": "not an address"}, "email"), ({"summary": "  "}, "summary"),
            ({"description": ""}, "description"), ({"category": "weather"}, "category")]):
        with pytest.raises(InvalidInput) as refused:
            form.submit(ComplaintForm(**{**FORM.__dict__, **broken}), f"10.9.9.{number}", T0)
        assert refused.value.field == field
    assert [c for c, *_ in casework.store.chains()] == []
    assert [o for o, _, _ in outcomes(casework)] == [Outcome.INVALID.value] * 4
