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
    attachments:   CASEWORK_ATTACHMENTS, the folder that keeps the files attached to case
                   conversations (outside the database rows); default: HOME/attachments.
    attachment_max_bytes:  CASEWORK_ATTACHMENT_MAX_BYTES, the largest file accepted; default
                   10485760 (10 MB).
    attachment_types:  CASEWORK_ATTACHMENT_TYPES, the media types accepted, comma-separated;
                   default: PDF, plain text, CSV, PNG, JPEG, GIF, WebP, email messages, and
                   the Office and OpenDocument formats (ATTACHMENT_TYPES).
    public_url:    CASEWORK_PUBLIC_URL, where customers reach this casework (the base of survey
                   links in mail, e.g. https://service.example.com); default
                   http://localhost:8000.
    survey_days:   CASEWORK_SURVEY_DAYS, how many days a survey link may be answered; default 14.
    form_per_hour: CASEWORK_FORM_PER_HOUR, how many public complaint forms one client address
                   may send in an hour (counted in the database, across every server);
                   default 5.
    """

    home: Path
    database_url: str
    now: datetime | None = None
    attachments: Path | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: tuple[str, ...] = ()  # empty: ATTACHMENT_TYPES
    public_url: str = "http://localhost:8000"
    survey_days: int = 14
    form_per_hour: int = 5

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    @property
    def attachments_folder(self) -> Path:
        return self.attachments or self.home / "attachments"

    @property
    def accepted_types(self) -> frozenset[str]:
        return frozenset(self.attachment_types or ATTACHMENT_TYPES)


ATTACHMENT_TYPES = (
    "application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif",
    "image/webp", "message/rfc822",
    "application/msword", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
)


def settings_for(home: str | Path | None = None, now: str | None = None) -> Settings:
    base = Path(home or os.environ.get("CASEWORK_HOME") or ".").resolve()
    url = os.environ.get("CASEWORK_DATABASE_URL") or f"sqlite:///{base / 'casework.db'}"
    moment = parse_now(now or os.environ.get("CASEWORK_NOW"))
    folder = os.environ.get("CASEWORK_ATTACHMENTS")
    types = os.environ.get("CASEWORK_ATTACHMENT_TYPES", "")
    return Settings(home=base, database_url=url, now=moment,
                    attachments=Path(folder).resolve() if folder else None,
                    attachment_max_bytes=_whole("CASEWORK_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
                    attachment_types=tuple(t.strip() for t in types.split(",") if t.strip()),
                    public_url=_url("CASEWORK_PUBLIC_URL", "http://localhost:8000"),
                    survey_days=_whole("CASEWORK_SURVEY_DAYS", 14, "days"),
                    form_per_hour=_whole("CASEWORK_FORM_PER_HOUR", 5, "forms"))


def _whole(name: str, default: int, unit: str = "bytes") -> int:
    text = os.environ.get(name)
    if not text:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise CaseworkError(f"{name}: {text!r} is not a whole number of {unit} above 0 "
                            f"(e.g. {default})")
    return int(text)


def _url(name: str, default: str) -> str:
    text = (os.environ.get(name) or default).strip().rstrip("/")
    if not text.startswith(("http://", "https://")) or len(text) < 10:
        raise CaseworkError(f"{name}: {text!r} is not an http(s) address; give where customers "
                            "reach casework, e.g. https://service.example.com")
    return text


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
