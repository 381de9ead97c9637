"""A layered (Sugiyama-style) layout of a directed graph, for drawing workflows top to bottom.

The steps of the classic method, each kept small and linear enough for the sizes drawn:
1. cycles are broken by reversing the edges a depth-first walk from the first node finds
   going back (a workflow's "reopen"), so the flow reads downwards from the initial state;
2. each node gets the layer of its longest path from a source;
3. an edge spanning several layers gets a bend point in each layer between (a "dummy"), so
   that it is routed around the boxes of those layers rather than through them;
4. each layer is ordered by the barycentre of its neighbours, a few sweeps down and up, to
   cut crossings;
5. x positions: each node as near as it can get to its neighbours' centre, never overlapping.
Self-loops take no part; they get a loop on their box's right side (`loop=True`).
Pure geometry: no SVG and no specs here (engine/workflows/drawing.py draws with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

Point = tuple[float, float]
SWEEPS = 3  # down-and-up barycentre passes: more rarely cuts crossings further
GAP_X = 24.0  # between neighbours in a layer
GAP_Y = 16.0  # between layers
DUMMY_WIDTH = 10.0  # the room an edge passing through a layer takes there
LOOP_ROOM = 40.0  # right of a box with a self-loop, besides the loop's label
LABEL_INSET = 6.0  # from an edge's line to its label's text
MARGIN = 16.0


@dataclass(frozen=True)
class Node:
    """A box to place: its id and size."""

    id: str
    width: float
    height: float


@dataclass(frozen=True)
class Edge:
    """An edge to route, and the size of its label (0 by 0 for none)."""

    source: str
    dest: str
    label_width: float = 0.0
    label_height: float = 0.0


@dataclass(frozen=True)
class Placed:
    """A placed box: its top-left corner and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Route:
    """An edge as the points its line goes through, from source to dest, and the top-left
    corner of its label; `back` for an edge reversed to break a cycle (it goes up), `loop`
    for a self-loop."""

    source: str
    dest: str
    points: tuple[Point, ...]
    label: Point
    back: bool = False
    loop: bool = False


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: dict[str, Placed]
    routes: list[Route]


@dataclass
class _Graph:
    """The layered graph being laid out: boxes and dummies in layers, each edge's chain."""

    layers: list[list[str]]
    chains: dict[Edge, list[str]]
    width: dict[str, float]
    height: dict[str, float]
    labelled: dict[str, Edge]  # the dummy that carries each edge's label


def layered(nodes: Sequence[Node], edges: Sequence[Edge]) -> Layout:
    """Nodes placed in layers, the first node's layer on top, and every edge routed with room
    for its label: the label is a dummy of its own in the layer below the edge's source, so
    that labels are packed apart like boxes (Graphviz does the same)."""
    ids = [n.id for n in nodes]
    edges = list(dict.fromkeys(edges))
    back = _back_edges(ids, [(e.source, e.dest) for e in edges if e.source != e.dest])
    graph = _graph(nodes, edges, back)
    _order(graph.layers, graph.chains)
    xs = _positions(graph)
    heights = [max((graph.height[v] for v in layer), default=0) for layer in graph.layers]
    tops = [MARGIN + sum(heights[:i]) + GAP_Y * (i + 1) for i in range(len(graph.layers))]
    middle = {v: tops[i] + heights[i] / 2 for i, layer in enumerate(graph.layers)
              for v in layer}
    size = {n.id: n for n in nodes}
    placed = {v: Placed(xs[v] - graph.width[v] / 2, middle[v] - size[v].height / 2,
                        size[v].width, size[v].height) for v in ids}
    routes = [_route(e, (e.source, e.dest) in back, graph, placed, xs, middle) for e in edges]
    right = max((xs[v] + graph.width[v] / 2 for layer in graph.layers for v in layer),
                default=0)
    bottom = tops[-1] + heights[-1] + GAP_Y if graph.layers else 0
    return Layout(right + MARGIN, bottom + MARGIN, placed, _spread(routes, placed))


def bends(ids: Sequence[str], edges: Sequence[tuple[str, str]]) -> int:
    """How many dummies `layered` would place for these edges: the work it does grows with
    them, so a caller bounds them first (linear in nodes and edges)."""
    pairs = list(dict.fromkeys((s, d) for s, d in edges if s != d))
    back = _back_edges(list(ids), pairs)
    rank = _layers(list(ids), [(d, s) if (s, d) in back else (s, d) for s, d in pairs])
    return sum(2 * abs(rank[d] - rank[s]) - 1 for s, d in pairs)


def _graph(nodes: Sequence[Node], edges: list[Edge], back: set[tuple[str, str]]) -> _Graph:
    """Boxes in the even layers (twice their longest path), and each edge's chain with a dummy
    in every odd layer it crosses, the first of them carrying its label."""
    upright = [(e.dest, e.source) if (e.source, e.dest) in back else (e.source, e.dest)
               for e in edges if e.source != e.dest]
    rank = _layers([n.id for n in nodes], upright)
    layers: list[list[str]] = [[] for _ in range(2 * max(rank.values(), default=0) + 1)]
    width = {n.id: n.width for n in nodes}
    height = {n.id: n.height for n in nodes}
    for n in nodes:
        layers[2 * rank[n.id]].append(n.id)
    chains: dict[Edge, list[str]] = {}
    labelled: dict[str, Edge] = {}
    for number, e in enumerate(edges):
        if e.source == e.dest:  # a loop: room on its box's right for it and its label
            width[e.source] += LOOP_ROOM + e.label_width
            height[e.source] = max(height[e.source], e.label_height)
            continue
        top, bottom = ((e.dest, e.source) if (e.source, e.dest) in back
                       else (e.source, e.dest))
        chain = [top]
        for i in range(2 * rank[top] + 1, 2 * rank[bottom]):
            dummy = f"\0{number}\0{i}"  # NUL never occurs in a state name
            layers[i].append(dummy)
            width[dummy], height[dummy] = DUMMY_WIDTH, 0.0
            chain.append(dummy)
        chains[e] = [*chain, bottom]
        first = chain[1]
        labelled[first] = e
        width[first] = e.label_width + LABEL_INSET + DUMMY_WIDTH / 2
        height[first] = e.label_height
    return _Graph(layers, chains, width, height, labelled)


def _back_edges(ids: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges an iterative depth-first walk (from each unvisited node in order) meets going
    to a node still on its path: reversing them leaves no cycle."""
    out: dict[str, list[str]] = {v: [] for v in ids}
    for s, d in edges:
        out[s].append(d)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    back: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            v, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[v] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((v, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(out[child])))
    return back


def _layers(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's longest distance from a node nothing points to (Kahn's order)."""
    into = {v: 0 for v in ids}
    out: dict[str, list[str]] = {v: [] for v in ids}
    for s, d in edges:
        out[s].append(d)
        into[d] += 1
    layer = dict.fromkeys(ids, 0)
    ready = [v for v in ids if into[v] == 0]
    while ready:
        v = ready.pop()
        for d in out[v]:
            layer[d] = max(layer[d], layer[v] + 1)
            into[d] -= 1
            if into[d] == 0:
                ready.append(d)
    return layer


def _order(layers: list[list[str]], chains: dict[Edge, list[str]]) -> None:
    """Reorder each layer in place by the mean position of its neighbours in the layer above
    (going down) or below (going up)."""
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for chain in chains.values():
        for a, b in pairwise(chain):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    for _ in range(SWEEPS):
        for i in range(1, len(layers)):
            _by_barycentre(layers[i], layers[i - 1], up)
        for i in range(len(layers) - 2, -1, -1):
            _by_barycentre(layers[i], layers[i + 1], down)


def _by_barycentre(layer: list[str], fixed: list[str], neighbours: dict[str, list[str]]) -> None:
    at = {v: i for i, v in enumerate(fixed)}

    def key(item: tuple[int, str]) -> float:
        index, v = item
        near = [at[n] for n in neighbours.get(v, ()) if n in at]
        return sum(near) / len(near) if near else float(index)

    layer[:] = [v for _, v in sorted(enumerate(layer), key=key)]


def _positions(graph: _Graph) -> dict[str, float]:
    """Each node's centre x: packed left to right first, then pulled towards the centre of its
    neighbours, a layer at a time down and up, keeping the order and the gaps."""
    xs: dict[str, float] = {}
    for layer in graph.layers:
        left = MARGIN
        for v in layer:
            xs[v] = left + graph.width[v] / 2
            left += graph.width[v] + GAP_X
    near: dict[str, list[str]] = {}
    for chain in graph.chains.values():
        for a, b in pairwise(chain):
            near.setdefault(a, []).append(b)
            near.setdefault(b, []).append(a)
    for layer in [*graph.layers, *reversed(graph.layers)]:
        _pull(layer, xs, graph.width, near)
    shift = MARGIN - min((xs[v] - graph.width[v] / 2 for layer in graph.layers for v in layer),
                         default=0)
    return {v: x + shift for v, x in xs.items()}


def _pull(layer: list[str], xs: dict[str, float], width: dict[str, float],
          near: dict[str, list[str]]) -> None:
    """Move each node of a layer to its neighbours' mean x, then push apart what overlaps:
    rightwards from the left, then leftwards from the right, and average the two."""
    wanted = [sum(xs[n] for n in near[v]) / len(near[v]) if near.get(v) else xs[v]
              for v in layer]
    forth = list(wanted)
    for i in range(1, len(layer)):
        least = forth[i - 1] + (width[layer[i - 1]] + width[layer[i]]) / 2 + GAP_X
        forth[i] = max(forth[i], least)
    back = list(wanted)
    for i in range(len(layer) - 2, -1, -1):
        most = back[i + 1] - (width[layer[i + 1]] + width[layer[i]]) / 2 - GAP_X
        back[i] = min(back[i], most)
    for i, v in enumerate(layer):
        xs[v] = (forth[i] + back[i]) / 2
    for i in range(1, len(layer)):  # the average of two valid packings may still overlap
        least = xs[layer[i - 1]] + (width[layer[i - 1]] + width[layer[i]]) / 2 + GAP_X
        xs[layer[i]] = max(xs[layer[i]], least)


def _route(edge: Edge, back: bool, graph: _Graph, placed: dict[str, Placed],
           xs: dict[str, float], middle: dict[str, float]) -> Route:
    """The points of an edge: from the source box's side that faces the dest, through its
    dummies (along the left of the one with the label), to the dest box's facing side."""
    if edge.source == edge.dest:
        box = placed[edge.source]
        right = box.x + box.width
        return Route(edge.source, edge.dest, ((right, box.y + box.height * 0.3),
                                              (right, box.y + box.height * 0.7)),
                     (right + LOOP_ROOM - 4, box.y + (box.height - edge.label_height) / 2),
                     loop=True)
    chain = graph.chains[edge]
    top, bottom = placed[chain[0]], placed[chain[-1]]
    points: list[Point] = [(top.centre, top.y + top.height)]
    label = (0.0, 0.0)
    for v in chain[1:-1]:
        if v in graph.labelled:
            left = xs[v] - graph.width[v] / 2 + DUMMY_WIDTH / 2
            points.append((left, middle[v]))
            label = (left + LABEL_INSET, middle[v] - edge.label_height / 2)
        else:
            points.append((xs[v], middle[v]))
    points.append((bottom.centre, bottom.y))
    if back:
        points.reverse()
    return Route(edge.source, edge.dest, tuple(points), label, back=back)


def _spread(routes: list[Route], placed: dict[str, Placed]) -> list[Route]:
    """Routes whose ends meet a box's top or bottom at points spread along that side, in the
    order of where each goes next, instead of all at its centre."""
    ends: dict[tuple[str, float], list[tuple[float, int, int]]] = {}
    for number, route in enumerate(routes):
        if route.loop:
            continue
        for index, name, towards in ((0, route.source, route.points[1]),
                                     (-1, route.dest, route.points[-2])):
            ends.setdefault((name, route.points[index][1]), []).append(
                (towards[0], number, index))
    points = [list(route.points) for route in routes]
    for (name, y), found in ends.items():
        box = placed[name]
        found.sort()
        step = box.width * 0.6 / len(found)
        for place, (_, number, index) in enumerate(found):
            points[number][index] = (box.x + box.width * 0.2 + step * (place + 0.5), y)
    return [Route(r.source, r.dest, tuple(p), r.label, r.back, r.loop)
            for r, p in zip(routes, points, strict=True)]
