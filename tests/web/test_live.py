"""A live `casework serve` over HTTP (uvicorn, a free port, SQLite), as issue 20 tried it:
schemathesis finds no operation answering with a server error, none refusing data its schema
allows, and methods an operation does not have answered 405 with `Allow` (7 cases where the
schema allowed what validation refused, 11 TRACE answers without `Allow`); the rule editor
refuses an alias bomb and a deep list at their lines while the server goes on answering."""

from __future__ import annotations

import html
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from engine.kernel.yaml_limits import MAX_ALIAS_NODES, MAX_DEPTH
from tests.fixtures import ROOT, alias_bomb, deep_list
from tests.web.live_server import Live, live_server
from tests.web_fixtures import password_of

EXAMPLES = 12  # per operation and phase: every body shape, the whole run well under a minute

# The operations whose bodies name what only the stored data decides, which no schema can say:
# which fields a workflow or a trigger takes and whether a workflow needs a customer, which
# triggers a case's workflow has, which inputs a table declares, who is an account manager,
# whether a customer id is taken or erased, which page cursors the site made. A 422 naming
# such a thing is a right answer to data that fits the schema; every other mismatch is the
# schema's to say (web/api/*: Meta constraints, closed bodies), and an operation not listed
# here may not answer 422 to what its schema allows.
STORED_DATA_DECIDES = {
    "GET /api/cases": "a page cursor (`after`): valid only as the site made it",
    "POST /api/cases": "the workflow's fields, and whether it needs a customer",
    "POST /api/cases/{case_id}/fire/{trigger}": "the triggers of the case's workflow and the "
                                                "fields each takes",
    "POST /api/cases/{case_id}/assign": "who may be given the case",
    "POST /api/cases/{case_id}/entries": "a message to the customer needs a customer with an "
                                         "email address; the media types files may have",
    "POST /api/customers": "an owner who is an account manager; an id not taken",
    "PATCH /api/customers/{customer_id}": "an owner who is an account manager",
    "POST /api/customers/{customer_id}/erasure": "whether the customer was erased already",
    "POST /api/tables/{name}/evaluate": "the inputs the table declares",
    "POST /api/tables/{name}/explain": "the inputs the table declares",
}


def config(live: Live) -> str:
    """schemathesis.toml for this run: the admin's token, and 422 as a right answer to the
    operations of STORED_DATA_DECIDES."""
    lines = [f'headers = {{ Authorization = "Bearer {live.token}" }}', ""]
    for name in STORED_DATA_DECIDES:
        lines += ["[[operations]]", f'include-name = "{name}"',
                  "checks.positive_data_acceptance.expected-statuses = "
                  '["2xx", "401", "403", "404", "409", "422"]', ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_server(tmp_path_factory.mktemp("live")) as served:
        yield served


def schemathesis(live: Live, checks: str, phases: str) -> subprocess.CompletedProcess[str]:
    """`st run` over the live API's operations under /api/ with these checks and phases."""
    settings = live.home / "schemathesis.toml"
    settings.write_text(config(live))
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(settings), "run",
               f"{live.url}/schema/openapi.json", "--checks", checks,
               "--include-path-regex", "^/api/", "--max-examples", str(EXAMPLES),
               "--phases", phases, "--workers", "1", "--seed", "20",
               "--generation-database", "none", "--no-color", "--request-timeout", "30"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          cwd=live.home)  # its cache of failures, .schemathesis/, goes there
    assert "Tested: 23" in done.stdout, done.stdout + done.stderr
    return done


def test_no_server_error_and_no_data_the_schema_allows_refused(live: Live) -> None:
    done = schemathesis(live, "not_a_server_error,positive_data_acceptance",
                        "examples,coverage,fuzzing")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_method_an_operation_does_not_have_is_a_405_with_allow(live: Live) -> None:
    """The coverage phase sends each path the methods it does not have, TRACE among them."""
    done = schemathesis(live, "unsupported_method", "coverage")
    assert done.returncode == 0, done.stdout + done.stderr


@contextmanager
def signed_in(live: Live, name: str) -> Iterator[httpx.Client]:
    """A client of the live server signed in as `name` (tests.web_fixtures.PEOPLE)."""
    with httpx.Client(base_url=live.url, timeout=60) as client:
        client.get("/login")
        answer = client.post("/login", data={"name": name, "password": password_of(name),
                                             "next": "/",
                                             "_csrf_token": client.cookies["csrftoken"]})
        assert answer.status_code == 302, answer.text
        yield client


@pytest.mark.parametrize(("description", "line", "message"), [
    (alias_bomb(8), 7, f"aliases here expand to more than {MAX_ALIAS_NODES:,} nodes (at "
                       "'*l4')"),
    # 50,000 deep: 100,000 characters, under the editor's own limit on the text's size
    (deep_list(50_000), 1, f"nesting deeper than {MAX_DEPTH} levels")], ids=["bomb", "deep"])
def test_the_rule_editor_refuses_it_at_its_line_and_the_server_stays_responsive(
        live: Live, description: str, line: int, message: str) -> None:
    """Issue 20: an 8-level bomb of 2.4 KB posted to validate blocked the server for 9.1 s."""
    sla = (ROOT / "rules" / "complaint_sla.yaml").read_text()
    with signed_in(live, "max") as max_, ThreadPoolExecutor(1) as pool:
        posted = pool.submit(max_.post, "/rules/tables/complaint_sla/validate", data={
            "source": description + sla, "_csrf_token": max_.cookies["csrftoken"]})
        with httpx.Client(base_url=live.url, timeout=5) as other:
            assert other.get("/healthz").status_code == 200  # while the bomb is checked
        refused = posted.result()
    assert refused.status_code == 422
    assert f"complaint_sla.yaml:{line}: {message}" in html.unescape(refused.text)
