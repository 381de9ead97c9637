"""What a server tells its operator: the access log, /metrics and /readyz."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from engine.cases.runtime import Actor
from engine.kernel.logs import FIELDS, JsonLines, TextLines
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import NOW, Auth, Client, sign_in

ANN = Actor("ann", "agent")
TOKEN = "a scrape token for the tests"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


def scraped(web: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    answer = web.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples}


@pytest.fixture
def scrapable(desk: Casework) -> Casework:
    desk.settings = replace(desk.settings, metrics_token=TOKEN)
    return desk


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [getattr(r, FIELDS) for r in caplog.records if r.name == "casework.access"]


def test_every_request_is_one_access_line_with_route_status_duration_and_user(
        web: Client, desk: Casework, caplog: pytest.LogCaptureFixture) -> None:
    case = desk.runtime.start("complaint", {"channel": "phone", "summary": "Late parcel"}, ANN,
                              T0, customer="C1")
    sign_in(web, "ann")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="casework.access"):
        assert web.get(f"/cases/{case.id}").status_code == 200
        assert web.get("/no/such/page").status_code == 404
        web.cookies.clear()
        assert web.get("/queues", follow_redirects=False).status_code in (302, 303, 401)
    page, missing, refused = access_lines(caplog)
    assert (page["method"], page["path"], page["route"], page["status"], page["user"]) == (
        "GET", f"/cases/{case.id}", "/cases/{case_id}", 200, "ann")
    assert isinstance(page["ms"], float) and page["ms"] > 0
    assert len(str(page["request_id"])) == 32
    # a path no route serves is logged, under one route label whatever the path
    assert (missing["route"], missing["status"]) == ("unmatched", 404)
    assert refused["user"] is None  # signed out: nobody


def test_a_proxys_request_id_is_kept_and_answered_and_a_strange_one_replaced(
        web: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="casework.access"):
        kept = web.get("/healthz", headers={"X-Request-ID": "proxy-4f2a.9"})
        replaced = web.get("/healthz", headers={"X-Request-ID": "two words\nand a newline"})
    assert kept.headers["x-request-id"] == "proxy-4f2a.9"
    assert replaced.headers["x-request-id"] != "two words\nand a newline"
    assert [line["request_id"] for line in access_lines(caplog)] == [
        "proxy-4f2a.9", replaced.headers["x-request-id"]]


def test_log_lines_as_json_carry_their_fields_and_as_text_read_as_key_value() -> None:
    record = logging.LogRecord("casework.access", logging.INFO, __file__, 1, "GET %s 200",
                               ("/queues",), None)
    setattr(record, FIELDS, {"route": "/queues", "status": 200, "user": "ann"})
    line = json.loads(JsonLines().format(record))
    assert (line["level"], line["logger"], line["message"], line["route"], line["status"],
            line["user"]) == ("info", "casework.access", "GET /queues 200", "/queues", 200, "ann")
    assert line["time"].endswith("+00:00")
    assert TextLines().format(record).endswith("GET /queues 200 route=/queues status=200 user=ann")


def test_metrics_need_the_configured_token(web: Client, desk: Casework) -> None:
    refused = web.get("/metrics")  # no token configured: closed
    assert refused.status_code == 403
    assert "CASEWORK_METRICS_TOKEN" in refused.text
    desk.settings = replace(desk.settings, metrics_token=TOKEN)
    assert web.get("/metrics", headers={"Authorization": "Bearer guessed"}).status_code == 403
    assert web.get("/metrics", headers=SCRAPE).status_code == 200


def test_metrics_count_requests_by_route_and_fires_by_workflow_and_outcome(
        scrapable: Casework, web: Client, api: Client, auth: Auth) -> None:
    case = scrapable.runtime.start("complaint", {"channel": "phone", "summary": "Broken"}, ANN,
                                   T0, customer="C1")
    before = scraped(web)
    path = f"/api/cases/{case.id}/fire/triage"
    body = {"fields": {"category": "billing", "severity": "low"}, "expected_version": 1}
    assert api.post(path, json=body, headers=auth("ann")).status_code == 200
    assert api.post(path, json=body, headers=auth("ann")).status_code == 409  # stale now
    after = scraped(web)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("casework_fires_total", workflow="complaint", outcome="fired") == 1
    assert grew("casework_fires_total", workflow="complaint", outcome="conflict") == 1
    route = "/api/cases/{case_id}/fire/{trigger}"
    assert grew("casework_http_requests_total", method="POST", route=route, status="200") == 1
    assert grew("casework_http_requests_total", method="POST", route=route, status="409") == 1
    assert grew("casework_http_request_duration_seconds_count", method="POST", route=route) == 2


def test_metrics_report_what_waits_in_the_database(scrapable: Casework, web: Client) -> None:
    for summary in ("One", "Two", "Three"):
        scrapable.runtime.start("complaint", {"channel": "phone", "summary": summary}, ANN, T0,
                                customer="C1")
    with scrapable.database.writing() as connection:  # one timer an hour overdue
        connection.execute(sa.text("UPDATE timers SET retry_at = :at WHERE id = "
                                   "(SELECT min(id) FROM timers)"),
                           {"at": (NOW - timedelta(hours=1)).replace(tzinfo=None)
                            if scrapable.database.dialect == "sqlite"
                            else NOW - timedelta(hours=1)})
    figures = scrapable.operating.figures(NOW)
    found = scraped(web)
    assert found[("casework_queue_open_cases", (("queue", "intake"),))] == 3
    assert found[("casework_timers_due", ())] == figures.timers_due >= 1
    assert found[("casework_timers_late", ())] == figures.timers_late >= 1
    assert found[("casework_timer_lag_seconds", ())] >= 3600
    assert found[("casework_outbox_unsent", ())] == figures.outbox_unsent
    assert ("casework_outbox_failed", ()) in found


def test_readyz_answers_ready_and_503_with_the_reason_when_the_schema_is_behind(
        web: Client, desk: Casework) -> None:
    ready = web.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    with desk.database.writing() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    behind = web.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["status"] == "not ready"
    assert "casework db upgrade" in behind.json()["reason"]
