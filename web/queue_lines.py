"""What the queue page prints of each open case: its cells as text, and its SLA badge (colour,
words, and the due time web/static/casework.js counts down to), decided once per row here so
that queue.html only prints them.

A page is 50 rows, and the template's work per row is what its time grows with: a Jinja macro
per badge cost more than all the other cells together, and each `{{ row.x }}` is an attribute
lookup and an escape. So a line is a tuple the template unpacks into loop variables, and its
badge is worked out here, once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal, NamedTuple
from urllib.parse import quote

from engine.cases.queues import QueueRow
from engine.kernel.records import SlaStatus
from web.rendering import span

Tone = Literal["green", "amber", "red", "grey"]  # the badge's CSS class
# the statuses as plain strings: comparing with an enum member costs a class lookup per row
_NONE, _PAUSED, _BREACHED, _WARNING = (status.value for status in (
    SlaStatus.NONE, SlaStatus.PAUSED, SlaStatus.BREACHED, SlaStatus.WARNING))


class SlaBadge(NamedTuple):
    """What a badge shows; `due` and `title` are empty for a badge without a due time."""

    tone: Tone
    text: str
    due: str = ""  # the due instant in ISO 8601, which the countdown reads
    title: str = ""


class QueueLine(NamedTuple):
    """One row of the queue page as it prints: queue.html unpacks it in this order."""

    id: int
    pick: str  # "id@lock_version": the case a ticked box or a Claim means, at the version shown
    summary: str
    state: str
    severity: str
    customer: str | None
    customer_path: str  # the customer's id as a URL path segment
    tier: str
    assignee: str | None
    tone: Tone
    badge: str  # the badge's words
    due: str
    due_title: str


def queue_lines(rows: Sequence[QueueRow], now: datetime,
                titles: Mapping[tuple[str, str], str] | None = None) -> list[QueueLine]:
    """The lines of `rows` as seen at `now`, each state by its title in `titles` ((workflow,
    state) -> title; Registry.state_titles), else its name."""
    titles = titles or {}
    return [QueueLine(row.id, f"{row.id}@{row.lock_version}", row.summary or row.workflow,
                      titles.get((row.workflow, row.state), row.state), row.severity or "",
                      row.customer,
                      _path(row.customer) if row.customer else "", row.tier or "",
                      row.assignee, *sla_badge(row.sla, row.due_at, now))
            for row in rows]


def sla_badge(sla: str, due_at: datetime | None, now: datetime) -> SlaBadge:
    """The badge of a case whose SLA status is `sla` and whose soonest clock is due at
    `due_at`, as seen at `now`: red once due (the worker may not have marked the breach yet),
    amber when warned, green while running."""
    if sla == _NONE:
        return SlaBadge("grey", "no SLA")
    if sla == _PAUSED:
        return SlaBadge("grey", "paused")
    if due_at is None:
        return SlaBadge("grey", "no target yet")
    due = due_at.astimezone(UTC).isoformat()
    title = f"due {due[:10]} {due[11:16]} UTC"  # as web.rendering.when, from the ISO text
    if sla == _BREACHED or due_at <= now:
        return SlaBadge("red", f"{span(now - due_at)} late", due, title)
    return SlaBadge("amber" if sla == _WARNING else "green", f"{span(due_at - now)} left",
                    due, title)


@lru_cache(maxsize=4096)  # a desk's customers recur from row to row and page to page
def _path(customer: str) -> str:
    """`customer` quoted as Jinja's urlencode filter quotes a string."""
    return quote(customer, safe="/")
