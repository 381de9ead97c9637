"""Workflow specs drawn as SVG on the server, for the workflow and case pages.

States are rounded boxes with their title (or name) and, smaller, their name, queue and
whether SLA clocks pause there; the initial state has a dot pointing at it, a final state a
double border, and the `current` state (a case's) the class `current`. Transitions are arrows
labelled as in the Mermaid source (engine/workflows/diagram.py): trigger, roles, "[guarded]",
and a line more for each timer or customer event that fires them. Placed by the layered layout
of engine/workflows/layout.py, top to bottom from the initial state.

The SVG goes into pages under a strict Content-Security-Policy (web/headers.py): it has
presentation attributes and CSS classes only, styled in web/static/casework.css, never a
style attribute or a <style> element. Every text comes from YAML and is escaped. A workflow
larger than MAX_STATES states or MAX_EDGES arrows is not drawn (`too_large` says why): past
that a drawing is unreadable anyway, and the bound keeps a page's answer fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from engine.kernel.specs import WorkflowSpec
from engine.workflows.diagram import edges, state_notes
from engine.workflows.layout import Edge, Layout, Node, Placed, Route, bends, layered

MAX_STATES = 60
MAX_EDGES = 180  # distinct (source, dest) arrows
MAX_BENDS = 8_000  # points arrows pass through between their boxes (the layout's work)
MAX_LABEL = 48  # characters of one line of text; longer ones end in an ellipsis
LINE = 15.0  # height of a line of text in a box
LABEL_LINE = 13.0  # of a line of an arrow's label
CHAR = 7.4  # width of a character at the boxes' font size (13px sans-serif), a fair guess
SMALL_CHAR = 6.3  # at the names' and labels' size (11px)
PAD = 12.0
MIN_WIDTH = 96.0
KEPT = 512  # drawings kept (a few kilobytes each) before the cache starts afresh
_DRAWN: dict[tuple[str, int, str, str | None], str] = {}
LABELS_SHOWN = 6  # labels an arrow shows before "+n more"
WRAP = 24  # characters of a label line, broken at spaces


def too_large(spec: WorkflowSpec) -> str | None:
    """Why the workflow is not drawn, or None when it is drawn."""
    pairs = list(dict.fromkeys((s, d) for s, d, _ in edges(spec)))
    what = f"{spec.name} v{spec.version} has {len(spec.states)} states and {len(pairs)} arrows"
    if len(spec.states) > MAX_STATES or len(pairs) > MAX_EDGES:
        return (f"{what}: too many to draw readably (at most {MAX_STATES} states and "
                f"{MAX_EDGES} arrows); the tables of states and transitions list them all")
    if bends(_initial_first(spec), pairs) > MAX_BENDS:
        return (f"{what}, and they reach across too many layers to draw readably; the tables "
                "of states and transitions list them all")
    return None


def svg(spec: WorkflowSpec, current: str | None = None) -> str:
    """The workflow as an <svg> element, `current` marked; "" when it is too_large. Kept per
    version and state: a case page asks for the same few drawings over and over."""
    key = (spec.name, spec.version, spec.content_hash, current)
    drawn = _DRAWN.get(key)
    if drawn is None:
        if len(_DRAWN) >= KEPT:
            _DRAWN.clear()
        drawn = _DRAWN[key] = "" if too_large(spec) is not None else _drawing(spec, current)
    return drawn


def _drawing(spec: WorkflowSpec, current: str | None) -> str:
    labels = {pair: _shown(lines) for pair, lines in _labels(spec).items()}
    nodes = [_node(spec, name) for name in _initial_first(spec)]
    layout = layered(nodes, [Edge(s, d, max(len(line) for line in lines) * SMALL_CHAR,
                                  len(lines) * LABEL_LINE)
                             for (s, d), lines in labels.items()])
    ident = f"wf-{_id_safe(spec.name)}-{spec.version}-{spec.content_hash[:8]}"
    title = (f"Diagram of {spec.title} ({spec.name} v{spec.version}): {len(spec.states)} "
             f"states, {len(spec.transitions)} transitions")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" width="{layout.width:.0f}" '
        f'height="{layout.height:.0f}" role="img" aria-labelledby="{ident}-title">',
        f'<title id="{ident}-title">{_text(title)}</title>',
        f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path class="arrowhead" d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        '<g class="edges">',
        *(_arrow(route, ident) for route in layout.routes),
        '</g><g class="edge-labels">',
        *(_label(route, labels[(route.source, route.dest)]) for route in layout.routes),
        "</g>",
        _start(layout, spec.initial.name, ident),
        '<g class="states">',
        *(_state(spec, name, layout.nodes[name], current) for name in spec.states),
        "</g></svg>",
    ]
    return "\n".join(parts)


# --- what is drawn ---------------------------------------------------------------------------


def _labels(spec: WorkflowSpec) -> dict[tuple[str, str], list[str]]:
    """Each arrow's label lines, arrows in the spec's order."""
    found: dict[tuple[str, str], list[str]] = {}
    for source, dest, label in edges(spec):
        found.setdefault((source, dest), []).append(label)
    return found


def _initial_first(spec: WorkflowSpec) -> list[str]:
    """The states in the order the layout reads them: the initial state first, so the walk
    that breaks cycles starts there and the flow reads down from it."""
    return [spec.initial.name, *(name for name in spec.states if name != spec.initial.name)]


def _box_lines(spec: WorkflowSpec, name: str) -> tuple[str, str]:
    """A box's main line (title or name) and its small line (name, queue, SLA note)."""
    state = spec.states[name]
    small = [name] if state.title else []
    small += state_notes(spec, state)
    return _cut(state.title or name), _cut(" · ".join(small))


def _node(spec: WorkflowSpec, name: str) -> Node:
    main, small = _box_lines(spec, name)
    width = max(MIN_WIDTH, len(main) * CHAR + 2 * PAD, len(small) * SMALL_CHAR + 2 * PAD)
    return Node(name, width, 2 * PAD + LINE * (2 if small else 1))


# --- SVG -------------------------------------------------------------------------------------


def _state(spec: WorkflowSpec, name: str, box: Placed, current: str | None) -> str:
    state = spec.states[name]
    classes = ["state", *(["initial"] if state.initial else []),
               *(["final"] if state.final else []), *(["current"] if name == current else [])]
    main, small = _box_lines(spec, name)
    centre = box.x + box.width / 2
    first = box.y + PAD + LINE * 0.8
    marked = ' aria-current="step"' if name == current else ""
    parts = [f'<g class="{" ".join(classes)}" data-state="{_text(name)}"{marked}>',
             f"<title>{_text(name)}{' (current state)' if name == current else ''}</title>",
             f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
             f'height="{box.height:.1f}" rx="10" fill="#fff" stroke="#555"/>']
    if state.final:
        parts.append(f'<rect class="ring" x="{box.x + 3:.1f}" y="{box.y + 3:.1f}" '
                     f'width="{box.width - 6:.1f}" height="{box.height - 6:.1f}" rx="7" '
                     'fill="none" stroke="#555"/>')
    parts.append(f'<text class="name" x="{centre:.1f}" y="{first:.1f}" '
                 f'text-anchor="middle" font-size="13">{_text(main)}</text>')
    if small:
        parts.append(f'<text class="note" x="{centre:.1f}" y="{first + LINE:.1f}" '
                     f'text-anchor="middle" font-size="11">{_text(small)}</text>')
    return "".join(parts) + "</g>"


def _start(layout: Layout, initial: str, ident: str) -> str:
    """The dot that points at the initial state (Mermaid's [*])."""
    box = layout.nodes[initial]
    x, top = box.x + box.width / 2, box.y
    return (f'<g class="start"><circle cx="{x:.1f}" cy="{top - 22:.1f}" r="6" fill="#555"/>'
            f'<path class="edge" d="M{x:.1f},{top - 16:.1f} L{x:.1f},{top - 1:.1f}" '
            f'fill="none" stroke="#555" marker-end="url(#{ident}-arrow)"/></g>')


def _arrow(route: Route, ident: str) -> str:
    kind = " back" if route.back else " loop" if route.loop else ""
    return (f'<path class="edge{kind}" d="{_path(route)}" fill="none" stroke="#555" '
            f'marker-end="url(#{ident}-arrow)"/>')


def _path(route: Route) -> str:
    """Curves through the route's points that leave and enter each point vertically."""
    (x, y), rest = route.points[0], route.points[1:]
    if route.loop:
        (x2, y2) = rest[0]
        return f"M{x:.1f},{y:.1f} C{x + 42:.1f},{y - 14:.1f} {x2 + 42:.1f},{y2 + 14:.1f} " \
               f"{x2:.1f},{y2:.1f}"
    d = [f"M{x:.1f},{y:.1f}"]
    for nx, ny in rest:
        mid = (y + ny) / 2
        d.append(f"C{x:.1f},{mid:.1f} {nx:.1f},{mid:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(d)


def _shown(lines: Sequence[str]) -> list[str]:
    """An arrow's label lines as shown: each cut short, at most LABELS_SHOWN and a count."""
    shown = [part for line in lines[:LABELS_SHOWN] for part in _wrapped(_cut(line))]
    if len(lines) > LABELS_SHOWN:
        shown.append(f"+{len(lines) - LABELS_SHOWN} more")
    return shown


def _wrapped(line: str) -> list[str]:
    """A label line broken at spaces into lines of at most WRAP characters (a longer word
    keeps its line): narrow labels keep a layer of many arrows from growing wide."""
    parts: list[str] = []
    for word in line.split(" "):
        if parts and len(parts[-1]) + 1 + len(word) <= WRAP:
            parts[-1] += " " + word
        else:
            parts.append(word)
    return parts


def _label(route: Route, lines: Sequence[str]) -> str:
    """The label in the room the layout kept for it, a line a <tspan>."""
    x, top = route.label
    spans = "".join(f'<tspan x="{x:.1f}" y="{top + (i + 0.8) * LABEL_LINE:.1f}">'
                    f"{_text(line)}</tspan>" for i, line in enumerate(lines))
    return f'<text class="edge-label" x="{x:.1f}" y="{top:.1f}" font-size="11">{spans}</text>'


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _text(text: str) -> str:
    return escape(text, quote=True)


def _id_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
