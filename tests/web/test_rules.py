"""The rules pages: tables and workflows with their active versions, a table as a grid with its
tests and history, the editor (validate, test, simulate, publish) and who may do what."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from engine.demodata import CDNOW_SAMPLE
from engine.rules.loading import load_table_text
from engine.wiring import Casework
from engine.workflows.registry import load_tables
from tests.fixtures import ROOT, T0
from tests.web_fixtures import NOW, Client, csrf

SLA = (ROOT / "rules" / "complaint_sla.yaml").read_text()
TIER = (ROOT / "rules" / "customer_tier.yaml").read_text()
SHIPPED = load_tables(ROOT)
# ordinary-critical's resolution target: no test looks at it, so a change keeps the tests green
ORDINARY_CRITICAL = "then: {first_response_hours: 4, resolution_hours: 24, business_time: false"


def sla_v3() -> str:
    changed = SLA.replace("version: 2", "version: 3").replace(
        ORDINARY_CRITICAL, ORDINARY_CRITICAL.replace("24", "20"))
    assert changed.count("version: 3") == 1 and "resolution_hours: 20" in changed
    return changed


def line_of(text: str, piece: str) -> int:
    return text[:text.index(piece)].count("\n") + 1


def textarea(page: str) -> str:
    """What the editor's textarea holds (the first newline is the tag's own)."""
    found = re.search(r'<textarea id="source"[^>]*>\n(.*?)</textarea>', page, re.S)
    assert found, "no editor on the page"
    return html.unescape(found.group(1))


def result(page: str) -> str:
    """The result panel beside the editor, as text."""
    found = re.search(r'<section id="result".*?</section>', page, re.S)
    assert found, "no result panel on the page"
    return html.unescape(found.group(0))


def marked_lines(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li id="line-(\d+)" class="bad">', page)]


def row_cells(page: str, first: str) -> list[str]:
    """The cells of the table row whose first cell holds `first`, as text."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        cells = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                 for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        if cells and cells[0] and cells[0].split()[0] == first:
            return cells
    raise AssertionError(f"no row starting with {first!r}")


def post(client: Client, name: str, action: str, text: str, **more: str):  # type: ignore[no-untyped-def]
    return client.post(f"/rules/tables/{name}/{action}",
                       data={"source": text, **more, **csrf(client)}, follow_redirects=False)


def table_count(desk: Casework) -> int:
    return len(desk.store.definitions("table"))


def test_the_list_shows_each_table_active_with_who_published_it_and_each_workflow(
        client_as: Callable[[str], Client]) -> None:
    page = client_as("max").get("/rules")
    assert page.status_code == 200
    assert row_cells(page.text, "complaint_sla")[2:4] == \
        ["v2", "2026-03-02 09:00 UTC by operator"]
    assert row_cells(page.text, "customer_tier")[2] == "v1"
    complaint = row_cells(page.text, "complaint")
    assert complaint[0] == "complaint" and complaint[2].startswith("v")


def test_a_table_is_a_grid_of_its_rules_as_written_with_its_tests(
        client_as: Callable[[str], Client]) -> None:
    page = client_as("sam").get("/rules/tables/complaint_sla").text
    assert row_cells(page, "strategic-urgent") == \
        ["strategic-urgent", "strategic", "critical, high", "1", "8", "true", "extended"]
    assert "hit policy <strong>unique</strong>" in page
    assert "Tests: 7 of 7 pass" in page
    assert len(re.findall(r'<span class="badge green">passed</span>', page)) == 7
    tier = client_as("max").get("/rules/tables/customer_tier").text
    assert row_cells(tier, "everyone-else") == ["everyone-else", *["-"] * 6, "ordinary"]
    assert row_cells(tier, "high-potential")[2] == "[150..500)"


def test_validate_says_a_good_table_is_valid(client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    edit = max_.get("/rules/tables/complaint_sla/edit")
    assert edit.status_code == 200
    assert textarea(edit.text) == SLA
    checked = post(max_, "complaint_sla", "validate", sla_v3())
    assert checked.status_code == 200
    assert "valid: complaint_sla v3, hit policy unique, 7 rules, 7 tests; version 3 is new" \
        in result(checked.text)
    same = post(max_, "complaint_sla", "validate", SLA)
    assert "version 2 is stored with exactly this content" in result(same.text)


def test_validate_shows_every_problem_at_its_line_and_keeps_the_text(
        client_as: Callable[[str], Client]) -> None:
    bad = sla_v3().replace("sla_calendar: extended}", "sla_calendar: extnded}", 1).replace(
        "hit: unique", "hit: uniqe")
    checked = post(client_as("max"), "complaint_sla", "validate", bad)
    assert checked.status_code == 422
    panel = result(checked.text)
    calendar, hit = line_of(bad, "sla_calendar: extnded"), line_of(bad, "hit: uniqe")
    assert f"complaint_sla.yaml:{calendar}: row 'strategic-urgent' gives output 'sla_calendar' " \
        "the value 'extnded'; did you mean 'extended'?" in panel
    assert f"complaint_sla.yaml:{hit}: unknown hit policy 'uniqe'; did you mean 'unique'?" \
        in panel
    assert marked_lines(checked.text) == [hit, calendar]
    assert textarea(checked.text) == bad


def test_yaml_that_does_not_parse_is_refused_at_its_line_and_nothing_is_stored(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    broken = "table: complaint_sla\nversion: 3\n# </textarea><script>alert(1)</script>\n" \
        "inputs: {tier: string\nhit: unique\n"
    max_ = client_as("max")
    before = table_count(desk)
    for action in ("validate", "test", "simulate", "publish"):
        refused = post(max_, "complaint_sla", action, broken)
        assert refused.status_code == 422, action
        assert re.search(r"complaint_sla\.yaml:\d+: not valid YAML", result(refused.text))
        assert marked_lines(refused.text)
        assert textarea(refused.text) == broken  # what was typed, shown again as text
        assert "<script>alert(1)</script>" not in refused.text
    assert table_count(desk) == before
    assert desk.registry.active_table("complaint_sla", NOW).version == 2


def test_the_tests_button_runs_the_embedded_tests(client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    passed = post(max_, "complaint_sla", "test", sla_v3())
    assert passed.status_code == 200
    assert "Test: 7 of 7 tests passed" in result(passed.text)
    failing = SLA.replace("version: 2", "version: 3").replace(
        "when: {tier: strategic, severity: \"critical, high\"}\n    then: {first_response_hours: 1",
        "when: {tier: strategic, severity: \"critical, high\"}\n    then: {first_response_hours: 3")
    failed = post(max_, "complaint_sla", "test", failing)
    assert failed.status_code == 422
    assert "6 of 7 tests passed; a version with failing tests cannot be published" \
        in result(failed.text)
    assert "expected {'first_response_hours': 1" in result(failed.text)


def test_a_manager_publishes_a_new_version_and_the_history_shows_the_change(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    before = table_count(desk)
    published = post(max_, "complaint_sla", "publish", sla_v3())
    assert published.status_code == 303
    assert published.headers["location"] == "/rules/tables/complaint_sla?published=3"
    assert table_count(desk) == before + 1
    active = desk.registry.active_table("complaint_sla", NOW)
    assert active.version == 3
    assert desk.publications.of("table", "complaint_sla")[0].published_by == "max"
    page = max_.get(published.headers["location"]).text
    assert "Published version 3; it is the active version now." in page
    assert "Published version" not in max_.get("/rules/tables/complaint_sla?published=9").text
    assert row_cells(page, "ordinary-critical")[4] == "20"
    assert row_cells(page, "v3")[2] == "2026-03-02 10:00 UTC by max"
    assert row_cells(page, "v2")[2] == "2026-03-02 09:00 UTC by operator"
    diff = max_.get("/rules/tables/complaint_sla/versions/3/diff")
    assert diff.status_code == 200
    changed = [html.unescape(t) for t in
               re.findall(r'<span class="(?:add|del)">(.*?)</span>', diff.text)]
    now_20 = ORDINARY_CRITICAL.replace("24", "20")
    assert changed == ["-version: 2", "+version: 3", f"-    {ORDINARY_CRITICAL},",
                       f"+    {now_20},"]
    first = max_.get("/rules/tables/complaint_sla/versions/2/diff",
                     headers={"HX-Request": "true"})
    assert "<html" not in first.text and "v2 is the first version" in first.text


def test_publishing_the_old_text_again_makes_that_version_active_again(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    assert post(max_, "complaint_sla", "publish", sla_v3()).status_code == 303
    again = post(max_, "complaint_sla", "publish", SLA)
    assert again.headers["location"] == "/rules/tables/complaint_sla?published=2"
    assert desk.registry.active_table("complaint_sla", NOW).version == 2
    same = post(max_, "complaint_sla", "publish", SLA)
    assert same.status_code == 422
    assert "v2 with this content is already the active version" in result(same.text)


def test_a_version_with_failing_tests_or_bad_yaml_or_a_taken_number_is_not_published(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    before = table_count(desk)
    failing = sla_v3().replace("expect: {resolution_hours: 40}", "expect: {resolution_hours: 41}")
    refused = post(max_, "complaint_sla", "publish", failing)
    assert refused.status_code == 422
    line = line_of(failing, "expect: {resolution_hours: 41}") - 1  # the test's `given:` line
    assert f"complaint_sla.yaml:{line}: test failed: given" in result(refused.text)
    assert marked_lines(refused.text) == [line]
    unloadable = sla_v3().replace("severity: string", "severity: strin")
    assert post(max_, "complaint_sla", "publish", unloadable).status_code == 422
    renamed = sla_v3().replace("table: complaint_sla", "table: complaint_slas")
    other = post(max_, "complaint_sla", "publish", renamed)
    assert other.status_code == 422
    assert "this editor is for table 'complaint_sla', but the text defines 'complaint_slas'" \
        in result(other.text)
    taken = sla_v3().replace("version: 3", "version: 2")
    clash = post(max_, "complaint_sla", "publish", taken)
    assert clash.status_code == 422
    assert f"complaint_sla.yaml:{line_of(taken, 'version: 2')}: table 'complaint_sla' version " \
        "2 is already stored with other content" in result(clash.text)
    assert "set 'version: 3' to publish the change" in result(clash.text)
    assert table_count(desk) == before
    assert desk.registry.active_table("complaint_sla", NOW).version == 2


def test_htmx_gets_the_result_panel_alone_and_a_redirect_after_publishing(
        client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    headers = {"HX-Request": "true"}
    checked = max_.post("/rules/tables/complaint_sla/validate", headers=headers,
                        data={"source": "table: [", **csrf(max_)})
    assert checked.status_code == 422
    assert checked.text.lstrip().startswith('<section id="result"')
    done = max_.post("/rules/tables/complaint_sla/publish", headers=headers,
                     data={"source": sla_v3(), **csrf(max_)})
    assert done.headers["hx-redirect"] == "/rules/tables/complaint_sla?published=3"


def test_simulate_shows_how_many_customers_would_change_tier(
        desk: Casework, client_as: Callable[[str], Client], tmp_path: Path) -> None:
    # the first 150 purchases of the shipped sample: 54 customers, enough to fit the models
    purchases = tmp_path / "purchases.txt"
    purchases.write_text("".join(CDNOW_SAMPLE.read_text().splitlines(keepends=True)[:150]))
    desk.customers.import_file(purchases, "cdnow", T0)
    candidate = TIER.replace('">= 0.01"', '">= 0.05"').replace("version: 1", "version: 2")
    simulated = post(client_as("max"), "customer_tier", "simulate", candidate,
                     as_of="1998-06-30", output="tier")
    assert simulated.status_code == 200, result(simulated.text)
    expected = desk.tiering.simulate(load_table_text(candidate, "c.yaml"), date(1998, 6, 30),
                                     NOW)
    assert expected.changed > 0
    assert f"{expected.changed} of {expected.customers} customers would change tier " \
        "(figures as of 1998-06-30)" in result(simulated.text)
    values = expected.values  # in the order the output declares them
    for old in values:
        assert row_cells(simulated.text, old)[1:] == \
            [str(expected.matrix.get((old, new), 0)) for new in values]
    assert table_count(desk) == len(SHIPPED)
    assert desk.registry.active_table("customer_tier", NOW).version == 1


def test_simulate_defaults_to_the_day_of_the_figures_and_orders_tiers_as_declared(
        desk: Casework, client_as: Callable[[str], Client], tmp_path: Path) -> None:
    purchases = tmp_path / "purchases.txt"
    purchases.write_text("".join(CDNOW_SAMPLE.read_text().splitlines(keepends=True)[:150]))
    desk.customers.import_file(purchases, "cdnow", T0)
    desk.tiering.recompute(date(1998, 6, 30), NOW)
    max_ = client_as("max")
    edit = max_.get("/rules/tables/customer_tier/edit").text
    assert '<input id="as_of" name="as_of" type="date" value="1998-06-30">' in edit
    candidate = TIER.replace('">= 0.01"', '">= 0.002"').replace("version: 1", "version: 2")
    simulated = post(max_, "customer_tier", "simulate", candidate)  # no day given
    assert simulated.status_code == 200, result(simulated.text)
    assert "(figures as of 1998-06-30)" in result(simulated.text)
    header = row_cells(simulated.text, "active")
    assert [cell for cell in header[1:] if cell != "none"] == ["strategic", "key", "ordinary"]


def test_simulate_says_where_it_applies(client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    edit = max_.get("/rules/tables/complaint_sla/edit").text
    assert "Simulation over customers applies to the tables customers are tiered by" in edit
    refused = post(max_, "complaint_sla", "simulate", sla_v3(), as_of="2026-03-02")
    assert refused.status_code == 422
    assert "reads severity, which customers do not offer" in result(refused.text)
    assert "applies to the tables customers are tiered by (customer_tier, churn_risk)" \
        in result(refused.text)
    no_purchases = post(max_, "customer_tier", "simulate", TIER, as_of="2026-03-02")
    assert no_purchases.status_code == 422  # C1 and C7 have bought nothing: no model to fit
    assert "BG/NBD fit failed: no customer has a repeat purchase" in result(no_purchases.text)
    bad_day = post(max_, "customer_tier", "simulate", TIER, as_of="1998-13-01")
    assert bad_day.status_code == 422
    assert "'figures as of' must be a day as YYYY-MM-DD, not '1998-13-01'" in result(bad_day.text)


def test_a_workflow_shows_its_diagram_states_transitions_and_source(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    page = client_as("ada").get("/rules/workflows/complaint")
    assert page.status_code == 200
    diagram = re.search(r'<pre class="source">(stateDiagram-v2.*?)</pre>', page.text, re.S)
    assert diagram and "[*] -->" in html.unescape(diagram.group(1))
    spec = desk.registry.active("complaint").spec
    for transition in spec.transitions:
        cells = row_cells(page.text, transition.trigger)
        assert cells[3] == (", ".join(sorted(transition.roles)) or "anyone")
    source = desk.store.definition("workflow", "complaint").source
    assert html.escape(source, quote=False).strip()[:200] in page.text


def test_who_may_read_edit_and_publish(desk: Casework,
                                      client_as: Callable[[str], Client]) -> None:
    assert client_as("ann").get("/rules").status_code == 403
    assert client_as("kim").get("/rules").status_code == 403
    for reader in ("sam", "ada", "max", "root"):
        assert client_as(reader).get("/rules/tables/complaint_sla").status_code == 200, reader
    for name in ("ada", "sam"):
        client = client_as(name)
        assert client.get("/rules/tables/complaint_sla/edit").status_code == 403
        for action in ("validate", "test", "simulate", "publish"):
            assert post(client, "complaint_sla", action, sla_v3()).status_code == 403, action
        page = client.get("/rules/tables/complaint_sla").text
        assert "/edit" not in page
    assert client_as("root").get("/rules/tables/complaint_sla/edit").status_code == 200
    assert table_count(desk) == len(SHIPPED)


def test_unknown_tables_and_versions_are_not_found(desk: Casework,
                                                  client_as: Callable[[str], Client]) -> None:
    max_ = client_as("max")
    missing = max_.get("/rules/tables/no_such_table")
    assert missing.status_code == 404
    assert "decision table &#39;no_such_table&#39; is not stored" in missing.text
    assert max_.get("/rules/tables/complaint_sla?version=9").status_code == 404
    assert max_.get("/rules/tables/complaint_sla/edit?version=9").status_code == 404
    assert max_.get("/rules/workflows/complaint/versions/9/diff").status_code == 404
    assert max_.get("/rules/workflows/nothing").status_code == 404
    before = table_count(desk)
    made_up = SLA.replace("table: complaint_sla", "table: made_up")
    assert post(max_, "made_up", "publish", made_up).status_code == 404  # edits, never adds
    assert table_count(desk) == before
    old = max_.get("/rules/tables/complaint_sla/edit?version=2")
    assert textarea(old.text) == SLA
