"""`casework worker`, `timers list` and `outbox list|send`, as an operator runs them; the mail
goes to a real SMTP server (aiosmtpd) listening on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.store.schema import outbox, timers
from tests.cli.test_main import AGENT, home, run, started
from tests.smtp import Inbox

__all__ = ["home", "run"]  # fixtures shared with test_cli

WARNING = "2026-03-05T11:00:00Z"  # 80% of 40 business hours (see tests/jobs/test_worker.py)
BREACH = "2026-03-06T09:00:00Z"


def triaged(run: Any) -> int:
    case_id = started(run)
    fired = run("cases", "fire", str(case_id), "triage", *AGENT, "--field", "category=billing",
                "--field", "severity=high")
    assert fired.exit_code == 0, fired.output
    answered = run("cases", "fire", str(case_id), "respond", *AGENT, "--field",
                   "first_response=We are on it")
    assert answered.exit_code == 0, answered.output
    return case_id


def test_worker_once_fires_what_is_due_and_timers_list_shows_it(run: Any) -> None:
    case_id = triaged(run)
    assert run("worker", "--once", "--now", "2026-03-05T10:59:00Z").stdout == \
        "fired 0 timer(s)\n"
    assert run("worker", "--once", "--now", WARNING).stdout == "fired 1 timer(s)\n"
    listed = [json.loads(line) for line in
              run("timers", "list", "--case", str(case_id), "--json").stdout.splitlines()]
    assert [(t["name"], t["step"], t["state"]) for t in listed] == [
        ("first_reply", 0.8, "cancelled"), ("resolution", 0.8, "fired"),
        ("resolution", 1.0, "pending")]
    assert listed[1]["outcome"] == "looked at resolution at 0.8; level 1"
    assert list(listed[1]) == [c.name for c in timers.c]  # one key per column, as stored
    assert listed[1]["due_at"] == "2026-03-05T11:00:00Z" and listed[1]["done_at"] is not None
    shown = json.loads(run("cases", "show", str(case_id), "--json", "--now", WARNING).stdout)
    resolution = next(c for c in shown["sla"] if c["name"] == "resolution")
    assert (resolution["status"], resolution["elapsed_hours"], resolution["level"]) == (
        "warning", 32.0, 1)
    assert run("timers", "list", "--failing").stdout.count("\n") == 4  # the table, no rows


def test_a_looping_worker_refuses_a_fixed_clock(run: Any) -> None:
    result = run("worker", "--now", WARNING)
    assert result.exit_code == 2
    assert "use --once" in result.stderr


def test_outbox_send_mails_each_notice_once_to_whoever_has_an_address(
        run: Any, smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    assert run("users", "add", "sam", "--role", "supervisor", "--email",
               "sam@example.org").exit_code == 0
    triaged(run)
    assert run("worker", "--once", "--now", BREACH).stdout == "fired 2 timer(s)\n"
    listed = run("outbox", "list").stdout
    assert "to ann <no address> (not sent)" in listed  # level 1: the assignee, no email known
    assert "to sam <sam@example.org> (not sent)" in listed  # level 2: the supervisors
    send = ["outbox", "send", "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--sender",
            "desk@example.org", "--smtp-tls", "none"]
    sent = run(*send)
    # ann, the assignee, hears of the breach too (a second notice without an address)
    assert (sent.exit_code, sent.stdout) == (0, "sent 1, failed 0, without an address 2\n")
    [mail] = inbox.mails
    assert (mail.mail_from, mail.rcpt_tos) == ("desk@example.org", ["sam@example.org"])
    text = mail.content.decode() if isinstance(mail.content, bytes) else str(mail.content)
    assert "complaint case 1: resolution breached (escalation level 2)" in text
    assert run(*send).stdout == "sent 0, failed 0, without an address 2\n"
    assert len(inbox.mails) == 1
    notices = [json.loads(line) for line in run("outbox", "list", "--json").stdout.splitlines()]
    assert [(n["recipient"], n["sent_at"] is not None) for n in notices] == [
        ("ann", False), ("sam", True), ("ann", False)]
    assert [list(n) for n in notices] == [[c.name for c in outbox.c]] * 3


def test_the_worker_stops_cleanly_on_sigterm(home: Path, run: Any, database_url: str) -> None:
    env = {**os.environ, "CASEWORK_DATABASE_URL": database_url, "CASEWORK_HOME": str(home)}
    env.pop("CASEWORK_NOW", None)
    worker = subprocess.Popen(
        [sys.executable, "-c", "from engine.cli.main import main; main(prog_name='casework')",
         "worker", "--interval", "0.2"], env=env, stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    assert worker.stdout.readline().startswith("worker: sweeping every 0.2 s")
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=60)
    assert (worker.returncode, out.strip().splitlines()[-1]) == (0, "worker: stopped")
