"""schemathesis against the API's own OpenAPI schema, in-process: no operation, given data that
fits the schema or data that does not, answers with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from engine.cases.runtime import Actor
from engine.kernel.accounts import new_token, token_digest
from engine.wiring import Casework
from tests.fixtures import T0
from web.app import create_app

# Per operation and mode: enough to reach every body shape, few enough for well under a minute.
EXAMPLES = 12


def _cases(desk: Casework) -> None:
    """A few cases for generated ids to land on: open, triaged, commented."""
    ann = Actor("ann", "agent")
    for summary in ("Parcel arrived damaged", "Invoice is wrong"):
        case = desk.runtime.start("complaint", {"channel": "web", "summary": summary}, ann, T0,
                                  customer="C1")
    desk.runtime.fire(case.id, "triage", ann, T0, {"category": "billing", "severity": "low"})
    desk.desk.comment(case.id, "called back", ann, T0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_operation_answers_with_a_server_error(desk: Casework) -> None:
    token = new_token()
    desk.accounts.add_token("root", token_digest(token), "schemathesis", T0)
    headers = {"Authorization": f"Bearer {token}"}
    _cases(desk)
    app = create_app(desk)
    # the schema is read with the token too: it is behind sign-in (CASEWORK_PUBLIC_SCHEMA)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app,
                                            headers=headers).include(
        path_regex="^/api/")
    failures: list[str] = []
    operations = 0
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                def call(case: schemathesis.Case) -> None:
                    case.call_and_validate(headers=headers, checks=[not_a_server_error])

                try:
                    call()
                except (Exception, BaseExceptionGroup) as exc:  # every operation's failures
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
    finally:
        shutdown_lifespans()
    assert operations == 23
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_schema_says_what_validation_refuses(desk: Casework) -> None:
    """Issue 20: schemathesis found bodies the schema allowed refused; web/test_live.py runs
    it over HTTP, this names what the schema now says."""
    token = new_token()
    desk.accounts.add_token("root", token_digest(token), "schema", T0)
    with TestClient(create_app(desk)) as client:
        schemas = client.get("/schema/openapi.json", headers={
            "Authorization": f"Bearer {token}"}).json()["components"]["schemas"]
    bodies = {"Assign", "Comment", "CustomerChange", "ErasureRequest", "Fire", "Inputs",
              "NewCustomer", "NewEntry", "NewFile", "StartCase"}
    assert {name for name, schema in schemas.items()
            if schema.get("additionalProperties") is False} == bodies
    comment = schemas["Comment"]["properties"]["text"]
    assert (comment["minLength"], comment["maxLength"], comment["pattern"]) == (1, 10_000, r"\S")
    assert schemas["NewCustomer"]["properties"]["type"]["enum"] == ["personal", "enterprise"]
    assert "pattern" in schemas["NewFile"]["properties"]["content_base64"]
