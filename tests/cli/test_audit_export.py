"""`casework audit export|verify-export`: a signed export verifies offline from the file alone,
with its personal values shown; each row removed, edited or reordered, a truncated file, a
flipped signature and another key are found, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cases.audit import AuditQuery
from engine.cases.audit_exports import export_lines
from engine.cases.context import Actor
from engine.cli.main import main
from engine.kernel.checkpoints import load_private_key
from engine.kernel.settings import Settings
from engine.kernel.signed_exports import check_export
from engine.wiring import open_casework
from tests.cli import test_audit
from tests.cli.test_audit import Run, erase, sealed_comment

# the fixtures of the audit tests: a home, a key pair, and two cases triaged
home, keys, run = test_audit.home, test_audit.keys, test_audit.run

COMMENT = "call me on +44 20 7946 0000"


def exported(run: Run, out: Path, *args: str) -> list[dict[str, Any]]:
    result = run("audit", "export", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert not out.with_name(out.name + ".part").exists()
    return [json.loads(line) for line in out.read_text().splitlines()]


def checked(run: Run, path: Path, *args: str) -> str:
    result = run("audit", "verify-export", str(path), *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(run: Run, path: Path, *args: str) -> str:
    result = run("audit", "verify-export", str(path), *args)
    assert result.exit_code == 1, result.output
    return result.stdout + result.stderr


def test_an_export_is_signed_and_verifies_with_its_personal_values(
        run: Run, database_url: str, home: Path, tmp_path: Path) -> None:
    ref = sealed_comment(database_url, home, 1, COMMENT)
    out = tmp_path / "audit.jsonl"
    lines = exported(run, out)
    *rows, last = lines
    trailer = last["trailer"]
    assert trailer["format"] == "casework-audit-export/1" and trailer["rows"] == len(rows)
    assert trailer["filters"] == {} and last["key"] and last["signature"]
    assert trailer["created_at"] == "2026-03-02T09:00:00Z"
    assert trailer["checkpoint"]["installation"] == trailer["installation"]
    # the heads are those of exactly the exported chains, each the chain's last row
    ends = {(r["kind"], str(r.get("case_id", r.get("customer_id")))): [r["seq"], r["hash"]]
            for r in rows}
    assert {("case", k): v for k, v in trailer["checkpoint"]["cases"].items()} | \
        {("customer", k): v for k, v in trailer["checkpoint"]["customers"].items()} == ends
    commented = [r for r in rows if r["name"] == "case.commented"]
    assert COMMENT not in commented[0]["payload"]  # the chain hashes the marker only
    assert commented[0]["personal"] == {ref: COMMENT}
    assert all("personal" not in r for r in rows if "$personal" not in r["payload"])
    said = checked(run, out)
    assert f"{len(rows)} events in {len(ends)} histories" in said and "ok: signed with key" in said

    erase(database_url, ref, "asked to be forgotten")
    after = exported(run, out)
    again = next(r for r in after if r.get("name") == "case.commented")
    assert again["personal"][ref]["erased"]["by"] == "max"
    assert again["payload"] == commented[0]["payload"]
    checked(run, out)


def _edit_payload(lines: list[str]) -> list[str]:
    row = json.loads(lines[1])
    row["payload"] = row["payload"].replace("}", ',"extra":1}', 1)
    return [lines[0], json.dumps(row), *lines[2:]]


def _swap(lines: list[str]) -> list[str]:
    return [lines[1], lines[0], *lines[2:]]


def _flip_signature(lines: list[str]) -> list[str]:
    last = json.loads(lines[-1])
    text = last["signature"]
    last["signature"] = ("B" if text[0] == "A" else "A") + text[1:]
    return [*lines[:-1], json.dumps(last)]


def _more_rows_claimed(lines: list[str]) -> list[str]:
    last = json.loads(lines[-1])
    last["trailer"]["rows"] += 1
    return [*lines[:-1], json.dumps(last)]


TAMPERING: dict[str, tuple[Callable[[list[str]], list[str]], list[str]]] = {
    "a row's payload edited": (_edit_payload, [
        "rows' SHA-256", "was altered after it was written"]),
    "a row removed": (lambda lines: [lines[0], *lines[2:]], [
        "rows' SHA-256", "not the", "rows were removed", "event 2 is missing"]),
    "a middle row removed, the trailer's count kept": (lambda lines: lines[:2] + lines[3:], [
        "rows' SHA-256", "rows were removed"]),
    "two rows reordered": (_swap, ["rows' SHA-256", "event 1 comes after event 2: rows were "
                                               "reordered"]),
    "the last rows and the trailer cut off": (lambda lines: lines[:-2], [
        "is not the export's trailer: the file was truncated"]),
    "the signature flipped": (_flip_signature, ["the export's signature does not hold"]),
    "the trailer's count edited": (_more_rows_claimed, [
        "the export's signature does not hold", "rows were removed or added"]),
}


def test_each_tampering_with_an_export_is_found(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    exported(run, out)
    lines = out.read_text().splitlines()
    for what, (tamper, said) in TAMPERING.items():
        changed = tmp_path / "changed.jsonl"
        changed.write_text("\n".join(tamper(lines)) + "\n")
        output = refused(run, changed)
        assert "the export cannot be trusted" in output, what
        for part in said:
            assert part in output, f"{what}: {part!r} not in {output}"
    checked(run, out)  # the original still holds


def test_a_cut_inside_a_line_is_found(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    exported(run, out)
    data = out.read_bytes()
    out.write_bytes(data[:len(data) - 40])
    assert "the file was truncated" in refused(run, out)


def test_another_key_is_refused_and_the_right_one_given_holds(
        run: Run, tmp_path: Path, keys: dict[str, str]) -> None:
    out = tmp_path / "audit.jsonl"
    exported(run, out)
    made = CliRunner().invoke(main, ["audit", "keygen", str(tmp_path / "other")])
    assert made.exit_code == 0, made.output
    other = str(next((tmp_path / "other").glob("*.pub")))
    said = refused(run, out, "--public-key", other)
    assert "which is not among the public keys given" in said
    assert "CASEWORK_CHECKPOINT_PUBLIC_KEYS" in said
    checked(run, out, "--public-key", other, "--public-key",
            keys["CASEWORK_CHECKPOINT_PUBLIC_KEYS"])


def test_filtered_exports_verify_and_still_find_an_edit(run: Run, tmp_path: Path) -> None:
    only = tmp_path / "case2.jsonl"
    *rows, last = exported(run, only, "--case", "2")
    assert {r["case_id"] for r in rows} == {2} and last["trailer"]["filters"] == {"case": 2}
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    checked(run, only)
    triaged = tmp_path / "triaged.jsonl"
    *rows, last = exported(run, triaged, "--event", "rule.*", "--since", "2026-01-01",
                           "--before", "2026-03-03T00:00+00:00")
    assert [(r["case_id"], r["name"]) for r in rows] == [(1, "rule.decided")] * 2 + \
        [(2, "rule.decided")] * 2
    assert last["trailer"]["filters"] == {"event": "rule.*",
                                          "since": "2026-01-01T00:00:00Z",
                                          "before": "2026-03-03T00:00:00Z"}
    checked(run, triaged)
    triaged.write_text(triaged.read_text().replace('"actor":"ann"', '"actor":"eve"', 1))
    assert "'rule.decided' was altered" in refused(run, triaged)


def test_an_unsigned_export_is_refused_and_exporting_needs_a_key(run: Run,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    result = run("audit", "export", "--out", str(out), env={"CASEWORK_CHECKPOINT_KEY": ""})
    assert result.exit_code == 1 and not out.exists()
    assert "set CASEWORK_CHECKPOINT_KEY" in result.stderr and "audit keygen" in result.stderr
    bad = run("audit", "export", "--out", str(out), "--since", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is not a date" in bad.output
    exported(run, out)
    lines = out.read_text().splitlines()
    last = json.loads(lines[-1])
    last.update(key=None, signature=None, why="no key")
    out.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    assert "the export is not signed (no key)" in refused(run, out)


def test_events_written_after_the_heads_are_taken_are_left_out(
        run: Run, database_url: str, home: Path, keys: dict[str, str]) -> None:
    app = open_casework(Settings(home=home, database_url=database_url))
    try:
        heads = app.checkpoint()
        case = app.store.get_case(1)
        app.desk.comment(1, "a later word", Actor("ann", "agent"),
                         case.updated_at + timedelta(minutes=1))
        written = b"".join(export_lines(
            app.audit, AuditQuery(), lambda: heads, app.personal_data.values,
            load_private_key(Path(keys["CASEWORK_CHECKPOINT_KEY"]))))
        stored = len(app.store.case_events(1))
    finally:
        app.close()
    rows = [json.loads(line) for line in written.splitlines()[:-1]]
    assert [r["seq"] for r in rows if r.get("case_id") == 1] == list(range(1, stored))
    found = check_export(written, [load_private_key(
        Path(keys["CASEWORK_CHECKPOINT_KEY"])).public_key()])
    assert found.findings == [] and found.signed


@pytest.mark.parametrize("text", [b"", b"not json\n", b'{"kind": "case"}\n'])
def test_what_is_not_an_export_is_refused(text: bytes) -> None:
    found = check_export(text, [])
    assert any("is not the export's trailer" in f for f in found.findings)
    assert not found.signed
