"""engine/kernel/signing.py: the key that signs CSRF cookies and survey links, made once per
home however many servers start at once."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from engine.kernel.signing import secret_key


def _key_at_once(home: Path, barrier: multiprocessing.synchronize.Barrier,
                 keys: multiprocessing.Queue[str]) -> None:
    barrier.wait()
    keys.put(secret_key(home))


def test_servers_started_at_once_make_one_key_and_all_read_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEWORK_SECRET", raising=False)
    context = multiprocessing.get_context("fork")
    for round_ in range(5):
        home = tmp_path / f"home{round_}"
        home.mkdir()
        barrier, keys = context.Barrier(8), context.Queue()
        workers = [context.Process(target=_key_at_once, args=(home, barrier, keys))
                   for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert [worker.exitcode for worker in workers] == [0] * 8
        found = {keys.get(timeout=5) for _ in workers}
        assert found == {(home / ".casework-secret").read_text()}
        assert len(found.pop()) >= 64
        assert stat.S_IMODE((home / ".casework-secret").stat().st_mode) == 0o600
        assert [p.name for p in home.iterdir()] == [".casework-secret"]  # no temporary left


def test_a_given_secret_wins_and_writes_nothing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_SECRET", "a secret from the environment")
    assert secret_key(tmp_path) == "a secret from the environment"
    assert list(tmp_path.iterdir()) == []
