"""The audit pages: history search with every filter and keyset pages, chain verification on
an intact and on a damaged database, exports that verify offline, and who may see them."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.cases.audit import AuditQuery
from engine.cases.runtime import Actor
from engine.kernel.history import GENESIS, EventDraft, chain_customer
from engine.kernel.records import CustomerHead
from engine.store.schema import customer_events, events
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import Client, csrf

ANN, BOB, SAM = Actor("ann", "agent"), Actor("bob", "agent"), Actor("sam", "supervisor")
Row = tuple[str, str, int, str]  # kind, subject, seq, event name


def tier_changed(desk: Casework, customer: str, at: datetime) -> None:
    """A tier change in the customer's history, written as a recompute writes it."""
    with desk.customers.transaction() as tx:
        head = tx.heads(customer, customer)[customer]
        events = chain_customer(customer, head.seq, head.head, [EventDraft(
            "customer.tier_changed", {"old": head.tier, "new": "key", "table": "customer_tier",
                                      "version": 1, "matched": ["rfm-champion"]})],
            "casework", "system", at)
        tx.append_customer_events(events)
        tx.set_heads([(CustomerHead(customer, "key", head.churn_risk, events[-1].seq,
                                    events[-1].hash), at)])


def history(desk: Casework) -> tuple[int, int]:
    """Case A (C1): started and triaged on 2 March, commented by bob on 3 March; case B (C7):
    started by bob on 4 March; C1's tier changes on 5 March."""
    a = desk.runtime.start("complaint", {"channel": "email", "summary": "Damaged"}, ANN, T0,
                           customer="C1").id
    desk.runtime.fire(a, "triage", ANN, T0 + timedelta(minutes=10),
                      {"category": "billing", "severity": "high"})
    desk.desk.comment(a, "<script>alert(1)</script> called back", BOB, T0 + timedelta(days=1))
    b = desk.runtime.start("complaint", {"channel": "web", "summary": "Late"}, BOB,
                           T0 + timedelta(days=2), customer="C7").id
    tier_changed(desk, "C1", T0 + timedelta(days=3))
    return a, b


def everything(desk: Casework) -> list[tuple[Row, str, datetime]]:
    """Every stored event: (row, actor, at)."""
    found = []
    with desk.database.reading() as connection:
        case_ids = connection.execute(sa.text("SELECT id FROM cases")).scalars().all()
    for case_id in case_ids:
        found += [(("case", str(e.case_id), e.seq, e.name), e.actor, e.at)
                  for e in desk.store.case_events(case_id)]
    for customer in ("C1", "C7"):
        found += [(("customer", e.customer_id, e.seq, e.name), e.actor, e.at)
                  for e in desk.customers.history(customer)]
    return found


def rows(text: str) -> list[Row]:
    return [("case" if kind == "cases" else "customer", subject, int(seq), name)
            for kind, subject, seq, name in re.findall(
                r'<td><a href="/(cases|customers)/([^"]+)">[^<]*</a> <small>event (\d+)</small>'
                r'</td>\s*<td><code>([^<]+)</code>', text)]


def test_roles_without_audit_are_refused(client_as: Callable[[str], Client]) -> None:
    for name in ("ann", "sam", "kim"):
        client = client_as(name)
        for path in ("/audit", "/audit/export.csv", "/audit/export.jsonl"):
            assert client.get(path).status_code == 403, (name, path)
        assert client.post("/audit/verify", data=csrf(client)).status_code == 403
    for name in ("ada", "max", "root"):
        assert client_as(name).get("/audit").status_code == 200


def test_each_filter_narrows_the_history(desk: Casework,
                                         client_as: Callable[[str], Client]) -> None:
    a, b = history(desk)
    stored = everything(desk)
    ada = client_as("ada")

    def search(**params: str) -> list[Row]:
        response = ada.get("/audit", params=params)
        assert response.status_code == 200, response.text[-500:]
        return rows(response.text)

    def where(keep: Callable[[Row, str, datetime], bool]) -> set[Row]:
        return {row for row, actor, at in stored if keep(row, actor, at)}

    everyone = search()
    assert set(everyone) == where(lambda *_: True) and len(everyone) == len(stored)
    assert everyone[0] == ("customer", "C1", 1, "customer.tier_changed")  # newest first
    assert set(search(case=str(a))) == where(lambda r, *_: r[:2] == ("case", str(a)))
    started_b = [("case", str(b), e.seq, e.name) for e in reversed(desk.store.case_events(b))]
    assert started_b[-1] == ("case", str(b), 1, "case.created")
    assert search(case=f"#{b}") == started_b  # one instant: the newest row first
    assert set(search(customer="C1")) == where(
        lambda r, *_: r[:2] in (("case", str(a)), ("customer", "C1")))
    assert set(search(actor="bob")) == where(lambda r, actor, _: actor == "bob")
    assert set(search(actor="casework")) == {("customer", "C1", 1, "customer.tier_changed")}
    commented = search(event="case.commented")
    assert len(commented) == 1 and commented[0][:2] == ("case", str(a))
    assert commented[0][3] == "case.commented"
    decided = search(event="rule.")
    assert decided and set(decided) == where(lambda r, *_: r[3].startswith("rule."))
    assert set(search(event="customer.*")) == where(lambda r, *_: r[0] == "customer")
    assert search(event="rule") == []  # a name without "." or "*" is exact
    assert set(search(**{"from": "2026-03-03"})) == where(
        lambda r, actor, at: at >= T0.replace(day=3, hour=0))
    assert set(search(to="2026-03-02")) == where(lambda r, actor, at: at.day == 2)
    triage = where(lambda r, actor, at: at == T0 + timedelta(minutes=10))
    assert triage and set(search(**{"from": "2026-03-02T09:05",
                                    "to": "2026-03-02T09:10:00Z"})) == triage
    assert set(search(**{"from": "2026-03-02T10:05+01:00", "to": "2026-03-02 09:10"})) == \
        triage
    assert search(customer="C7", actor="bob") == started_b


def test_a_bad_filter_is_a_400_naming_it(client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    for params, says in [
        ({"from": "2026-02-30"}, "from: '2026-02-30' is not a date (2026-03-01) or a date and "
                                 "time"),
        ({"to": "yesterday"}, "to: 'yesterday' is not a date"),
        ({"case": "abc"}, "case: 'abc' is not a case number"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from (2026-03-05) is after to "
                                                     "(2026-03-01): nothing can match"),
        ({"after": "the end"}, "is not one this site made"),
    ]:
        response = max_.get("/audit", params=params)
        assert response.status_code == 400
        shown = re.search(r'<p class="error" role="alert">(.*?)</p>', response.text, re.S)
        assert shown is not None and says in html.unescape(shown.group(1)), params
    export = max_.get("/audit/export.csv", params={"to": "2026-13-01"})
    assert export.status_code == 400 and "to: &#39;2026-13-01&#39; is not a date" in export.text


def test_pages_follow_each_other_newest_first(desk: Casework,
                                              client_as: Callable[[str], Client]) -> None:
    a, _ = history(desk)
    for n in range(60):  # sixty comments at one instant: the pages split a tie
        desk.desk.comment(a, f"note {n}", ANN, T0 + timedelta(days=4))
    with desk.database.reading() as connection:  # at, then case before customer, then id
        ordered = [(at, 1, i, ("case", str(c), s, n)) for at, i, c, s, n in connection.execute(
            sa.select(events.c.at, events.c.id, events.c.case_id, events.c.seq, events.c.name))]
        ordered += [(at, 0, i, ("customer", c, s, n)) for at, i, c, s, n in connection.execute(
            sa.select(customer_events.c.at, customer_events.c.id, customer_events.c.customer_id,
                      customer_events.c.seq, customer_events.c.name))]
    expected = [row for *_, row in sorted(ordered, reverse=True)]
    ada = client_as("ada")
    seen: list[Row] = []
    url: str | None = "/audit"
    while url and len(seen) < 200:
        page = ada.get(html.unescape(url), headers={"HX-Request": "true"})
        assert page.text.lstrip().startswith('<div id="results"') and "<html" not in page.text
        seen += rows(page.text)
        more = re.search(r'<a class="more" href="([^"]+)"', page.text)
        url = more.group(1) if more else None
    assert seen == expected and len(seen) == len(expected) > 50


def test_payloads_render_as_text(desk: Casework, client_as: Callable[[str], Client]) -> None:
    history(desk)
    page = client_as("ada").get("/audit", params={"event": "case.commented"}).text
    assert "<script>alert(1)</script>" not in page
    assert "text=&lt;script&gt;alert(1)&lt;/script&gt; called back" in page


def test_verify_on_an_intact_database(desk: Casework,
                                      client_as: Callable[[str], Client]) -> None:
    history(desk)
    ada = client_as("ada")  # an auditor may verify: it changes nothing
    page = ada.post("/audit/verify", data=csrf(ada))
    assert page.status_code == 200 and "<html" in page.text
    block = ada.post("/audit/verify", data=csrf(ada), headers={"HX-Request": "true"})
    assert block.text.lstrip().startswith('<div id="verify"') and "<html" not in block.text
    said = re.search(r'<p class="ok">(.*?)</p>', block.text)
    assert said is not None and said.group(1) == "2 case and 1 customer histories intact."
    assert ada.post("/audit/verify").status_code == 403  # no CSRF token


def edit(desk: Casework, table: str, statement: str) -> None:
    """Change history behind the engine's back: drop the append-only guard first."""
    engine = desk.database.engine
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
        else:
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER "
                                       f"{table}_append_only")
        connection.exec_driver_sql(statement)


def test_verify_shows_every_break_in_red(desk: Casework,
                                         client_as: Callable[[str], Client]) -> None:
    a, _ = history(desk)
    edit(desk, "events", f"UPDATE events SET actor = 'mallory' WHERE case_id = {a} AND seq = 1")
    edit(desk, "customer_events", "UPDATE customer_events SET payload = '{}' "
                                  "WHERE customer_id = 'C1'")
    max_ = client_as("max")
    block = max_.post("/audit/verify", data=csrf(max_), headers={"HX-Request": "true"}).text
    breaks = [html.unescape(b) for b in re.findall(r'<li class="error">(.*?)</li>', block)]
    assert breaks == [
        f"case {a}: event 1: 'case.created' was altered after it was written (its content no "
        "longer matches its hash)",
        "customer C1: event 1: 'customer.tier_changed' was altered after it was written (its "
        "content no longer matches its hash)"]
    assert "2 of 2 case and 1 customer histories are damaged" in block


def _hash(kind: str, record: dict[str, Any]) -> str:
    """The documented hash (docs/architecture.md), computed without casework's code."""
    if kind == "case":
        content = [record["case_id"], record["seq"], record["name"], record["actor"],
                   record["role"], record["at"], record["from_state"], record["to_state"],
                   record["payload"], record["prev_hash"]]
    else:
        content = ["customer", record["customer_id"], record["seq"], record["name"],
                   record["actor"], record["role"], record["at"], record["payload"],
                   record["prev_hash"]]
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def check_chains(records: list[dict[str, Any]]) -> dict[tuple[str, Any], int]:
    """Each record's hash and link; how many events each history has."""
    heads: dict[tuple[str, Any], tuple[int, str]] = {}
    for record in records:
        subject = (record["kind"], record.get("case_id", record.get("customer_id")))
        seq, prev = heads.get(subject, (0, GENESIS))
        assert (record["seq"], record["prev_hash"]) == (seq + 1, prev), record
        assert _hash(record["kind"], record) == record["hash"], record
        heads[subject] = (record["seq"], record["hash"])
    return {subject: seq for subject, (seq, _) in heads.items()}


def test_exports_hold_chains_that_verify_offline(desk: Casework,
                                                 client_as: Callable[[str], Client]) -> None:
    a, b = history(desk)
    ada = client_as("ada")
    jsonl = ada.get("/audit/export.jsonl")
    assert jsonl.status_code == 200
    assert jsonl.headers["content-disposition"] == \
        'attachment; filename="casework-audit-20260302T100000Z.jsonl"'
    *records, trailer = [json.loads(line) for line in jsonl.text.splitlines()]
    assert trailer["trailer"]["rows"] == len(records)  # the last line: the export's trailer
    counts = check_chains(records)
    assert counts == {("case", a): len(desk.store.case_events(a)),
                      ("case", b): len(desk.store.case_events(b)), ("customer", "C1"): 1}
    stored = desk.store.case_events(a)[2]
    assert records[2]["payload"] == stored.payload  # the text as hashed, not re-encoded
    exported = ada.get("/audit/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == \
        'attachment; filename="casework-audit-20260302T100000Z.csv"'
    table = list(csv.DictReader(io.StringIO(exported.text)))
    from_csv = []
    for line in table:
        record: dict[str, Any] = {k: (v or None) for k, v in line.items()}  # empty: null
        record["seq"] = int(line["seq"])
        key = "case_id" if line["kind"] == "case" else "customer_id"
        record[key] = int(line["subject"]) if key == "case_id" else line["subject"]
        from_csv.append(record)
    assert check_chains(from_csv) == counts
    assert [r["hash"] for r in from_csv] == [r["hash"] for r in records]


def test_exports_take_the_search_filters(desk: Casework,
                                         client_as: Callable[[str], Client]) -> None:
    a, b = history(desk)
    max_ = client_as("max")
    only_b = max_.get("/audit/export.jsonl", params={"case": str(b)}).text.splitlines()[:-1]
    assert [(r["case_id"], r["seq"]) for r in map(json.loads, only_b)] == \
        [(b, e.seq) for e in desk.store.case_events(b)]
    c1 = [json.loads(line) for line in
          max_.get("/audit/export.jsonl", params={"customer": "C1"}).text.splitlines()[:-1]]
    assert {(r["kind"], r.get("case_id", r.get("customer_id"))) for r in c1} == \
        {("case", a), ("customer", "C1")}
    comments = list(csv.DictReader(io.StringIO(max_.get(
        "/audit/export.csv", params={"event": "case.commented"}).text)))
    assert [(c["subject"], c["name"], c["actor"]) for c in comments] == \
        [(str(a), "case.commented", "bob")]
    # the export holds the payload as hashed; the comment's text is in the vault
    ref = json.loads(comments[0]["payload"])["text"]["$personal"]
    assert desk.personal_data.values([ref]) == {ref: "<script>alert(1)</script> called back"}


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_an_export_in_small_batches_misses_nothing(desk: Casework, batch: int) -> None:
    history(desk)
    whole = [r for rows in desk.audit.export(AuditQuery()) for r in rows]
    pieces = list(desk.audit.export(AuditQuery(), batch=batch))
    assert all(len(p) <= batch for p in pieces)
    assert [r for p in pieces for r in p] == whole and len(whole) == len(everything(desk))


def test_the_csv_export_neutralises_text_a_spreadsheet_would_run(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    """Issue 20: a customer id (or any typed text) starting with =, +, -, @, tab or CR is
    exported with a `'` before it; numbers stay numbers."""
    for customer in ("=HYPERLINK(\"http://evil.example\")", "+1", "-2", "@SUM(A1)", "\tX"):
        desk.customers.add(customer, T0)
        tier_changed(desk, customer, T0 + timedelta(days=1))
    exported = client_as("ada").get("/audit/export.csv", params={"event":
                                                                  "customer.tier_changed"})
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(row["subject"] for row in table) == sorted([
        "'=HYPERLINK(\"http://evil.example\")", "'+1", "'-2", "'@SUM(A1)", "'\tX"])
    assert {row["seq"] for row in table} == {"1"}
