"""The home's secret key: what signs CSRF cookies and survey links, the same in every process.

A key given in CASEWORK_SECRET is used as it is; else one is made once and kept in
HOME/.casework-secret (0600), so that every server and worker of one home signs alike.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def secret_key(home: Path) -> str:
    """CASEWORK_SECRET, else a random key kept in HOME/.casework-secret (made once, 0600):
    every server process and worker of one home signs CSRF cookies and survey links with the
    same key."""
    given = os.environ.get("CASEWORK_SECRET")
    if given:
        return given
    path = home / ".casework-secret"
    if not path.exists():
        _write_once(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _write_once(path: Path, text: str) -> None:
    """Put `text` at `path` unless another process has put its own there first. The text is
    written whole to a file of this process (0600, from mkstemp) and then hard-linked into
    place, which fails if `path` exists: servers started together never read a half-written
    key, never fail on the other's file, and all end up with the first key linked."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.link(temporary, path)
    except FileExistsError:
        pass  # another server linked its key first: that one is read
    finally:
        os.unlink(temporary)
