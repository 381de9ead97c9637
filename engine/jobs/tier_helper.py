"""A second process that works out the next batches of a recompute while this one writes.

Working a batch out (decisions, changes, events and their hashes, the starts that go ahead and
the cases they open: engine/jobs/tier_changes.py) costs about as much Python as writing one,
and only reads: the customers' heads and open cases as committed. The helper is a fork of this
process, so it has the figures, the tables and the workflows without copying them; it reads
through connections of its own (the ones it inherits are its parent's: it leaves them alone,
freezes everything it inherited out of the collector's reach so that none is finalised, and
exits through os._exit as multiprocessing's children do).

What it sends back is a proposal. The writer reads the heads again inside the batch's
transaction (locked, on PostgreSQL); if they are not the ones the helper worked from (another
process wrote to one of those customers meanwhile), the batch is worked out again here from the
heads just read; open cases that differ are planned again (engine/jobs/tier_writing.py), and
cases drafted against ids the transaction does not reserve are started there instead (the
helper is then told by how much its ids were off). A batch the helper fails on is worked out
here too, which raises the error the helper met, at the same batch; a helper that dies leaves
the rest to this process. Case ids can be foreseen on SQLite only: on PostgreSQL the writer
starts the cases.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import suppress
from multiprocessing.connection import Connection
from types import TracebackType

from engine.cases.runtime import Runtime
from engine.customers.records import CustomerStore
from engine.jobs.tier_changes import Prepared, Preparer
from engine.kernel.records import CustomerHead


def can_help() -> bool:
    """Whether a helper process can run beside this one: a second core, and fork (the helper
    starts as a copy of this process)."""
    return (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()


class Helper:
    """Works batches out in a forked process, `ahead` of them beyond the one being written."""

    def __init__(self, preparer: Preparer, customers: CustomerStore, runtime: Runtime,
                 ahead: int = 2) -> None:
        self.preparer = preparer
        self.customers = customers
        self.runtime = runtime
        self.ahead = ahead
        self.asked: deque[range] = deque()
        self.process: multiprocessing.process.BaseProcess | None = None
        self.connection: Connection | None = None
        self.taken = 0  # batches written as the helper worked them out
        self.rebased = 0  # id corrections sent

    def __enter__(self) -> Helper:
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        first_case = self.customers.next_case_id()  # before this process starts any
        self.process = context.Process(
            target=_serve, args=(self.preparer, self.customers, self.runtime, first_case,
                                 theirs, ours),
            daemon=True, name="casework-recompute-helper")
        self.process.start()
        theirs.close()
        self.connection = ours
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.connection is not None:
            with suppress(OSError):  # the helper may be gone already
                self.connection.send(None)  # the helper leaves
            self.connection.close()
            self.connection = None
        if self.process is not None:
            self.process.join(timeout=5)
            if self.process.is_alive():  # busy with a batch nobody will take
                self.process.kill()
                self.process.join()

    def prepare(self, spans: Sequence[range], index: int, heads: Mapping[str, CustomerHead]
                ) -> Prepared:
        """Batch `index` of spans worked out against `heads` (read in the writing transaction):
        the helper's, if it worked from these very heads, else worked out here. The helper is
        handed the batches after it first, up to `ahead` of them."""
        for span in spans[index + len(self.asked):index + 1 + self.ahead]:
            self._ask(span)
        offered = self._take(spans[index])
        if offered is not None and offered.heads == heads:
            self.taken += 1
            return offered
        return self.preparer.prepare(spans[index], heads)

    def rebase(self, shift: tuple[int, int] | None) -> None:
        """The writer started a batch's cases under other ids than drafted (by, and how many
        corrections the drafts had seen): the helper moves the ids it drafts from now on,
        unless it was told already (drafts made before it heard are off by as much)."""
        if shift is None or shift[1] != self.rebased or self.connection is None:
            return
        try:
            self.connection.send(shift[0])
            self.rebased += 1
        except OSError:
            self.connection = None

    def _ask(self, span: range) -> None:
        if self.connection is None:
            return
        try:
            self.connection.send(span)
            self.asked.append(span)
        except OSError:  # the helper is gone: this process works the batches out
            self.connection = None

    def _take(self, span: range) -> Prepared | None:
        if self.connection is None or not self.asked or self.asked[0] != span:
            return None
        self.asked.popleft()
        try:
            offered = self.connection.recv()
        except (EOFError, OSError):  # the helper died: the rest is worked out here
            self.connection = None
            return None
        return offered if isinstance(offered, Prepared) else None


def _serve(preparer: Preparer, customers: CustomerStore, runtime: Runtime,
           first_case: int | None, connection: Connection, parents: Connection) -> None:
    """The helper's loop: a span in, its batch worked out (None if that failed) back; an int
    in, the ids it drafts move by that much; None in (or the parent's end closed), it ends."""
    parents.close()  # its copy of the parent's end: with it open, the parent's closing is unseen
    gc.freeze()  # what it inherited, the parent's database connections among it, is never
    customers.forked()  # collected here; what it makes itself is, a batch at a time
    preparer.runtime, preparer.next_case_id = runtime, first_case
    while True:
        try:
            asked = connection.recv()
        except (EOFError, OSError):
            return
        if asked is None:
            return
        if isinstance(asked, int):
            preparer.rebase(asked)
            continue
        try:
            prepared: Prepared | None = _prepare(preparer, customers, asked)
        except Exception:  # the writer works this batch out itself, and meets the error
            prepared = None
        try:
            connection.send(prepared)
        except OSError:
            return
        del prepared
        gc.collect(0)


def _prepare(preparer: Preparer, customers: CustomerStore, span: range) -> Prepared:
    """A batch worked out and planned from the heads and open cases as committed now."""
    ids = preparer.figures.ids
    first, last = ids[span.start], ids[span.stop - 1]
    batch = preparer.prepare(span, customers.heads(first, last))
    preparer.plan_and_draft(batch, customers.open_cases(preparer.workflows, first, last))
    return batch
