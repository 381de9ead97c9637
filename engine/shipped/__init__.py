"""The workflows and decision tables casework ships, laid out as a home (workflows/, rules/).

A home with neither folder of its own runs on these, and `casework init` copies them into a home
to edit. In the repository, workflows/ and rules/ here link to its top-level folders; the wheel
holds copies of them as package data, so a checkout and an installed casework both read them
through importlib.resources.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from engine.kernel.errors import CaseworkError

FOLDERS = ("workflows", "rules")


def shipped_home() -> Path:
    """The folder that holds the shipped workflows/ and rules/."""
    folder = files(__name__)
    if not isinstance(folder, Path):  # imported from an archive, not from a folder
        raise CaseworkError(f"casework's shipped definitions are not in a folder ({folder}); "
                            "install casework with pip, or run `casework init` from a checkout "
                            "and give --home the folder it writes")
    return folder


def shipped_files() -> list[Path]:
    """Every shipped definition file, relative to the shipped home (e.g. rules/calendars.yaml,
    workflows/mail/complaint/acknowledgement.en.txt)."""
    home = shipped_home()
    mail = sorted((home / "workflows" / "mail").glob("*/*.txt"))
    return sorted([*(path.relative_to(home) for folder in FOLDERS
                     for path in (home / folder).glob("*.yaml")),
                   *(path.relative_to(home) for path in mail)])
