"""A customer's data exported whole and erased everywhere, the history still verifying: on
SQLite the database files, on PostgreSQL a pg_dump, hold none of the erased values after."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.cases.conversation import Conversation, EntryKind, Limits, Upload
from engine.cases.runtime import Actor
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.personal import ref_of
from engine.store.erasure import SqlPersonalData
from engine.wiring import Casework
from tests.fixtures import T0
from tests.pgserver import server_binaries

ANN = Actor("ann", "agent")
# Values no other row holds, so that finding one in the files means it was not erased.
NAME, EMAIL, PHONE = "Zhou Xiaoyan", "zhou.xiaoyan.4711@example.cn", "+86 139 4711 0815"
SUMMARY = "Zhou's invoice 4711-ZX was charged twice"
NOTE, MESSAGE = "Zhou called from her office line", "Dear Ms Zhou, we refund 4711-ZX today"
COMMENT, FILE = "Zhou is upset about 4711-ZX", b"%PDF-1.4 Zhou Xiaoyan bank statement"
SECRETS = (NAME, EMAIL, PHONE, SUMMARY, NOTE, MESSAGE, COMMENT, "Zhou Xiaoyan bank")


@pytest.fixture
def held(casework: Casework, tmp_path: Path) -> tuple[Casework, SqlPersonalData, int]:
    """A customer with a complaint, a note, a message, a comment and a file."""
    folder = tmp_path / "files"
    casework.customer_editor.create("Z1", {"name": NAME, "email": EMAIL, "phone": PHONE},
                                    "ann", "agent", T0)
    casework.customers.add("C9", T0, name="Somebody Else", email="else@example.org")
    case_id = casework.runtime.start("complaint", {"channel": "phone", "summary": SUMMARY},
                                     ANN, T0, customer="Z1").id
    other = casework.runtime.start("complaint", {"channel": "phone", "summary": "Other one"},
                                   ANN, T0, customer="C9").id
    talk = Conversation(casework.conversation.store, casework.runtime,
                        Limits(folder, 10_000, frozenset({"application/pdf"})))
    later = T0 + timedelta(minutes=5)
    talk.record(case_id, EntryKind.NOTE, NOTE, ANN, later,
                files=[Upload("statement.pdf", "application/pdf", FILE)])
    talk.record(case_id, EntryKind.TO_CUSTOMER, MESSAGE, ANN, later)
    talk.record(other, EntryKind.NOTE, "kept note", ANN, later)
    casework.desk.comment(case_id, COMMENT, ANN, later)
    data = SqlPersonalData(casework.database,
                           lambda d: casework.registry.get(d).spec.personal, folder)
    return casework, data, case_id


def _texts(casework: Casework, case_id: int) -> str:
    return " ".join(e.payload for e in casework.store.case_events(case_id))


def test_the_history_holds_markers_where_personal_values_were(
        held: tuple[Casework, SqlPersonalData, int]) -> None:
    casework, _, case_id = held
    texts = _texts(casework, case_id) + " ".join(
        e.payload for e in casework.customers.history("Z1"))
    assert not [s for s in (NAME, EMAIL, PHONE, SUMMARY, COMMENT) if s in texts]
    created = json.loads(casework.store.case_events(case_id)[0].payload)
    assert ref_of(created["fields"]["summary"]) is not None
    assert created["fields"]["channel"] == "phone"  # not personal: kept as it is
    assert casework.verify_history()[2] == []


def test_export_lists_everything_held_about_the_customer(
        held: tuple[Casework, SqlPersonalData, int]) -> None:
    _, data, case_id = held
    exported = data.export_customer("Z1", T0)
    text = json.dumps(exported, ensure_ascii=False)
    assert all(s in text for s in (NAME, EMAIL, PHONE, SUMMARY, NOTE, MESSAGE, COMMENT))
    assert "Other one" not in text and "kept note" not in text  # another customer's
    [case] = exported["cases"]
    assert case["id"] == case_id and case["fields"]["summary"] == SUMMARY
    created = case["history"][0]
    assert created["name"] == "case.created" and created["payload"]["fields"]["summary"] \
        == SUMMARY  # the history shown with its values back in place
    [note, message] = case["conversation"]
    assert (note["body"], message["body"]) == (NOTE, MESSAGE)
    assert note["files"][0]["name"] == "statement.pdf"
    assert case["mails"][0]["address"] == EMAIL
    assert exported["history"][0]["payload"]["fields"]["email"] == EMAIL
    with pytest.raises(NotFound, match="customer 'nobody' does not exist"):
        data.export_customer("nobody", T0)


def test_erasure_removes_every_personal_value_and_the_history_still_verifies(
        held: tuple[Casework, SqlPersonalData, int], database_url: str) -> None:
    casework, data, case_id = held
    # the search can find them before: they are there to be found
    assert set(_found_in_database(casework, database_url, SECRETS)) >= {NAME, EMAIL, SUMMARY}
    done = data.erase_customer("Z1", "dpo", "request of 2026-12-01, ticket 88", T0 + timedelta(
        days=1))
    assert (done.cases, done.entries, done.files) == ((case_id,), 2, 1)
    assert done.values >= 5
    assert casework.verify_history()[2] == []
    assert not list(data.folder.iterdir())  # the file is gone
    # what stays: the case, its state and the fields that identify nobody, the figures
    case = casework.store.get_case(case_id)
    assert case.fields.get("channel") == "phone" and "summary" not in case.fields
    names = [e.name for e in casework.store.case_events(case_id)]
    assert names[-1] == "case.erased"
    exported = data.export_customer("Z1", T0 + timedelta(days=2))
    erased = exported["cases"][0]["history"][0]["payload"]["fields"]["summary"]["erased"]
    assert (erased["by"], erased["reason"]) == ("dpo", "request of 2026-12-01, ticket 88")
    assert exported["customer"]["name"] is None and exported["customer"]["erased_at"]
    assert not [s for s in SECRETS if s in json.dumps(exported, ensure_ascii=False)]
    # the other customer's case is untouched
    assert data.export_customer("C9", T0)["cases"][0]["conversation"][0]["body"] == "kept note"
    found = _found_in_database(casework, database_url, SECRETS)
    assert found == [], f"erased values still in the database files: {found}"


def test_erasing_twice_an_unknown_customer_or_without_a_reason_is_refused(
        held: tuple[Casework, SqlPersonalData, int]) -> None:
    casework, data, _ = held
    with pytest.raises(NotFound, match="customer 'nobody' does not exist"):
        data.erase_customer("nobody", "dpo", "asked", T0)
    with pytest.raises(InvalidInput, match="'reason': is empty"):
        data.erase_customer("Z1", "dpo", "  ", T0)
    assert data.export_customer("Z1", T0)["customer"]["name"] == NAME  # nothing changed
    data.erase_customer("Z1", "dpo", "asked", T0)
    with pytest.raises(InvalidInput, match="'Z1' was erased already"):
        data.erase_customer("Z1", "dpo", "asked", T0)
    assert casework.verify_history()[2] == []


def test_a_case_alone_can_be_erased_and_its_customer_keeps_the_record(
        held: tuple[Casework, SqlPersonalData, int]) -> None:
    casework, data, case_id = held
    done = data.erase_case(case_id, "retention", "closed for 5 years", T0)
    assert done.cases == (case_id,) and done.entries == 2
    exported = data.export_customer("Z1", T0)
    assert exported["customer"]["name"] == NAME
    assert exported["cases"][0]["conversation"][0]["body"] == ""
    assert casework.verify_history()[2] == []
    with pytest.raises(NotFound, match="case 9999 does not exist"):
        data.erase_case(9999, "retention", "closed", T0)


def _found_in_database(casework: Casework, url: str, needles: tuple[str, ...]) -> list[str]:
    """The needles found in the SQLite files (database and write-ahead log) or in a pg_dump
    of the PostgreSQL database."""
    if url.startswith("sqlite"):
        path = Path(sa.make_url(url).database or "")
        content = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    else:
        bindir = server_binaries()
        assert bindir is not None
        parsed = sa.make_url(url)
        dumped = subprocess.run(
            [str(bindir / "pg_dump"), "--data-only", "-h", parsed.host or "localhost",
             "-p", str(parsed.port), "-U", parsed.username or "postgres",
             parsed.database or ""], capture_output=True, check=True)
        content = dumped.stdout
    return [n for n in needles if n.encode() in content]


def test_a_marker_shows_its_value_until_it_is_erased(
        held: tuple[Casework, SqlPersonalData, int]) -> None:
    casework, data, case_id = held
    summary_ref = ref_of(json.loads(casework.store.case_events(case_id)[0].payload)[
        "fields"]["summary"])
    assert summary_ref is not None
    assert data.values([summary_ref]) == {summary_ref: SUMMARY}
    data.erase_customer("Z1", "dpo", "asked", T0)
    [erased] = data.values([summary_ref]).values()
    assert (erased.by, erased.reason) == ("dpo", "asked")
