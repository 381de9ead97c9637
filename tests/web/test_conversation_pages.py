"""The conversation on the case page: notes, replies (outbox), the customer's message from a
call, files served only through their own case, and refusals that keep what was typed."""

from __future__ import annotations

import html
from collections.abc import Callable

import httpx

from engine.cases.conversation import EntryKind
from engine.cases.runtime import Actor
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import Client, csrf

ANN = Actor("ann", "agent")
PDF = b"%PDF-1.4\n% a small test file\n"


def complaint(desk: Casework, customer: str) -> int:
    return desk.runtime.start("complaint", {"channel": "phone", "summary": "Broken kettle"},
                              ANN, T0, customer=customer).id


def write(client: Client, case_id: int, kind: str, body: str,
          files: list[tuple[str, bytes, str]] | None = None) -> httpx.Response:
    """Post the conversation box of the case page, at the case's current revision."""
    casework: Casework = client.app.state.casework
    version = str(casework.store.get_case(case_id).lock_version)
    return client.post(f"/cases/{case_id}/entries", follow_redirects=False,
                       data={"kind": kind, "body": body, "version": version, **csrf(client)},
                       files=[("files", f) for f in files or []])


def test_a_reply_a_note_and_the_customers_message_land_in_the_conversation(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M1", T0, email="m1@example.org", name="Mei Wang")
    case_id = complaint(desk, "M1")
    ann = client_as("ann")
    assert write(ann, case_id, "to_customer", "We are on it.").status_code == 303
    assert write(ann, case_id, "note", "Check the <b>batch</b> number").status_code == 303
    assert write(ann, case_id, "from_customer", "It is batch 42").status_code == 303
    entries = desk.conversation.entries(case_id)
    assert [(e.kind, e.author, e.body) for e in entries] == [
        (EntryKind.TO_CUSTOMER, "ann", "We are on it."),
        (EntryKind.NOTE, "ann", "Check the <b>batch</b> number"),
        (EntryKind.FROM_CUSTOMER, "ann", "It is batch 42")]
    page = ann.get(f"/cases/{case_id}").text
    assert "queued for sending" in page
    assert "Check the &lt;b&gt;batch&lt;/b&gt; number" in page
    assert "<b>batch</b>" not in page
    assert "from the customer" in page and "internal note" in page


def test_a_reply_to_a_customer_without_email_keeps_the_text_as_a_draft(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M2", T0, name="No Mail")
    case_id = complaint(desk, "M2")
    ann = client_as("ann")
    refused = write(ann, case_id, "to_customer", "Your refund is on its way")
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "customer 'M2' has no email address" in text and "kept below as a draft" in text
    assert '>Your refund is on its way</textarea>' in text
    assert desk.conversation.entries(case_id) == []


def test_a_file_is_kept_and_served_only_through_its_own_case(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M3", T0, email="m3@example.org")
    case_id, other = complaint(desk, "M3"), complaint(desk, "M3")
    ann = client_as("ann")
    posted = write(ann, case_id, "note", "the invoice", [("发票.pdf", PDF, "application/pdf")])
    assert posted.status_code == 303
    (entry,) = desk.conversation.entries(case_id)
    (file,) = entry.attachments
    assert (file.file_name, file.size) == ("发票.pdf", len(PDF))
    got = ann.get(f"/cases/{case_id}/files/{file.id}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-disposition"].startswith('attachment; filename="__.pdf"')
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert ann.get(f"/cases/{other}/files/{file.id}").status_code == 404
    assert ann.get(f"/cases/{case_id}/files/{file.id + 99}").status_code == 404
    assert client_as("ada").get(f"/cases/{case_id}/files/{file.id}").status_code == 200


def test_a_refused_file_stores_nothing_and_says_why(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M4", T0, email="m4@example.org")
    case_id = complaint(desk, "M4")
    ann = client_as("ann")
    folder = desk.settings.attachments_folder
    before = sorted(folder.iterdir()) if folder.exists() else []
    refused = write(ann, case_id, "note", "see the script",
                    [("ok.pdf", PDF, "application/pdf"),
                     ("run.exe", b"MZ", "application/x-msdownload")])
    assert refused.status_code == 422
    assert "is not accepted" in html.unescape(refused.text)
    assert desk.conversation.entries(case_id) == []
    assert (sorted(folder.iterdir()) if folder.exists() else []) == before
    too_many = write(ann, case_id, "note", "six files",
                     [(f"{i}.pdf", PDF, "application/pdf") for i in range(6)])
    assert too_many.status_code == 422
    assert "an entry holds at most 5" in html.unescape(too_many.text)
    unknown = write(ann, case_id, "gossip", "hello")
    assert unknown.status_code == 422
    assert "'gossip' is not a kind of entry" in html.unescape(unknown.text)


def test_readers_see_the_conversation_but_cannot_write_to_it(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M5", T0, email="m5@example.org")
    case_id = complaint(desk, "M5")
    desk.conversation.record(case_id, EntryKind.NOTE, "internal only", ANN, T0)
    ada = client_as("ada")
    page = ada.get(f"/cases/{case_id}").text
    assert "internal only" in page and f'action="/cases/{case_id}/entries"' not in page
    refused = write(ada, case_id, "note", "an auditor's note")
    assert refused.status_code == 403
    assert len(desk.conversation.entries(case_id)) == 1


def test_a_canned_response_fills_the_box_for_the_case(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M6", T0, email="m6@example.org", name="Mei <Wang>")
    case_id = complaint(desk, "M6")
    ann = client_as("ann")
    page = ann.get(f"/cases/{case_id}").text
    assert '<option value="acknowledge">Acknowledge the complaint</option>' in page
    box = ann.get(f"/cases/{case_id}/response", params={"response": "acknowledge"})
    assert box.status_code == 200
    assert box.text.startswith('<textarea id="entry-body" name="body"')
    assert "Dear Mei &lt;Wang&gt;," in box.text and f"case {case_id}" in box.text
    assert "Ann" in box.text  # the person writing signs it
    blank = ann.get(f"/cases/{case_id}/response", params={"response": ""})
    assert blank.text.strip() == '<textarea id="entry-body" name="body" rows="8"></textarea>'
    missing = ann.get(f"/cases/{case_id}/response", params={"response": "nope"})
    assert missing.status_code == 404
    assert "no canned response 'nope'" in html.unescape(missing.text)


def test_the_same_form_sent_twice_writes_once_and_says_so(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("M7", T0, email="m7@example.org")
    case_id = complaint(desk, "M7")
    ann = client_as("ann")
    form = {"kind": "to_customer", "body": "A new kettle is on its way", "version": "1",
            "form_key": "k-7f3a9c", **csrf(ann)}
    first = ann.post(f"/cases/{case_id}/entries", data=form, follow_redirects=False)
    assert first.status_code == 303
    again = ann.post(f"/cases/{case_id}/entries", data=form, follow_redirects=False)
    assert again.status_code == 200  # not "someone else changed this case"
    assert "This was already added to the conversation" in html.unescape(again.text)
    assert [e.body for e in desk.conversation.entries(case_id)] == ["A new kettle is on its way"]
    assert [n.address for n in desk.timers.notices()
            if n.case_id == case_id and not n.automatic] == [
        "m7@example.org"]  # one mail, not two (beside the acknowledgement of the intake)
    other = ann.post(f"/cases/{case_id}/entries", data={**form, "kind": "note"})
    assert other.status_code == 422 and "was used by another request" in html.unescape(other.text)

