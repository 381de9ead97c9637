"""The retention job (engine/jobs/retention.py, engine/store/retention.py): closed cases past
their rule deleted whole, held ones left, each logged, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from engine.cases.conversation import Upload
from engine.cases.runtime import Actor
from engine.jobs.retention import Retention
from engine.kernel.protection import Act, check_entries
from engine.rules.retention import load_retention_text
from engine.store.protection_log import SqlProtectionLog
from engine.store.retention import SqlRetention
from engine.store.schema import (
    case_entries,
    cases,
    entry_attachments,
    events,
    inbound_mail,
    outbox,
    sla_clocks,
    surveys,
    timers,
)
from engine.wiring import Casework
from tests.fixtures import T0

ANN = Actor("ann", "agent")
MANAGER = Actor("max", "manager")
RESOLVED = {"resolution": "Refunded", "root_cause": "Double booking", "remedy": "refund"}
RULES = "retention:\n  complaint: {closed_for: 1y, then: delete}\n" \
        "  record_review: {closed_for: 1y, then: erase_personal}\n"
LATER = T0 + timedelta(days=800)


def closed_complaint(desk: Casework, customer: str, summary: str) -> int:
    case_id = desk.runtime.start("complaint", {"channel": "email", "summary": summary}, ANN, T0,
                                 customer=customer).id
    desk.conversation.record(case_id, "note", "Called back", ANN, T0,
                             [Upload("receipt.txt", "text/plain", b"receipt")])
    desk.runtime.fire(case_id, "triage", ANN, T0, {"category": "billing"})
    desk.runtime.fire(case_id, "resolve", ANN, T0, RESOLVED)
    desk.runtime.fire(case_id, "close", ANN, T0, {"csat": 4})
    return case_id


def retention(desk: Casework, rules: str = RULES) -> Retention:
    loaded = load_retention_text(rules, "retention.yaml", desk.registry.workflow_names())
    return Retention(SqlRetention(desk.database), lambda: loaded,
                     desk.settings.attachments_folder)


def rows_of(desk: Casework, case_id: int) -> dict[str, int]:
    counted = {}
    with desk.database.reading() as connection:
        for table in (cases, events, timers, sla_clocks, case_entries, outbox, surveys):
            column = table.c.id if table is cases else table.c.case_id
            counted[table.name] = connection.execute(
                sa.select(sa.func.count()).select_from(table).where(column == case_id)
            ).scalar_one()
        counted["entry_attachments"] = connection.execute(
            sa.select(sa.func.count()).select_from(entry_attachments.join(case_entries))
            .where(case_entries.c.case_id == case_id)).scalar_one()
    return counted


def test_a_run_deletes_what_is_due_and_leaves_what_is_held(desk: Casework) -> None:
    desk.customers.add("C9", T0, email="c9@example.org")
    gone = closed_complaint(desk, "C9", "Charged twice")
    held = closed_complaint(desk, "C7", "Parcel lost")
    still_open = desk.runtime.start("complaint", {"channel": "email", "summary": "Late"}, ANN,
                                    T0, customer="C1").id
    with desk.database.writing() as connection:  # a mail that landed on the case
        connection.execute(sa.insert(inbound_mail).values(
            message_id="<m1@example.org>", received_at=T0, sender="c9@example.org",
            subject="Charged twice", case_id=gone, outcome="answered"))
    files = sorted(desk.settings.attachments_folder.iterdir())
    assert len(files) == 2
    assert all(rows_of(desk, gone).values())
    hold = desk.holds.place(MANAGER, "C7", None, "claim pending", T0)
    job = retention(desk)

    dry = job.run(LATER, dry_run=True)
    assert (dry.deleted, dry.held, dry.failed) == ([gone], [held], {})
    assert all(rows_of(desk, gone).values())
    assert SqlProtectionLog(desk.database).entries()[-1].act == Act.HOLD_PLACED

    done = job.run(LATER)
    assert (done.deleted, done.held, done.failed) == ([gone], [held], {})
    assert not any(rows_of(desk, gone).values())
    kept = rows_of(desk, held)  # C7 has no address: no mail, no survey
    assert kept["cases"] == kept["entry_attachments"] == 1 and kept["events"] > 5
    assert rows_of(desk, still_open)["cases"] == 1
    with desk.database.reading() as connection:
        kept_file = connection.execute(sa.select(entry_attachments.c.storage_key)).scalar_one()
    assert [p.name for p in files if p.exists()] == [kept_file]  # the deleted case's file went
    with desk.database.reading() as connection:
        assert connection.execute(sa.select(inbound_mail.c.case_id)).scalar_one() is None
    assert desk.case_search.search("Charged").cases == []
    entries = SqlProtectionLog(desk.database).entries()
    deleted, run = entries[-2], entries[-1]
    assert (deleted.act, deleted.subject, deleted.actor) == (Act.CASE_DELETED, str(gone),
                                                            "casework")
    payload = json.loads(deleted.payload)
    assert payload["workflow"] == "complaint" and payload["customer"] == "C9"
    assert payload["history_seq"] > 5 and len(payload["history_head"]) == 64
    assert payload["closed_at"].startswith(T0.date().isoformat())
    assert "kept 1y" in deleted.reason
    assert run.act == Act.RETENTION_RUN
    assert json.loads(run.payload)["deleted"] == 1 and json.loads(run.payload)["held"] == 1
    assert check_entries(entries) is None
    assert desk.verify_history()[2] == []

    again = job.run(LATER)
    assert (again.deleted, again.held) == ([], [held])
    desk.holds.release(MANAGER, hold.id, "claim settled", LATER)
    assert job.run(LATER).deleted == [held]
    assert rows_of(desk, held)["cases"] == 0


def test_erasure_waits_until_casework_has_it_and_young_cases_stay(desk: Casework) -> None:
    case_id = closed_complaint(desk, "C1", "Wrong size")
    young = retention(desk).run(T0 + timedelta(days=300))
    assert young.counts() == {"deleted": 0, "erased": 0, "held": 0, "failed": 0, "waiting": 0}
    rules = "retention:\n  complaint: {closed_for: 1y, then: erase_personal}\n"
    waiting = retention(desk, rules).run(LATER)
    assert (waiting.waiting, waiting.erased) == ([case_id], [])
    assert rows_of(desk, case_id)["cases"] == 1


def test_the_wired_job_erases_complaints_after_the_shipped_five_years(desk: Casework) -> None:
    desk.customers.add("C9", T0, name="Chen Li", email="c9@example.org")
    case_id = closed_complaint(desk, "C9", "Charged twice")
    assert set(desk.retention.rules()) >= {"complaint", "record_review"}
    assert desk.retention.run(T0 + timedelta(days=365 * 4)).counts()["erased"] == 0
    done = desk.retention.run(T0 + timedelta(days=365 * 6))
    assert (done.erased, done.deleted, done.failed) == ([case_id], [], {})
    assert rows_of(desk, case_id)["cases"] == 1  # erased, not deleted
    assert [e.body for e in desk.conversation.entries(case_id)] != ["Called back"]
    erased = [e for e in SqlProtectionLog(desk.database).entries() if e.act == Act.CASE_ERASED]
    assert [e.subject for e in erased] == [str(case_id)]
    assert "retention: complaint closed" in erased[0].reason
    assert desk.retention.run(T0 + timedelta(days=365 * 7)).erased == []  # done already
    assert desk.verify_history()[2] == []
    assert check_entries(SqlProtectionLog(desk.database).entries()) is None


def test_history_stays_append_only_for_a_deletion_nobody_logged(desk: Casework) -> None:
    case_id = closed_complaint(desk, "C1", "Wrong size")
    with desk.database.engine.connect() as connection:
        try:
            connection.execute(sa.delete(events).where(events.c.case_id == case_id))
        except sa.exc.DBAPIError as exc:
            assert "history is append-only" in str(exc)
        else:
            raise AssertionError("the events of a case were deleted without a logged deletion")
        finally:
            connection.rollback()
    assert rows_of(desk, case_id)["events"] > 5
