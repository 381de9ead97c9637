"""Audit: history search over case and customer events, chain verification, and exports an
auditor can re-verify offline (every event with its seq, hashes and payload as stored)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException
from litestar.response import Stream, Template

from engine.cases.audit import KINDS, AuditCursor, AuditQuery, AuditRow
from engine.cases.audit_exports import export_lines
from engine.kernel.accounts import User
from engine.kernel.checkpoints import load_private_key
from engine.kernel.csv_cells import write_rows
from engine.kernel.history import Break, iso
from engine.kernel.personal import Erased, refs_in_texts, reveal
from engine.kernel.roles import Permission
from web.areas import area, get, post
from web.common import casework_of, now_of
from web.rendering import page

FILTERS = ("case", "customer", "actor", "event", "from", "to")
CSV_COLUMNS = ("kind", "subject", "seq", "name", "actor", "role", "at", "from_state",
               "to_state", "payload", "prev_hash", "hash")
SUMMARY_WIDTH = 140


class BadFilter(ValueError):
    """A filter of the search that cannot be read; the message names it."""


@dataclass(frozen=True)
class Verified:
    cases: int
    customers: int
    breaks: list[Break]


def instant(name: str, text: str, end: bool = False) -> datetime | None:
    """A filter's date (YYYY-MM-DD) or date and time (UTC unless it names a zone) as an
    instant: for the end of a range, just after the day or instant, so that `to` includes it."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{name}: {text!r} is not a date (2026-03-01) or a date and time "
                        "(2026-03-01T09:00, UTC unless it names a zone like +01:00)") from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return moment + timedelta(microseconds=1) if end else moment


def audit_query(params: Mapping[str, Any], cursor: bool = True) -> AuditQuery:
    """The search the filters ask for; BadFilter names the first one that cannot be read."""
    text = {k: (params.get(k) or "").strip() for k in FILTERS}
    case_id = None
    if text["case"]:
        number = text["case"].removeprefix("#")
        if not number.isdigit():
            raise BadFilter(f"case: {text['case']!r} is not a case number")
        case_id = int(number)
    since, before = instant("from", text["from"]), instant("to", text["to"], end=True)
    if since is not None and before is not None and since >= before:
        raise BadFilter(f"from ({text['from']}) is after to ({text['to']}): nothing can match")
    return AuditQuery(case_id=case_id, customer=text["customer"] or None,
                      actor=text["actor"] or None, event=text["event"] or None, since=since,
                      before=before, after=parse_cursor(params.get("after")) if cursor else None)


def parse_cursor(text: str | None) -> AuditCursor | None:
    """The keyset cursor `ISO-instant~kind~row-id` of the page before."""
    if not text:
        return None
    moment, kind, number = [*text.rsplit("~", 2), "", ""][:3]
    try:
        at = datetime.fromisoformat(moment)
        if kind not in KINDS or at.tzinfo is None:
            raise ValueError(kind)
        return AuditCursor(at, kind, int(number))
    except ValueError:
        raise BadFilter(f"the page cursor {text!r} is not one this site made; open the "
                        "history from its first page") from None


def summary(payload: str, values: Mapping[str, Any] | None = None) -> str:
    """A payload in one short line: key=value, ...; personal values from `values` (ref ->
    value or Erased) in place of their markers."""
    try:
        data = json.loads(payload)
    except ValueError:
        data = None  # a damaged row: shown as stored
    if values:
        data = reveal(data, {ref: str(v) if isinstance(v, Erased) else v
                             for ref, v in values.items()})
    if isinstance(data, dict):
        text = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                         for k, v in data.items())
    else:
        text = payload
    return text if len(text) <= SUMMARY_WIDTH else text[:SUMMARY_WIDTH - 1] + "…"


def _audit_page(request: Request[User, Any, Any], params: Mapping[str, Any], block: str,
                verified: Verified | None = None) -> Template:
    chosen = {k: (params.get(k) or "").strip() for k in FILTERS}
    following = {k: v for k, v in chosen.items() if v}
    context: dict[str, Any] = {"user": request.user, "chosen": chosen, "following": following,
                               "verified": verified, "summary": summary, "found": None,
                               "next_link": None, "error": None,
                               "first": not params.get("after"), "values": {}}
    try:
        found = casework_of(request).audit.search(audit_query(params))
    except BadFilter as exc:
        return page(request, "audit.html", block, status_code=400, **{**context,
                                                                       "error": str(exc)})
    if found.next_after is not None:
        last = found.next_after
        context["next_link"] = {**following, "after": f"{last.at.isoformat()}~{last.kind}~"
                                                      f"{last.id}"}
    context["values"] = casework_of(request).personal_data.values(
        refs_in_texts(row.payload for row in found.rows))
    return page(request, "audit.html", block, **{**context, "found": found})


@get("/")
def audit_page(request: Request[User, Any, Any]) -> Template:
    return _audit_page(request, request.query_params, "results")


# Auditors may send this POST: verifying reads every chain and changes nothing. It is a POST
# (with CSRF, like every form) only because it is expensive: no link or crawler should run it.
@post("/verify")
def verify(request: Request[User, Any, Any]) -> Template:
    cases, customers, breaks = casework_of(request).verify_history()
    return _audit_page(request, {}, "verify", Verified(cases, customers, breaks))


def _exported(request: Request[User, Any, Any]) -> AuditQuery:
    try:
        return audit_query(request.query_params, cursor=False)
    except BadFilter as exc:
        raise ValidationException(str(exc)) from None


def _file_name(request: Request[User, Any, Any], suffix: str) -> dict[str, str]:
    stamp = now_of(request).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return {"Content-Disposition": f'attachment; filename="casework-audit-{stamp}.{suffix}"'}


def csv_lines(batches: Iterator[list[AuditRow]]) -> Iterator[str]:
    """The header, then one chunk of CSV per batch (an empty cell is null; text a spreadsheet
    would run as a formula starts with `'`: engine.kernel.csv_cells)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    write_rows(writer, [CSV_COLUMNS])
    for batch in batches:
        write_rows(writer, ([r.kind, r.subject, r.seq, r.name, r.actor, r.role, iso(r.at),
                             r.from_state, r.to_state, r.payload, r.prev_hash, r.hash]
                            for r in batch))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


@get("/export.csv", sync_to_thread=False)
def export_csv(request: Request[User, Any, Any]) -> Stream:
    batches = casework_of(request).audit.export(_exported(request))
    return Stream(csv_lines(batches), media_type="text/csv; charset=utf-8",
                  headers=_file_name(request, "csv"))


@get("/export.jsonl", sync_to_thread=False)
def export_jsonl(request: Request[User, Any, Any]) -> Stream:
    """Every matching event and a trailer signed with CASEWORK_CHECKPOINT_KEY (unsigned, saying
    why, without one): engine.kernel.signed_exports, as `casework audit export` writes it."""
    casework = casework_of(request)
    key = casework.settings.checkpoint_key
    lines = export_lines(casework.audit, _exported(request), casework.checkpoint,
                         casework.personal_data.values,
                         load_private_key(key) if key is not None else None)
    return Stream(lines, media_type="application/x-ndjson",
                  headers=_file_name(request, "jsonl"))


ROUTER = area("/audit", Permission.AUDIT, [audit_page, verify, export_csv, export_jsonl])
