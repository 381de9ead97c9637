"""Where a workflow's mail templates are: workflows/mail/<workflow>/<name>.<language>.txt in
the folder that defines the home (engine.workflows.registry.definitions_home), e.g.
workflows/mail/complaint/acknowledgement.zh.txt. The first line of a template is the mail's
subject, then a blank line, then the body. A workflow without a `message` template (what the
conversation's messages to the customer are sent with) uses the built-in one.
"""

from __future__ import annotations

import re
from pathlib import Path

MAIL_FOLDER = "mail"
FALLBACK_LANGUAGE = "en"  # the language a template is looked up in when the asked one is not
# <name>.<language>.txt, the language a tag such as en, zh or zh-Hant
TEMPLATE_FILE = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.txt$")
# templates every workflow has, unless it has its own of that name (Jinja2, in English)
BUILT_IN = {"message": "{{ workflow }}: {{ case.title }}\n\n{{ body }}\n"}


def mail_folder(definitions: Path) -> Path:
    """The mail templates' folder of a home's definitions folder."""
    return definitions / "workflows" / MAIL_FOLDER


def template_path(definitions: Path, workflow: str, name: str, language: str) -> Path | None:
    """The file of template `name` for `workflow` in `language`, else in the fallback
    language; None if the workflow has neither."""
    folder = mail_folder(definitions) / workflow
    for tried in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        path = folder / f"{name}.{tried}.txt"
        if path.is_file():
            return path
    return None


def template_names(definitions: Path, workflow: str) -> frozenset[str]:
    """The template names `workflow` may mail from (in any language, or built in)."""
    folder = mail_folder(definitions) / workflow
    found = set(BUILT_IN)
    if folder.is_dir():
        found.update(match.group(1) for path in folder.iterdir()
                     if (match := TEMPLATE_FILE.match(path.name)))
    return frozenset(found)


def template_files(definitions: Path) -> list[Path]:
    """Every file in a home's mail folders, for `casework check`."""
    folder = mail_folder(definitions)
    return sorted(folder.glob("*/*")) if folder.is_dir() else []
