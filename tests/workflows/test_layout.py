"""engine.workflows.layout: a layered layout of a directed graph."""

from __future__ import annotations

from engine.workflows.layout import Edge, Layout, Node, bends, layered

GRAPH = ["ab", "ac", "ad", "be", "ce", "de", "ea", "ef", "ff", "af"]


def laid_out() -> Layout:
    return layered([Node(n, 100, 40) for n in "abcdef"],
                   [Edge(s, d, 60, 13) for s, d in GRAPH])


def test_boxes_do_not_overlap_and_stay_inside_the_drawing() -> None:
    layout = laid_out()
    boxes = list(layout.nodes.values())
    for i, one in enumerate(boxes):
        assert one.x >= 0 and one.x + one.width <= layout.width
        assert one.y >= 0 and one.y + one.height <= layout.height
        for other in boxes[i + 1:]:
            apart = (one.x + one.width <= other.x or other.x + other.width <= one.x
                     or one.y + one.height <= other.y or other.y + other.height <= one.y)
            assert apart, (one, other)
    assert layout.nodes["a"].y < layout.nodes["b"].y < layout.nodes["e"].y  # flows down
    back = [r for r in layout.routes if r.back]
    assert [(r.source, r.dest) for r in back] == [("e", "a")]  # the cycle, broken once
    assert next(r for r in layout.routes if r.loop).source == "f"



def test_an_edge_across_layers_bends_around_the_boxes_between() -> None:
    layout = laid_out()
    (long,) = [r for r in layout.routes if (r.source, r.dest) == ("a", "f")]
    assert len(long.points) > 2  # a bend in every layer it crosses
    for x, y in long.points[1:-1]:
        for box in layout.nodes.values():
            assert not (box.x < x < box.x + box.width and box.y < y < box.y + box.height)


def test_every_label_has_room_of_its_own() -> None:
    layout = laid_out()
    corners = [r.label for r in layout.routes if not r.loop]
    for i, (x, y) in enumerate(corners):
        for other_x, other_y in corners[i + 1:]:
            assert abs(x - other_x) >= 60 or abs(y - other_y) >= 13
        for box in layout.nodes.values():
            assert not (box.x <= x + 1 < box.x + box.width and box.y <= y + 1 < box.y + box.height)


def test_bends_counts_the_dummies_the_layout_places() -> None:
    pairs = [(s, d) for s, d in GRAPH]
    assert bends(list("abcdef"), pairs) == sum(len(r.points) - 2 for r in laid_out().routes
                                                if not r.loop)
