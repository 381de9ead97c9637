"""The service desk as features see it: a database, a clock that scenarios move, and who plays
which role. Every action opens casework afresh on the same database, so a case that only worked
because something stayed in memory would fail here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.cases.runtime import Actor
from engine.kernel.records import CaseRecord
from engine.kernel.settings import Settings
from engine.wiring import Casework, open_casework

ROOT = Path(__file__).resolve().parent.parent
ZONES = {"UTC": UTC, "in Berlin": ZoneInfo("Europe/Berlin")}


def moment(text: str) -> datetime:
    """'Monday 2 March 2026, 09:00 UTC' or 'Saturday 27 March 2027, 20:00 in Berlin'."""
    weekday, _, rest = text.partition(" ")
    day, _, time_and_zone = rest.partition(", ")
    clock, _, place = time_and_zone.partition(" ")
    result = datetime.strptime(f"{day} {clock}", "%d %B %Y %H:%M").replace(tzinfo=ZONES[place])
    if result.strftime("%A") != weekday:
        raise ValueError(f"{text!r}: that day is a {result.strftime('%A')}")
    return result.astimezone(UTC)


@dataclass
class Clock:
    now: datetime


@dataclass
class Desk:
    database_url: str
    clock: Clock
    roles: dict[str, str]

    def open(self) -> Casework:
        return open_casework(Settings(home=ROOT, database_url=self.database_url))

    def fire(self, case_id: int, who: str, trigger: str, **fields: Any) -> None:
        casework = self.open()
        try:
            casework.runtime.fire(case_id, trigger, Actor(who, self.roles[who]), self.clock.now,
                                  fields)
        finally:
            casework.close()

    def case(self, case_id: int) -> CaseRecord:
        casework = self.open()
        try:
            return casework.store.get_case(case_id)
        finally:
            casework.close()
