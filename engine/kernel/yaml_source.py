"""YAML that remembers where everything came from, so that every error can name file:line.

Mappings load as `Node` (a dict that knows the line of each key), sequences as `NodeList`
(a list that knows the line of each item). Duplicate keys are errors, not silent overwrites.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from engine.kernel.errors import DefinitionError, Problem
from engine.kernel.yaml_limits import LimitedLoader, LimitExceeded, size_problem

# A definition's name, a field's, a state's: what every loader accepts as an identifier.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def content_hash(document: Any) -> str:
    """The identity of a definition's content: comments and formatting do not change it."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Node(dict[str, Any]):
    """A YAML mapping with the line (1-based) of the mapping and of each of its keys."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class NodeList(list[Any]):
    """A YAML sequence with the line of the sequence and of each item."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _LineLoader(LimitedLoader):
    problems: list[Problem]
    path: str

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError, IndexError, KeyError,
                AttributeError) as exc:  # PyYAML's constructors on odd tags: `!!int default`
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this {node.tag.rsplit(':', 1)[-1]} value: {exc}",
                node.start_mark) from None
        if isinstance(value, str) and "\x00" in value:  # "\0" is a YAML escape
            self.problems.append(Problem(self.path, node.start_mark.line + 1, (
                "this text holds a NUL character (\\0), which casework cannot store; "
                "remove it")))
        return value


def _construct_mapping(loader: _LineLoader, node: MappingNode) -> Node:
    own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged = len(node.value) - own  # flatten puts merged pairs first; explicit keys win
    from_merge: set[str] = set()
    result = Node()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            key = str(key)
        if key in from_merge:
            del result[key]  # an explicit key overrides one that came from a merge
            from_merge.discard(key)
        elif index < merged and key in result:
            continue  # of two merged mappings, the first one named wins
        if key in result:
            loader.problems.append(
                Problem(loader.path, line, f"duplicate key '{key}' (first at line "
                        f"{result.key_lines[key]}); remove one of them")
            )
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
        if index < merged:
            from_merge.add(key)
    return result


def _construct_sequence(loader: _LineLoader, node: SequenceNode) -> NodeList:
    result = NodeList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


# YAML 1.2 booleans: only true and false. YAML 1.1 also reads yes/no/on/off as booleans, which
# turns `on: customer.tier_changed` into `True: ...` and a country code NO into False.
_BOOL = "tag:yaml.org,2002:bool"
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse(text: str, path: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text; return the document and the problems found while reading it.

    A document that is not YAML at all, or one beyond the limits of yaml_limits (size,
    nesting, alias expansion), raises DefinitionError naming the line.
    """
    too_big = size_problem(len(text.encode("utf-8", "surrogatepass")))
    if too_big:
        raise DefinitionError([Problem(path, 1, too_big)])
    try:
        loader = _LineLoader(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, found up front
        line = text.count("\n", 0, exc.position) + 1
        raise DefinitionError([Problem(path, line, f"not valid YAML: character "
                                       f"{chr(exc.character)!r} is not allowed here")]) from None
    loader.problems = []
    loader.path = path
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or "malformed YAML"
        raise DefinitionError([Problem(path, line, f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(path, 1, f"not valid YAML: {exc}")]) from None
    except LimitExceeded as exc:
        raise DefinitionError([Problem(path, exc.line, exc.message)]) from None
    finally:
        loader.dispose()
    return document, loader.problems


def read_source(path: Path) -> str:
    """The text of a definition file, refused (DefinitionError) before it is read if it is
    larger than a definition may be."""
    try:
        too_big = size_problem(path.stat().st_size)
    except OSError:
        too_big = None  # reading says why it cannot be read
    if too_big:
        raise DefinitionError([Problem(str(path), 1, too_big)])
    return path.read_text(encoding="utf-8")


def suggest(name: str, known: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest known name, or "" when nothing is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def known_list(known: Iterable[str]) -> str:
    return ", ".join(sorted(known)) or "(none)"


APPROVALS = ("none", "required")  # a definition's `approval:`, none when left out


class Checker:
    """Collects the problems of one definition file."""

    path: str
    problems: list[Problem]

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def approval(self, node: Node) -> bool:
        """Whether the definition says `approval: required` (four-eyes publishing); the key
        may be left out or say `none`."""
        value = node.get("approval", "none")
        if value not in APPROVALS:
            self.problem(node.line_of("approval"), f"'approval' must be 'required' or 'none' "
                         f"(or left out), not {value!r}")
            return False
        return bool(value == "required")

    def keys(self, node: Node, allowed: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), f"unknown key '{key}' in {what}"
                             f"{suggest(key, allowed)} (allowed: {known_list(allowed)})")
