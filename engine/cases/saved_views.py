"""Saved views: a person's named filters of a page they work from (a queue, the search, My
cases), listed in their menu. Each belongs to one user; nobody sees or deletes another's.
engine/store/saved_views.py keeps them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote, urlencode

from engine.kernel.errors import InvalidInput

MAX_NAME = 100
MAX_VIEWS = 50  # per user: a menu, not an archive
MAX_VALUE = 200
# the query parameters a saved view keeps (the queue page's filters, the search's query)
KEPT = ("state", "severity", "tier", "assignee", "sla", "q", "sort")
PAGES = ("/search", "/my-cases")  # and /queues/<queue>


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    page: str  # a path of this site
    filters: dict[str, str]
    created_at: datetime

    @property
    def link(self) -> str:
        return self.page + (f"?{urlencode(self.filters)}" if self.filters else "")


def checked_view(name: str, page: str, filters: Mapping[str, str]) -> tuple[str, str,
                                                                             dict[str, str]]:
    """The view as it will be kept, or InvalidInput naming what is wrong."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("name", "is empty; name the view, e.g. 'My breached billing'")
    if len(name) > MAX_NAME:
        raise InvalidInput("name", f"is {len(name)} characters long; the most is {MAX_NAME}")
    queue = page.removeprefix("/queues/")
    if page not in PAGES and (queue == page or not queue or "/" in queue):
        raise InvalidInput("page", f"'{page}' is not a page a view can keep: a queue "
                           f"(/queues/NAME) or {' or '.join(PAGES)}")
    if queue != page:
        page = "/queues/" + quote(queue, safe="")
    kept = {k: str(v) for k, v in filters.items() if k in KEPT and str(v)}
    for key, value in kept.items():
        if len(value) > MAX_VALUE:
            raise InvalidInput(key, f"is {len(value)} characters long; a view keeps at most "
                               f"{MAX_VALUE}")
    return name, page, kept


class SavedViews(Protocol):
    def views(self, user: str) -> list[SavedView]:
        """The user's views, by name."""

    def save(self, user: str, name: str, page: str, filters: Mapping[str, str],
             at: datetime) -> SavedView:
        """Keep the view under `name` (replacing the user's view of that name)."""

    def delete(self, user: str, view_id: int) -> bool:
        """Drop the user's view `view_id`; False if they have none of that id."""
