"""Settings from the environment (CASEWORK_*), each with a documented default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from engine.kernel.errors import CaseworkError


@dataclass(frozen=True)
class Settings:
    """
    home:          CASEWORK_HOME, where workflows/ and rules/ are read from; default: the
                   current directory.
    database_url:  CASEWORK_DATABASE_URL; default: sqlite:///HOME/casework.db (SQLite, WAL).
    now:           CASEWORK_NOW, an ISO 8601 instant used as the current time (for replaying
                   scenarios); default: the real clock.
    """

    home: Path
    database_url: str
    now: datetime | None = None

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)


def settings_for(home: str | Path | None = None, now: str | None = None) -> Settings:
    base = Path(home or os.environ.get("CASEWORK_HOME") or ".").resolve()
    url = os.environ.get("CASEWORK_DATABASE_URL") or f"sqlite:///{base / 'casework.db'}"
    moment = parse_now(now or os.environ.get("CASEWORK_NOW"))
    return Settings(home=base, database_url=url, now=moment)


@cache
def get_settings() -> Settings:
    return settings_for()


def parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CaseworkError(f"CASEWORK_NOW / --now: {text!r} is not an ISO 8601 instant "
                            "(e.g. 2026-03-06T17:30:00+01:00)") from None
    if moment.tzinfo is None:
        raise CaseworkError(f"CASEWORK_NOW / --now: {text!r} has no time zone; add Z or +HH:MM")
    return moment.astimezone(UTC)
