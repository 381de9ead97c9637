"""The YAML editor (CodeMirror over the table editor's textarea) and the server-drawn workflow
diagrams in a real Chromium, under the pages' Content-Security-Policy: no violation while
typing, with completion and lint shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.cli.demo import demo_password
from tests.browser.served import sign_in, watched

pytestmark = pytest.mark.browser


def test_the_editor_completes_names_and_marks_a_broken_line_as_you_type(
        new_page: Callable[[], Page], shot: Callable[[Page, str], Path]) -> None:
    page = new_page()
    errors = watched(page)
    page.goto("/rules/tables/complaint_sla/edit")
    sign_in(page, "max", demo_password("max"))
    page.goto("/rules/tables/complaint_sla/edit")
    editor = page.locator(".editor .cm-editor")
    expect(editor).to_be_visible()
    expect(page.locator("textarea#source")).to_be_hidden()  # still in the form, in sync
    expect(editor.locator(".cm-lineNumbers .cm-gutterElement").nth(3)).to_have_text("3")
    lines = page.locator("textarea#source").input_value().count("\n") + 1
    editor.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nbogus_key: in_prog")
    completion = page.locator(".cm-tooltip-autocomplete")
    expect(completion).to_contain_text("in_progress")
    expect(completion).to_contain_text("state")
    shot(page, "completion")
    page.keyboard.press("Escape")
    # ~500 ms after the last key the text goes to .../problems; the line is marked
    marked = editor.locator(".cm-lintRange-error")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("bogus_key")
    expect(editor.locator(".cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)
    assert "bogus_key: in_prog" in page.locator("textarea#source").input_value()
    marked.hover()
    expect(page.locator(".cm-tooltip-lint")).to_contain_text("bogus_key")
    shot(page, "lint")
    assert errors == [], "\n".join(errors)  # no CSP violation while typing, linting, completing
    # the form still posts the edited text: Validate shows the same problem at that line
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#result li.bad .ln")).to_have_text(str(lines + 1))
    # after a key that names a state (to:), states come first in the list
    editor.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nto: re")
    first = page.locator(".cm-tooltip-autocomplete li").first
    expect(first).to_contain_text("state")
    expect(first).to_contain_text(re.compile(r"^re"))
    page.keyboard.press("Escape")
    # Chromium logs the refusal (422, as intended for a text that does not load), nothing else
    assert [e for e in errors if "status of 422" not in e] == [], "\n".join(errors)


def test_the_workflow_and_case_pages_draw_the_diagram_with_the_state_marked(
        new_page: Callable[[], Page], shot: Callable[[Page, str], Path]) -> None:
    page = new_page()
    errors = watched(page)
    page.goto("/rules/workflows/complaint")
    sign_in(page, "max", demo_password("max"))
    page.goto("/rules/workflows/complaint")
    diagram = page.locator("svg.diagram")
    expect(diagram).to_be_visible()
    expect(diagram.locator("g.state")).to_have_count(5)
    expect(diagram.locator("g.state.current")).to_have_count(0)
    page.goto("/queues/intake")
    page.locator("table.grid tbody a[href^='/cases/']").first.click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    drawn = page.locator("section.case-diagram svg.diagram")
    expect(drawn).to_be_visible()
    current = drawn.locator("g.state.current")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-state", "received")
    # the CSS class styles it: the highlighted box is filled unlike the others
    fill = current.locator("rect").first.evaluate("r => getComputedStyle(r).fill")
    other = drawn.locator("g.state:not(.current) rect").first.evaluate(
        "r => getComputedStyle(r).fill")
    assert fill != other
    drawn.scroll_into_view_if_needed()
    shot(page, "case-diagram")
    assert errors == [], "\n".join(errors)
