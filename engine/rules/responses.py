"""Canned responses (rules/responses.yaml): named texts with `{placeholders}` that agents start a
message to the customer from; managers edit them, `casework check` validates them.

    responses:
      acknowledge:
        title: Acknowledge a complaint
        text: |
          Dear {customer_name},
          thank you for telling us. Your case number is {case_number}.
          {agent_name}

A placeholder names one of PLACEHOLDERS; `{{` and `}}` write a brace. An unknown placeholder is
an error at its own line, with the closest known name.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.kernel.errors import DefinitionError, InvalidInput, Problem
from engine.kernel.yaml_source import (
    IDENTIFIER,
    Checker,
    Node,
    known_list,
    parse,
    read_source,
    suggest,
)

RESPONSES_FILE = "responses.yaml"  # beside the tables in rules/, but not a decision table
FILE_KEYS = {"responses", "description"}
RESPONSE_KEYS = {"title", "text", "description"}
# What a canned response may say of its case (engine.cases.responses fills them in).
PLACEHOLDERS = {
    "customer_name": "the customer's name (else their id)",
    "customer_id": "the customer's id",
    "case_number": "the case's number",
    "case_title": "the title of the case's workflow (e.g. Customer complaint)",
    "summary": "the case's summary field, if it has one",
    "agent_name": "the name of the person writing (their display name if they have one)",
}


@dataclass(frozen=True)
class CannedResponse:
    name: str
    title: str
    text: str
    placeholders: frozenset[str]

    def render(self, values: Mapping[str, str]) -> str:
        """The text with its placeholders filled in from `values`."""
        missing = sorted(self.placeholders - values.keys())
        if missing:
            raise InvalidInput("response", f"'{self.name}' needs {', '.join(missing)}, which "
                               "were not given")
        return self.text.format_map({k: values[k] for k in self.placeholders})


def load_responses_file(path: Path) -> dict[str, CannedResponse]:
    return load_responses_text(read_source(path), str(path))


def load_responses_text(text: str, path: str) -> dict[str, CannedResponse]:
    """Parse and check a responses file; raise DefinitionError listing every problem."""
    document, problems = parse(text, path)
    loader = _ResponseLoader(path, problems, text.splitlines())
    responses = loader.load(document)
    if loader.problems:
        raise DefinitionError(loader.problems)
    return responses


class _ResponseLoader(Checker):
    def __init__(self, path: str, problems: list[Problem], lines: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.lines = lines

    def load(self, document: Any) -> dict[str, CannedResponse]:
        if not isinstance(document, Node) or not isinstance(document.get("responses"), Node):
            line = document.line_of("responses") if isinstance(document, Node) else 1
            self.problem(line, "a responses file is a mapping 'responses:' naming each canned "
                         "response, with its 'title' and 'text'")
            return {}
        self.keys(document, FILE_KEYS, "a responses file")
        found = {}
        for name, body in document["responses"].items():
            line = document["responses"].line_of(name)
            response = self.response(name, body, line)
            if response is not None:
                found[name] = response
        return found

    def response(self, name: str, body: Any, line: int) -> CannedResponse | None:
        if not IDENTIFIER.match(name):
            self.problem(line, f"response name '{name}' must be a lower-case identifier")
        if not isinstance(body, Node):
            self.problem(line, f"response '{name}' must be a mapping with 'title' and 'text'")
            return None
        self.keys(body, RESPONSE_KEYS, f"response '{name}'")
        text, title = body.get("text"), body.get("title", name)
        if not isinstance(text, str) or not text.strip():
            self.problem(body.line_of("text") if "text" in body else line,
                         f"response '{name}' needs 'text', the words to send")
            return None
        placeholders = self.placeholders(name, text, body.line_of("text"))
        if placeholders is None:
            return None
        return CannedResponse(name, str(title), text, placeholders)

    def placeholders(self, name: str, text: str, line: int) -> frozenset[str] | None:
        """The placeholders of `text`, each checked at its own line (a block scalar's text
        starts on the line after its key)."""
        raw = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        first = line + 1 if raw.rstrip().endswith(("|", "|-", "|+", ">", ">-", ">+")) else line
        found: set[str] = set()
        ok = True
        for offset, part in enumerate(text.splitlines() or [text]):
            try:
                named = [(f, s, c) for _, f, s, c in string.Formatter().parse(part)
                         if f is not None]
            except ValueError as exc:
                self.problem(first + offset, f"response '{name}': {exc}; write a brace as "
                             "'{{' or '}}'")
                ok = False
                continue
            for field, spec, conversion in named:
                if field not in PLACEHOLDERS or spec or conversion:
                    self.problem(first + offset, f"response '{name}' has unknown placeholder "
                                 f"'{{{field}}}'{suggest(field, PLACEHOLDERS)} (placeholders: "
                                 f"{known_list(PLACEHOLDERS)})")
                    ok = False
            found.update(field for field, _, _ in named)
        return frozenset(found) if ok else None
