"""Canned responses: loaded and checked with file:line, rendered for a case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cases.responses import render_for_case
from engine.cli.main import main
from engine.kernel.errors import DefinitionError, InvalidInput
from engine.kernel.records import CaseRecord
from engine.rules.responses import load_responses_text
from engine.workflows.loading import load_workflow_file
from engine.workflows.registry import load_responses, table_files
from tests.fixtures import ROOT

GOOD = """\
responses:
  hello:
    title: Say hello
    text: |
      Dear {customer_name},
      case {case_number} is open. {{not a placeholder}}
      {agent_name}
  short:
    text: "Case {case_number}: {summary}"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_responses_text(text, "responses.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_shipped_responses_load_and_tables_skip_them() -> None:
    responses = load_responses(ROOT)
    assert {"acknowledge", "ask_details", "resolved"} <= set(responses)
    assert not any(p.name == "responses.yaml" for p in table_files(ROOT))


def test_a_response_renders_for_a_case() -> None:
    responses = load_responses_text(GOOD, "responses.yaml")
    assert responses["hello"].placeholders == {"customer_name", "case_number", "agent_name"}
    now = datetime(2026, 3, 2, tzinfo=UTC)
    case = CaseRecord(42, 1, "complaint", 5, "received", "intake", None, "C1",
                      {"summary": "Double charge"}, 1, 1, "h", now, now)
    spec = load_workflow_file(ROOT / "workflows" / "complaint.yaml")
    text = render_for_case(responses["hello"], case, spec, "Chen Li", "Ann Agent")
    assert text == ("Dear Chen Li,\ncase 42 is open. {not a placeholder}\nAnn Agent\n")
    assert render_for_case(responses["short"], case, spec, None, "ann") == \
        "Case 42: Double charge"
    with pytest.raises(InvalidInput, match="'hello' needs agent_name, customer_name"):
        responses["hello"].render({"case_number": "1"})


def test_an_unknown_placeholder_is_an_error_at_its_line() -> None:
    text = GOOD.replace("      {agent_name}\n", "      {agent_nmae}\n").replace(
        '"Case {case_number}', '"Case {number}')
    assert problems(text) == [
        "responses.yaml:7: response 'hello' has unknown placeholder '{agent_nmae}'; did you "
        "mean 'agent_name'? (placeholders: agent_name, case_number, case_title, customer_id, "
        "customer_name, summary)",
        "responses.yaml:9: response 'short' has unknown placeholder '{number}'; did you mean "
        "'case_number'? (placeholders: agent_name, case_number, case_title, customer_id, "
        "customer_name, summary)"]


@pytest.mark.parametrize(("text", "says"), [
    ("responses:\n  a:\n    text: 'Case {case_number'\n", "responses.yaml:3: response 'a': "
     "expected '}' before end of string; write a brace as '{{' or '}}'"),
    ("responses:\n  a: {title: A}\n", "responses.yaml:2: response 'a' needs 'text'"),
    ("responses:\n  a: {txt: hi, text: hi}\n", "unknown key 'txt' in response 'a'; did you "
     "mean 'text'?"),
    ("greetings: {}\n", "responses.yaml:1: a responses file is a mapping 'responses:'"),
])
def test_a_bad_file_says_where_and_why(text: str, says: str) -> None:
    assert any(says in p for p in problems(text)), problems(text)


def test_check_reports_a_bad_response_at_its_line(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path / "home")]).exit_code == 0
    path = tmp_path / "home" / "rules" / "responses.yaml"
    path.write_text(path.read_text().replace("{agent_name}", "{agent}", 1))
    result = CliRunner().invoke(main, ["check", "--home", str(tmp_path / "home")])
    assert result.exit_code == 1
    assert f"{path}:" in result.stdout and "unknown placeholder '{agent}'" in result.stdout
