"""How casework's processes log: one line per record, as JSON for a log collector or as text
for a person at a terminal (CASEWORK_LOG_FORMAT).

A JSON line carries the record's time (UTC, ISO 8601), level, logger, process id (several
server processes log to one stream) and message, and every
field the caller passed in `extra={"fields": {...}}` (the access log passes method, route,
status, duration and user), so that a collector reads fields, never parses sentences.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


FIELDS = "fields"  # the name of the `extra` entry that holds a record's structured fields


class JsonLines(logging.Formatter):
    """A log record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "pid": record.process,
            "message": record.getMessage()}
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextLines(logging.Formatter):
    """A log record as a line for people: time, level, message, then the fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return text


def default_format() -> LogFormat:
    """Text at a terminal, JSON otherwise (under systemd, in a container, into a file)."""
    return LogFormat.TEXT if sys.stderr.isatty() else LogFormat.JSON


def configure_logging(kind: LogFormat, level: int = logging.INFO) -> None:
    """Send every record at `level` and above to stderr, formatted as `kind`; replaces the
    handlers a previous call set up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if kind == LogFormat.JSON else TextLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # not a line per state change
    logging.getLogger("alembic").setLevel(logging.WARNING)  # not its checks at every start
