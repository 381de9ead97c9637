"""`casework audit verify|checkpoint|keygen`: each tampering a database owner can do with raw
SQL is found, with and without a signed checkpoint, on both databases."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from engine.cases.context import Actor
from engine.cli.main import main
from engine.kernel.history import iso
from engine.kernel.protection import Act, ProtectionDraft
from engine.kernel.settings import Settings
from engine.store import Database
from engine.store.protection_log import append_protection
from engine.store.schema import metadata, personal_values
from engine.store.upgrades import upgrade
from engine.wiring import open_casework
from engine.workflows.registry import table_files
from tests.cli.test_main import AGENT, edit_history, started
from tests.fixtures import ROOT, T0

Run = Callable[..., Result]
CASEWORK = str(Path(sys.executable).parent / "casework")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return tmp_path


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    made = CliRunner().invoke(main, ["audit", "keygen", str(tmp_path / "keys")])
    assert made.exit_code == 0, made.output
    private = next((tmp_path / "keys").glob("*.key"))
    assert private.stat().st_mode & 0o777 == 0o600
    return {"CASEWORK_CHECKPOINT_KEY": str(private),
            "CASEWORK_CHECKPOINT_PUBLIC_KEYS": str(private.with_suffix(".pub"))}


@pytest.fixture
def run(home: Path, database_url: str, keys: dict[str, str]) -> Run:
    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        given = {"CASEWORK_DATABASE_URL": database_url, "CASEWORK_NOW": "2026-03-02T09:00:00Z",
                 **keys, **(env or {})}
        return CliRunner().invoke(main, [*args, "--home", str(home)], env=given)

    for table in table_files(home):
        assert invoke("rules", "publish", str(table)).exit_code == 0
    for case_id in (started(invoke), started(invoke)):
        fired = invoke("cases", "fire", str(case_id), "triage", *AGENT, "--field",
                       "category=billing")
        assert fired.exit_code == 0, fired.output
    return invoke


def verified(run: Run, *args: str, env: dict[str, str] | None = None) -> Result:
    result = run("audit", "verify", *args, env=env)
    assert result.exit_code == 0, result.output
    return result


def broken(run: Run, *args: str) -> str:
    result = run("audit", "verify", *args)
    assert result.exit_code == 1, result.output
    return result.stdout + result.stderr


def sql(database_url: str, *statements: str) -> None:
    for statement in statements:
        edit_history(database_url, statement)


def sealed_comment(database_url: str, home: Path, case_id: int, text: str) -> str:
    """A comment, as the desk writes it: a marker in the event, the value in the vault.
    Returns the value's reference."""
    app = open_casework(Settings(home=home, database_url=database_url))
    try:
        case = app.store.get_case(case_id)
        app.desk.comment(case_id, text, Actor("ann", "agent"), case.updated_at)
        payload = json.loads(app.store.case_events(case_id)[-1].payload)
        return str(payload["text"]["$personal"])
    finally:
        app.close()


def erase(database_url: str, ref: str, reason: str) -> int:
    """What erasure does: the value and salt go, the vault row says when, by whom and which
    protection-log entry says why (appended after the log's head: adding the users logged
    theirs). Returns the entry's seq."""
    database = Database(database_url)
    try:
        with database.writing() as connection:
            seq = append_protection(connection, ProtectionDraft(
                Act.CUSTOMER_ERASED, "C1", reason, {}), "max", T0 + timedelta(days=1))
            connection.execute(sa.update(personal_values).where(personal_values.c.ref == ref)
                               .values(value=None, salt=None, erased_at=T0 + timedelta(days=1),
                                       erased_by="max", erasure_seq=seq))
    finally:
        database.dispose()
    return seq


def delete_case(database_url: str, case_id: int) -> None:
    """A case removed with everything that names it, as a database owner could."""
    statements = [f"DELETE FROM entry_attachments WHERE entry_id IN (SELECT id FROM "
                  f"case_entries WHERE case_id = {case_id})"]
    statements += [f"DELETE FROM {table.name} WHERE case_id = {case_id}"
                   for table in reversed(metadata.sorted_tables)
                   if "case_id" in table.c and table.name != "personal_values"]
    statements.append(f"DELETE FROM cases WHERE id = {case_id}")
    sql(database_url, *statements)


# --- without a checkpoint ---------------------------------------------------------------------


def test_an_honest_history_verifies_and_says_what_it_checked(run: Run) -> None:
    out = verified(run).stdout
    assert "chains: 2 case, 0 customer; events:" in out
    assert "erased values: 0 in 0 erasure(s)" in out
    assert "deletions by retention: 0" in out
    assert out.splitlines()[-1] == "ok: 2 case and 0 customer histories intact"


@pytest.mark.parametrize(("statements", "says"), [
    (["UPDATE events SET payload = replace(payload, 'billing', 'refund') "
      "WHERE case_id = 1 AND name = 'case.field_changed'"],
     "case 1: event 8: 'case.field_changed' was altered"),
    (["UPDATE cases SET state = 'resolved' WHERE id = 1"],
     "case 1: its state is 'resolved' but its history says 'in_progress'"),
    (["UPDATE cases SET fields = '{\"channel\": \"phone\", \"summary\": \"Invoice wrong\", "
      "\"category\": \"quality\"}' WHERE id = 1"],
     "case 1: field 'category' is \"quality\" but its history says \"billing\""),
    (["UPDATE cases SET assignee = 'max' WHERE id = 1"],
     "case 1: its assignee is 'max' but its history says"),
])
def test_a_row_or_event_edited_behind_caseworks_back_is_found(
        run: Run, database_url: str, statements: list[str], says: str) -> None:
    verified(run)
    sql(database_url, *statements)
    out = broken(run)
    assert says in out
    assert "case 2" not in out
    assert "1 of 2 case and 0 customer histories are damaged" in out


def test_a_deleted_last_event_with_a_rewritten_head_is_found_without_a_checkpoint(
        run: Run, database_url: str, home: Path) -> None:
    truncate = ("DELETE FROM events WHERE case_id = {case} AND seq = {seq}",
                "UPDATE cases SET history_seq = {seq} - 1, history_head = (SELECT hash FROM "
                "events WHERE case_id = {case} AND seq = {seq} - 1) WHERE id = {case}")
    # the triage's last event gave the case to ann: the row's assignee now disagrees
    sql(database_url, *(s.format(case=1, seq=9) for s in truncate))
    assert "case 1: its assignee is 'ann' but its history says None" in broken(run)
    # a later comment changes nothing on the row but its updated_at
    app = open_casework(Settings(home=home, database_url=database_url))
    app.desk.comment(2, "called back", Actor("ann", "agent"), T0 + timedelta(hours=2))
    app.close()
    sql(database_url, *(s.format(case=2, seq=10) for s in truncate))
    out = broken(run)
    assert ("case 2: it was last updated at 2026-03-02T11:00:00Z but its newest event is of "
            "2026-03-02T09:00:00Z (later events were removed, or the row was edited)") in out


def test_personal_values_are_checked_in_the_vault_and_erasures_reported(
        run: Run, database_url: str, home: Path) -> None:
    ref = sealed_comment(database_url, home, 1, "call me on 555-0100")
    verified(run)
    sql(database_url, "UPDATE personal_values SET value = '\"call me on 555-0199\"' "
        f"WHERE ref = '{ref}'")
    out = broken(run)
    assert f"vault value {ref[:12]} (customer C1, case 1): its value is not the one" in out
    sql(database_url, "UPDATE personal_values SET value = '\"call me on 555-0100\"' "
        f"WHERE ref = '{ref}'")
    seq = erase(database_url, ref, "the customer asked (GDPR art. 17)")
    out = verified(run).stdout
    assert "erased values: 1 in 1 erasure(s)" in out
    assert (f"erasure {seq}: 1 value(s) erased at {iso(T0 + timedelta(days=1))} by max: the "
            "customer asked (GDPR art. 17)") in out
    sql(database_url, f"DELETE FROM personal_values WHERE ref = '{ref}'")
    out = broken(run)
    assert f"refers to personal value {ref[:12]}, which the vault no longer holds" in out


@pytest.mark.parametrize(("statement", "says"), [
    ("UPDATE protection_log SET reason = 'routine' WHERE act = 'customer.erased'",
     "protection log: entry {seq} (customer.erased) was altered"),
    ("DELETE FROM protection_log WHERE act = 'customer.erased'",
     "was erased by protection-log entry {seq}, which the log no longer holds"),
])
def test_an_edited_or_removed_protection_entry_is_found(
        run: Run, database_url: str, home: Path, statement: str, says: str) -> None:
    seq = erase(database_url, sealed_comment(database_url, home, 1, "Ann Smith"), "asked")
    verified(run)
    sql(database_url, statement)
    assert says.format(seq=seq) in broken(run)


def test_a_removed_protection_entry_is_found_against_a_checkpoint(
        run: Run, database_url: str, home: Path, tmp_path: Path) -> None:
    seq = erase(database_url, sealed_comment(database_url, home, 1, "Ann Smith"), "asked")
    checkpoint = tmp_path / "c.json"
    assert run("audit", "checkpoint", "--out", str(checkpoint)).exit_code == 0
    sql(database_url, "DELETE FROM protection_log WHERE act = 'customer.erased'",
        "UPDATE personal_values SET erasure_seq = NULL")
    out = broken(run, "--against", str(checkpoint))
    assert f"protection log: entry {seq}, which the checkpoint of 2026-03-02T09:00:00Z " \
           "recorded, was removed or rewritten since" in out


# --- against a checkpoint --------------------------------------------------------------------


def test_a_truncated_chain_is_found_against_a_checkpoint(
        run: Run, database_url: str, tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.json"
    assert run("audit", "checkpoint", "--out", str(checkpoint)).exit_code == 0
    assert "nothing removed or rewritten since" in verified(
        run, "--against", str(checkpoint)).stdout
    # the deletion and the head rewritten, and the row's updated_at made to agree
    sql(database_url, "DELETE FROM events WHERE case_id = 1 AND seq = 9",
        "UPDATE cases SET history_seq = 8, history_head = (SELECT hash FROM events "
        "WHERE case_id = 1 AND seq = 8), updated_at = (SELECT at FROM events "
        "WHERE case_id = 1 AND seq = 8) WHERE id = 1")
    assert "case 1: it was last updated" not in broken(run)
    out = broken(run, "--against", str(checkpoint))
    assert ("case 1: event 9: the checkpoint of 2026-03-02T09:00:00Z recorded this event; it "
            "was removed since") in out
    assert "case_events: " in out


def test_a_whole_deleted_case_is_found_against_a_checkpoint(
        run: Run, database_url: str, tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.json"
    assert run("audit", "checkpoint", "--out", str(checkpoint)).exit_code == 0
    delete_case(database_url, 2)
    verified(run)  # without an anchor, a whole case leaves no trace
    out = broken(run, "--against", str(checkpoint))
    assert "case 2: was removed since the checkpoint of 2026-03-02T09:00:00Z (it had" in out
    assert "no retention deletion records it" in out
    assert "count of: cases: 1 now, 2 at the checkpoint" in out


def test_a_case_deleted_by_retention_is_reported_not_as_damage(
        run: Run, database_url: str, tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.json"
    assert run("audit", "checkpoint", "--out", str(checkpoint)).exit_code == 0
    head = json.loads(checkpoint.read_text())["checkpoint"]["cases"]["2"]
    delete_case(database_url, 2)
    database = Database(database_url)
    try:
        with database.writing() as connection:
            append_protection(connection, ProtectionDraft(Act.CASE_DELETED, "2", "closed for 5y", {
                "workflow": "complaint", "customer": "C1", "history_seq": head[0],
                "history_head": head[1], "closed_at": iso(T0)}), "retention", T0)
    finally:
        database.dispose()
    out = verified(run, "--against", str(checkpoint)).stdout
    assert "deletions by retention: 1" in out
    assert f"case 2 ({head[0]} events) deleted at {iso(T0)} by retention: closed for 5y" in out


def test_checkpoints_chain_and_refuse_bad_signatures_edits_and_unknown_keys(
        run: Run, tmp_path: Path, keys: dict[str, str]) -> None:
    folder = tmp_path / "checkpoints"
    first = run("audit", "checkpoint", env={"CASEWORK_CHECKPOINT_DIR": str(folder)})
    assert first.exit_code == 0, first.output
    second = run("audit", "checkpoint", "--out", str(tmp_path / "2.json"),
                 env={"CASEWORK_CHECKPOINT_DIR": str(folder)})
    assert second.exit_code == 0, second.output
    older = next(folder.glob("checkpoint-*.json"))
    signed = json.loads((tmp_path / "2.json").read_text())
    assert signed["checkpoint"]["previous"] == hashlib.sha256(older.read_bytes()).hexdigest()
    content = signed["checkpoint"]
    assert content["counts"]["cases"] == 2 and set(content["cases"]) == {"1", "2"}

    def refused(document: dict[str, Any], says: str, env: dict[str, str] | None = None) -> None:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(document))
        result = run("audit", "verify", "--against", str(path), env=env)
        assert result.exit_code == 1
        assert says in result.stderr

    refused({**signed, "signature": signed["signature"][:-4] + "AAA="},
            "signature does not hold")
    refused({**signed, "checkpoint": {**content, "cases": {**content["cases"], "1": [3, "0"]}}},
            "signature does not hold: it was edited after it was signed")
    made = CliRunner().invoke(main, ["audit", "keygen", str(tmp_path / "new")])
    assert made.exit_code == 0
    new_public = str(next((tmp_path / "new").glob("*.pub")))
    refused(signed, "which is not among the public keys given",
            env={"CASEWORK_CHECKPOINT_PUBLIC_KEYS": new_public})
    # rotation: the new key signs, the old public key still verifies old checkpoints
    both = f"{new_public},{keys['CASEWORK_CHECKPOINT_PUBLIC_KEYS']}"
    verified(run, "--against", str(tmp_path / "2.json"),
             env={"CASEWORK_CHECKPOINT_PUBLIC_KEYS": both})
    refused({"not": "a checkpoint"}, "is not a signed checkpoint")


def test_a_checkpoint_of_another_installation_is_refused(run: Run, home: Path,
                                                         tmp_path: Path,
                                                         keys: dict[str, str]) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    database = Database(other)
    upgrade(database)
    database.dispose()
    env = {"CASEWORK_DATABASE_URL": other, **keys}
    taken = CliRunner().invoke(main, ["audit", "checkpoint", "--out", str(tmp_path / "o.json"),
                                      "--home", str(home)], env=env)
    assert taken.exit_code == 0, taken.output
    result = run("audit", "verify", "--against", str(tmp_path / "o.json"))
    assert result.exit_code == 1
    assert "the checkpoint is of installation" in result.stderr
    assert "verify it against its own database" in result.stderr


def test_a_checkpoint_needs_a_key(run: Run, tmp_path: Path) -> None:
    result = run("audit", "checkpoint", "--out", str(tmp_path / "c.json"),
                 env={"CASEWORK_CHECKPOINT_KEY": ""})
    assert result.exit_code == 1
    assert "set CASEWORK_CHECKPOINT_KEY" in result.stderr


def test_the_worker_writes_a_signed_checkpoint_every_so_often_each_naming_the_one_before(
        run: Run, home: Path, database_url: str, keys: dict[str, str],
        tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    env = {**os.environ, "CASEWORK_DATABASE_URL": database_url, "CASEWORK_HOME": str(home),
           "CASEWORK_CHECKPOINT_DIR": str(folder), **keys}
    env.pop("CASEWORK_NOW", None)
    worker = subprocess.Popen([CASEWORK, "worker", "--interval", "5", "--checkpoint-every",
                               "1.2"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(folder.glob("checkpoint-*.json"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, errors = worker.communicate(timeout=60)
    assert worker.returncode == 0, errors
    first, second = sorted(folder.glob("checkpoint-*.json"))[:2]
    assert "checkpoint written to" in out
    signed = json.loads(second.read_text())
    assert signed["checkpoint"]["previous"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert signed["checkpoint"]["counts"]["cases"] == 2
    verified(run, "--against", str(second))


def test_the_worker_refuses_checkpoints_without_a_folder_to_write_them_to(run: Run) -> None:
    refused = run("worker", "--checkpoint-every", "60", env={"CASEWORK_NOW": ""})
    assert refused.exit_code == 2
    assert "CASEWORK_CHECKPOINT_DIR" in refused.stderr
