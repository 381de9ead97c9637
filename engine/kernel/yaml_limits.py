"""Limits on what a YAML definition may make the loader do: its size, its nesting, and how much
its aliases expand.

An alias (`*name`) stands for the whole node its anchor names, so a few lines of aliases to
aliases describe billions of nodes (the "billion laughs"): PyYAML shares the node, but
everything that walks the document afterwards (checks, the content hash, the stored JSON) walks
the expansion. The composer here counts, while it builds the node graph and before anything is
constructed, how many nodes each alias adds and how deep the expanded document nests, and stops
at the first alias or collection beyond a limit, so the refusal costs no more than the text.

The limits are constants, not settings: they protect the process, not a policy an operator
tunes, and each is far above any real definition (the shipped ones: under 30 KB, nesting under
10, aliases adding tens of nodes) and far below what hurts.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

MAX_BYTES = 1024 * 1024  # a definition file's size, in bytes of UTF-8
MAX_DEPTH = 64  # collections inside collections, aliases expanded
MAX_ALIAS_NODES = 100_000  # nodes all aliases of one document add, counted as if expanded


class LimitExceeded(Exception):
    """A document beyond one of the limits: where (1-based line) and what to do about it."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


def size_problem(size: int) -> str | None:
    """What is wrong with a definition of `size` bytes, or None if it is small enough."""
    if size <= MAX_BYTES:
        return None
    return (f"the file is {size:,} bytes; a definition may be at most {MAX_BYTES:,} bytes "
            "(split it into several definitions)")


class LimitedLoader(yaml.SafeLoader):
    """A safe loader whose composer refuses nesting beyond MAX_DEPTH and aliases that would
    add more than MAX_ALIAS_NODES nodes, before the node graph grows."""

    _depth: int = 0
    _aliased: int = 0
    _measures: dict[yaml.Node, tuple[int, int]]  # node: (nodes when expanded, height)

    def compose_document(self) -> Any:
        self._depth, self._aliased, self._measures = 0, 0, {}
        return super().compose_document()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)  # an undefined alias is its error
            if node is not None:
                self._count_alias(node, str(event.anchor), line)
            return node
        if self._depth >= MAX_DEPTH:
            raise LimitExceeded(line, f"nesting deeper than {MAX_DEPTH} levels; a definition "
                                "nests a few levels: flatten this structure")
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._measures[node] = self._measure(node)
        return node

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """How many nodes `node` stands for, aliases expanded, and how deep it nests."""
        if isinstance(node, SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            return 1, 1
        measures = [self._measures[child] for child in children]
        return (1 + sum(size for size, _ in measures),
                1 + max((height for _, height in measures), default=0))

    def _count_alias(self, node: yaml.Node, anchor: str, line: int) -> None:
        measure = self._measures.get(node)
        if measure is None:  # the anchor's node is still being composed: it holds its alias
            raise LimitExceeded(line, f"alias '*{anchor}' is inside the node its anchor names, "
                                "which would make it infinite; refer to a node outside it")
        size, height = measure
        self._aliased += size
        if self._aliased > MAX_ALIAS_NODES:
            raise LimitExceeded(line, f"aliases here expand to more than {MAX_ALIAS_NODES:,} "
                                f"nodes (at '*{anchor}'); write the repeated parts out or "
                                "use fewer levels of aliases to aliases")
        if self._depth + height > MAX_DEPTH:
            raise LimitExceeded(line, f"alias '*{anchor}' nests the document deeper than "
                                f"{MAX_DEPTH} levels; flatten the structure it names")
