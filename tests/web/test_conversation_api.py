"""/api/cases/{id}/entries and /files: the conversation for other systems, over tokens."""

from __future__ import annotations

import base64

from engine.cases.runtime import Actor
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import Auth, Client

PNG = b"\x89PNG\r\n\x1a\n a tiny test image"


def test_entries_are_added_read_and_their_files_served(desk: Casework, api: Client,
                                                        auth: Auth) -> None:
    desk.customers.add("A1", T0, email="a1@example.org")
    case_id = desk.runtime.start("complaint", {"channel": "email", "summary": "Late"},
                                 Actor("ann", "agent"), T0, customer="A1").id
    ann = auth("ann")
    added = api.post(f"/api/cases/{case_id}/entries", headers=ann, json={
        "kind": "to_customer", "body": "Your parcel left today.",
        "files": [{"file_name": "label.png", "media_type": "image/png",
                   "content_base64": base64.b64encode(PNG).decode()}]})
    assert added.status_code == 201, added.text
    entry = added.json()
    assert (entry["kind"], entry["author"], entry["delivery"]) == ("to_customer", "ann", "queued")
    (file,) = entry["files"]
    assert file["size"] == len(PNG)
    got = api.get(file["url"], headers=ann)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"].startswith("image/png")
    listed = api.get(f"/api/cases/{case_id}/entries", headers=auth("ada"))
    assert [e["body"] for e in listed.json()] == ["Your parcel left today."]
    assert api.get("/api/cases/99999/entries", headers=ann).status_code == 404


def test_bad_entries_are_refused_with_their_reason(desk: Casework, api: Client,
                                                   auth: Auth) -> None:
    desk.customers.add("A2", T0)  # no email address
    case_id = desk.runtime.start("complaint", {"channel": "phone", "summary": "Noisy"},
                                 Actor("ann", "agent"), T0, customer="A2").id
    ann, path = auth("ann"), f"/api/cases/{case_id}/entries"
    no_mail = api.post(path, headers=ann, json={"kind": "to_customer", "body": "Hello"})
    assert no_mail.status_code == 422 and "no email address" in no_mail.text
    not_b64 = api.post(path, headers=ann, json={"kind": "note", "body": "x", "files": [
        {"file_name": "a.pdf", "media_type": "application/pdf", "content_base64": "@@@"}]})
    assert not_b64.status_code == 422 and "is not base64" in not_b64.text
    unknown = api.post(path, headers=ann, json={"kind": "gossip", "body": "x"})
    assert unknown.status_code in (400, 422) and "kind" in unknown.text
    stale = api.post(path, headers=ann, json={"kind": "note", "body": "x",
                                               "expected_version": 99})
    assert stale.status_code == 409
    auditor = api.post(path, headers=auth("ada"), json={"kind": "note", "body": "x"})
    assert auditor.status_code == 403
    assert desk.conversation.entries(case_id) == []


def test_a_request_sent_again_with_its_key_writes_nothing_more(desk: Casework, api: Client,
                                                                auth: Auth) -> None:
    desk.customers.add("A3", T0, email="a3@example.org")
    case_id = desk.runtime.start("complaint", {"channel": "email", "summary": "Late"},
                                 Actor("ann", "agent"), T0, customer="A3").id
    ann = {**auth("ann"), "Idempotency-Key": "2b1f6c1e-entry"}
    body = {"kind": "to_customer", "body": "Your parcel left today."}
    first = api.post(f"/api/cases/{case_id}/entries", headers=ann, json=body)
    again = api.post(f"/api/cases/{case_id}/entries", headers=ann, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(desk.conversation.entries(case_id)) == 1
    # one mail of the message, not two (the other is the acknowledgement of the intake)
    assert len([n for n in desk.timers.notices()
                if n.case_id == case_id and not n.automatic]) == 1
