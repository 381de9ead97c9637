"""engine.workflows.drawing: workflows drawn as SVG on the server."""

from __future__ import annotations

import random
import re
import textwrap
import time
import xml.etree.ElementTree as ET

from engine.kernel.specs import WorkflowSpec
from engine.workflows.diagram import edges
from engine.workflows.drawing import MAX_BENDS, MAX_EDGES, MAX_STATES, svg, too_large
from engine.workflows.layout import bends
from engine.workflows.loading import load_workflow_file, load_workflow_text
from tests.fixtures import ROOT

SVG = "{http://www.w3.org/2000/svg}"
COMPLAINT = load_workflow_file(ROOT / "workflows" / "complaint.yaml")
HOSTILE = textwrap.dedent("""\
    workflow: hostile
    version: 1
    title: "<script>alert(1)</script> & 'friends'"
    states:
      open:   {initial: true, title: "<b>Open</b> & \\"quoted\\""}
      done:   {final: true, title: "</svg><style>*{}</style>"}
    transitions:
      - trigger: finish
        title: "<img src=x onerror=alert(1)>"
        from: open
        to: done
      - trigger: again
        from: open
        to: open
""")


def parsed(text: str) -> ET.Element:
    """The SVG as XML: it must be well formed to be parsed at all."""
    return ET.fromstring(text)


def states_of(root: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-state"]: g for g in root.iter(f"{SVG}g") if "data-state" in g.attrib}


def texts(element: ET.Element) -> str:
    return " ".join(" ".join(t.itertext()) for t in element.iter(f"{SVG}text"))


def test_every_state_is_a_box_with_its_title_and_every_arrow_has_its_label() -> None:
    root = parsed(svg(COMPLAINT))
    boxes = states_of(root)
    assert list(boxes) == list(COMPLAINT.states)
    for name, state in COMPLAINT.states.items():
        shown = texts(boxes[name])
        assert (state.title or name)[:40] in shown and name in shown
        assert boxes[name].find(f"{SVG}rect") is not None
    arrows = [p for p in root.iter(f"{SVG}path") if "edge" in p.attrib.get("class", "")]
    pairs = {(s, d) for s, d, _ in edges(COMPLAINT)}
    assert len(arrows) == len(pairs) + 1  # and the start dot's arrow
    labels = " ".join(texts(t) if t.tag == f"{SVG}text" else ""
                      for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "edge-label")
    words = " ".join(labels.split())
    for transition in COMPLAINT.transitions:
        assert transition.trigger in words, transition.trigger
    assert "timer follow_up" in words  # timers labelled as in the Mermaid source


def test_final_states_are_marked_and_the_initial_state_has_the_start_dot() -> None:
    root = parsed(svg(COMPLAINT))
    boxes = states_of(root)
    for name, state in COMPLAINT.states.items():
        classes = boxes[name].attrib["class"].split()
        assert ("final" in classes) == state.final, name
        assert ("initial" in classes) == state.initial, name
        assert (boxes[name].find(f"{SVG}rect[@class='ring']") is not None) == state.final
    assert root.find(f".//{SVG}g[@class='start']/{SVG}circle") is not None


def test_the_current_state_alone_is_highlighted() -> None:
    root = parsed(svg(COMPLAINT, "in_progress"))
    marked = {name for name, g in states_of(root).items()
              if "current" in g.attrib["class"].split()}
    assert marked == {"in_progress"}
    assert states_of(root)["in_progress"].attrib["aria-current"] == "step"
    assert svg(COMPLAINT, "in_progress") is svg(COMPLAINT, "in_progress")  # drawn once, kept
    assert not any("current" in g.attrib["class"].split()
                   for g in states_of(parsed(svg(COMPLAINT))).values())


def test_text_from_yaml_is_escaped_and_nothing_is_styled_inline() -> None:
    spec = load_workflow_text(HOSTILE, "hostile.yaml")
    drawn = svg(spec, "open")
    root = parsed(drawn)  # well formed: no text broke out of its element
    assert not re.search(r"<(script|style|img|b)\b", drawn)
    assert "&lt;b&gt;Open&lt;/b&gt; &amp; &quot;quoted&quot;" in drawn
    assert "&lt;/svg&gt;&lt;style&gt;" in drawn
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert not any(name.startswith("on") for name in element.attrib), element.tag
    assert [e.tag for e in root.iter() if e.tag.endswith("style")] == []
    assert "again" in texts(root)  # the self-loop is drawn and labelled


def large_workflow(states: int, arrows: int, far: bool = False) -> WorkflowSpec:
    """A generated workflow: a chain of states and random further transitions among them
    (`far`: from the first 20 states to the last 20, each reaching across the drawing)."""
    names = [f"state_{i}" for i in range(states)]
    chosen = random.Random(21)
    lines = ["workflow: large", "version: 1", "title: Large", "states:"]
    lines += [f"  {n}: {{{'initial: true' if i == 0 else ''}"
              f"{'final: true' if i == states - 1 else ''}}}" for i, n in enumerate(names)]
    lines.append("transitions:")
    pairs = [(names[i], names[i + 1]) for i in range(states - 1)]
    while len(pairs) < arrows:
        source, dest = ((chosen.choice(names[:20]), chosen.choice(names[-20:])) if far
                        else (chosen.choice(names[:-1]), chosen.choice(names)))
        if (source, dest) not in pairs:
            pairs.append((source, dest))
    for number, (source, dest) in enumerate(pairs):
        lines += [f"  - trigger: step_{number}", f"    from: {source}", f"    to: {dest}",
                  "    roles: [agent, supervisor]"]
    return load_workflow_text("\n".join(lines) + "\n", "large.yaml")


def test_a_workflow_at_the_drawing_limits_draws_in_well_under_a_second() -> None:
    spec = large_workflow(MAX_STATES, MAX_EDGES)
    assert too_large(spec) is None
    pairs = [(s, d) for s, d, _ in edges(spec)]
    assert bends(list(spec.states), pairs) <= MAX_BENDS  # the work is bounded, not only timed
    took = []
    for current in ("state_7", "state_8", "state_9"):  # each a drawing of its own (not kept)
        started = time.perf_counter()
        drawn = svg(spec, current)
        took.append(time.perf_counter() - started)
        assert len(states_of(parsed(drawn))) == MAX_STATES
    # about 0.1 s on an idle machine; the best of three, for a machine busy with other work
    assert min(took) < 1.0, f"{min(took):.2f}s to draw {MAX_STATES} states, {MAX_EDGES} arrows"


def test_a_larger_workflow_is_not_drawn_and_says_why_at_once() -> None:
    spec = large_workflow(MAX_STATES + 200, MAX_EDGES + 400)  # far past the limits
    started = time.perf_counter()
    assert svg(spec) == ""
    reason = too_large(spec)
    assert time.perf_counter() - started < 0.1
    assert reason is not None and f"{MAX_STATES + 200} states" in reason
    assert f"at most {MAX_STATES} states" in reason


def test_arrows_that_reach_across_too_many_layers_are_not_drawn() -> None:
    spec = large_workflow(MAX_STATES, MAX_EDGES, far=True)
    pairs = [(s, d) for s, d, _ in edges(spec)]
    assert bends(list(spec.states), pairs) > MAX_BENDS
    reason = too_large(spec)
    assert reason is not None and "reach across too many layers" in reason
    assert svg(spec) == ""
