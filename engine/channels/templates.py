"""Customer mail from Jinja2 templates, per workflow and language.

A template is workflows/mail/<workflow>/<name>.<language>.txt in the folder that defines the
home (engine.workflows.mail_files): its first line is the subject, then a blank line, then the
body. It reads `case` (id, state, title, fields), `customer` (id, name), `workflow` (its title),
`body` (an agent's message, for `message`) and whatever the caller adds (a survey's
`survey_url`); a name it does not know is an error (StrictUndefined), never an empty gap in a
mail to a customer. A language without the template falls back to English.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from engine.kernel.errors import DefinitionError, Problem
from engine.workflows.mail_files import (
    BUILT_IN,
    FALLBACK_LANGUAGE,
    TEMPLATE_FILE,
    mail_folder,
    template_files,
    template_path,
)

MAX_SUBJECT = 250  # characters; the case token is added after it


@dataclass(frozen=True)
class Rendered:
    """A template filled in: the mail's subject and body, and the language it was in."""

    subject: str
    body: str
    language: str


class MailTemplates:
    """The mail templates of one home's definitions folder."""

    def __init__(self, definitions: Path) -> None:
        self.definitions = definitions
        self.folder = mail_folder(definitions)
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.folder), undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True, autoescape=False)

    def render(self, workflow: str, name: str, language: str,
               values: Mapping[str, Any]) -> Rendered:
        """Template `name` of `workflow` in `language` (else English) filled with `values`;
        DefinitionError, at the template's file and line, if it is missing or cannot be
        filled."""
        path = template_path(self.definitions, workflow, name, language)
        if path is None:
            return self._built_in(workflow, name, values)
        relative = path.relative_to(self.folder).as_posix()
        try:
            text = self.environment.get_template(relative).render(values)
        except jinja2.TemplateSyntaxError as exc:
            raise DefinitionError([Problem(str(path), exc.lineno, exc.message or
                                           "not a Jinja2 template")]) from None
        except jinja2.TemplateError as exc:
            raise DefinitionError([Problem(str(path), _line_in(exc, path), f"{exc}; give the "
                                           "value or change the template")]) from None
        found = TEMPLATE_FILE.match(path.name)
        return _split(text, found.group(2) if found else FALLBACK_LANGUAGE)

    def _built_in(self, workflow: str, name: str, values: Mapping[str, Any]) -> Rendered:
        source = BUILT_IN.get(name)
        if source is None:
            raise DefinitionError([Problem(str(self.folder / workflow), 1, f"there is no mail "
                                           f"template '{name}'; add {name}.en.txt here")])
        return _split(self.environment.from_string(source).render(values), FALLBACK_LANGUAGE)

    def problems(self) -> list[Problem]:
        """Template files Jinja2 cannot read, or not laid out as subject, blank line, body, or
        not named <name>.<language>.txt, at their lines (for `casework check`)."""
        found = []
        for path in template_files(self.definitions):
            if not TEMPLATE_FILE.match(path.name):
                found.append(Problem(str(path), 1, "a mail template is named "
                                     "<name>.<language>.txt, e.g. acknowledgement.en.txt"))
                continue
            try:
                self.environment.get_template(path.relative_to(self.folder).as_posix())
            except jinja2.TemplateSyntaxError as exc:
                found.append(Problem(str(path), exc.lineno, exc.message or
                                     "not a Jinja2 template"))
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) < 3 or not lines[0].strip() or lines[1].strip():
                found.append(Problem(str(path), 1 if not lines or not lines[0].strip() else 2,
                                     "a mail template is its subject line, a blank line, then "
                                     "the body"))
        return found


def _split(text: str, language: str) -> Rendered:
    subject, _, body = text.partition("\n")
    return Rendered(" ".join(subject.split())[:MAX_SUBJECT], body.strip("\n") + "\n", language)


def _line_in(exc: BaseException, path: Path) -> int:
    """The template line a rendering error happened at (Jinja2 puts the template's own file
    and line in the traceback), else 1."""
    line, frame = 1, exc.__traceback__
    while isinstance(frame, types.TracebackType):
        if frame.tb_frame.f_code.co_filename == str(path):
            line = frame.tb_lineno
        frame = frame.tb_next
    return line
