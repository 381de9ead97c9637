"""The workflow diagrams in the pages (the workflow page, a case's page with its state marked)
and what the YAML editor reads from the server (the names it completes, the problems it lints),
on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from engine.cases.runtime import Actor
from engine.kernel.roles import ROLES
from engine.wiring import Casework
from engine.workflows.drawing import MAX_STATES
from tests.fixtures import ROOT, T0
from tests.web_fixtures import Client, csrf
from tests.workflows.test_drawing import large_workflow
from web.headers import CONTENT_SECURITY_POLICY

ANN = Actor("ann", "agent")
SLA = (ROOT / "rules" / "complaint_sla.yaml").read_text()
SVG_OPEN = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" class="diagram"')


def states_drawn(page: str) -> dict[str, list[str]]:
    """Each state box in the page's diagram, with its classes."""
    return {html.unescape(name): classes.split()
            for classes, name in re.findall(r'<g class="(state[^"]*)" data-state="([^"]+)"',
                                           page)}


def problems(client: Client, text: str, name: str = "complaint_sla"):  # type: ignore[no-untyped-def]
    return client.post(f"/rules/tables/{name}/problems", data={"source": text, **csrf(client)},
                       headers={"accept": "application/json"})


def test_the_workflow_page_draws_the_diagram_and_keeps_the_mermaid_source(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    page = client_as("ada").get("/rules/workflows/complaint").text
    spec = desk.registry.active("complaint").spec
    assert len(SVG_OPEN.findall(page)) == 1
    drawn = states_drawn(page)
    assert list(drawn) == list(spec.states)
    assert not any("current" in classes for classes in drawn.values())
    source = re.search(r'<details class="mermaid-source">.*?<pre class="source">'
                       r"(stateDiagram-v2.*?)</pre>.*?</details>", page, re.S)
    assert source and "[*] -->" in html.unescape(source.group(1))
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert " style=" not in svg and "<style" not in svg


def test_a_case_page_draws_its_workflow_with_the_current_state_marked(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    case = desk.runtime.start("complaint", {"channel": "email", "summary": "Broken lid"}, ANN,
                              T0, customer="C1")
    case = desk.runtime.fire(case.id, "triage", ANN, T0, {"severity": "high",
                                                        "category": "billing"})
    page = client_as("ann").get(f"/cases/{case.id}").text
    drawn = states_drawn(page)
    assert [name for name, classes in drawn.items() if "current" in classes] == [case.state]
    assert case.state == "in_progress"
    assert 'aria-current="step"' in page
    assert "the case is in <strong>Investigating</strong> (highlighted)" in page


def test_the_table_editor_is_marked_for_the_editor_with_the_names_to_complete(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    page = client_as("max").get("/rules/tables/complaint_sla/edit").text
    area = re.search(r"<textarea id=\"source\"[^>]*>", page)
    assert area and 'data-editor="yaml"' in area.group(0)
    assert 'data-validate-url="/rules/tables/complaint_sla/problems"' in area.group(0)
    assert 'data-names="editor-names"' in area.group(0)
    island = re.search(r'<script type="application/json" id="editor-names">(.*?)</script>',
                       page, re.S)
    assert island
    names = json.loads(island.group(1))
    spec = desk.registry.active("complaint").spec
    assert set(spec.states) <= set(names["states"])
    assert set(spec.fields) <= set(names["fields"])
    assert names["roles"] == sorted(ROLES)
    assert "complaint_sla" in names["tables"] and "customer_tier" in names["tables"]
    assert names["calendars"] and "complaint" in names["workflows"]
    bundle = re.findall(r'<script src="/static/(editor-[\d.]+\.min\.js)" defer '
                        r'nonce="[\w-]+"></script>', page)
    assert len(bundle) == 1 and (ROOT / "web" / "static" / bundle[0]).is_file()


def test_the_problems_endpoint_answers_each_problem_at_its_line_as_json(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    good = problems(max_, SLA)
    assert good.status_code == 200 and good.json() == []
    lines = SLA.split("\n")
    broken_at = next(i for i, line in enumerate(lines) if line.startswith("hit:")) + 1
    lines[broken_at - 1] = "hit: sometimes"
    answer = problems(max_, "\n".join(lines))
    assert answer.status_code == 200
    found = answer.json()
    assert [p["line"] for p in found] == [broken_at]
    assert "sometimes" in found[0]["message"]
    unparsable = problems(max_, SLA + "\n  - [unclosed\n").json()
    assert unparsable and unparsable[0]["line"] > len(lines)
    before = len(desk.store.definitions("table"))
    assert problems(max_, SLA, name="no_such_table").status_code == 404
    assert len(desk.store.definitions("table")) == before  # it only reads


def test_only_editors_may_ask_for_problems(client_as: Callable[[str], Client]) -> None:
    assert problems(client_as("ada"), SLA).status_code == 403
    assert problems(client_as("ann"), SLA).status_code == 403


def test_only_the_editor_page_allows_styles_by_a_fresh_nonce_of_its_own(
        client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    seen = set()
    for _ in range(2):
        answer = max_.get("/rules/tables/complaint_sla/edit")
        policy = answer.headers["content-security-policy"]
        nonce = re.search(r"style-src 'self' 'nonce-([\w-]+)';", policy)
        assert nonce, policy
        assert f'defer nonce="{nonce.group(1)}"></script>' in answer.text
        assert "script-src 'self';" in policy and "unsafe" not in policy
        seen.add(nonce.group(1))
    assert len(seen) == 2  # a new one for each response
    assert max_.get("/rules/workflows/complaint").headers["content-security-policy"] == \
        CONTENT_SECURITY_POLICY


def test_a_workflow_too_large_to_draw_says_so_in_place_of_the_diagram(
        client_as: Callable[[str], Client]) -> None:
    environment = client_as("ada").app.template_engine.engine
    big = large_workflow(MAX_STATES + 1, MAX_STATES + 1)
    shown = environment.get_template("_workflow_diagram.html").render(spec=big)
    assert "<svg" not in shown
    assert f"large v1 has {MAX_STATES + 1} states" in html.unescape(shown)
    small = environment.get_template("_workflow_diagram.html").render(
        spec=large_workflow(3, 3), current="state_1")
    assert 'class="state current" data-state="state_1"' in small
