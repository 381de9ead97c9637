"""Work done every so many seconds on a thread of its own until stopped, beside the worker's
sweeps (`casework worker --mail-every`, `--retention-every`): a round that fails is logged and
the next one tries again, for the server or the database may be back by then."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Stopping = Callable[[], bool]  # whether the thread has been asked to stop


class Periodic:
    """Runs `work(stopping)` now and then every `every` seconds; `what` names it in the log."""

    def __init__(self, name: str, what: str, every: float,
                 work: Callable[[Stopping], None]) -> None:
        self.what, self.every, self.work = what, every, work
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask it to stop after the round in hand, and wait for it."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.work(self._stopping.is_set)
            except Exception:  # the server or the database may be back next time
                log.exception("%s failed; trying again in %s s", self.what, self.every)
            self._stopping.wait(self.every)
