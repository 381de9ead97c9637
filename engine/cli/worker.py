"""`casework worker`, `casework timers` and `casework outbox`: deadlines and the notices they
send."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import FrameType

import click
from rich.table import Table

from engine.cli.mail import mail_every as mail_every_of
from engine.cli.mail import mailbox_of, summary
from engine.cli.support import common, fail, handles_errors, opened, out
from engine.jobs.mailbox import Fetched, Poller
from engine.jobs.outbox import Mailer, send_outbox
from engine.jobs.periodic import Periodic, Stopping
from engine.jobs.retention import RetentionRun, RetentionTimer
from engine.kernel.history import iso
from engine.kernel.jobs import JobRecord
from engine.kernel.logs import configure_logging
from engine.kernel.settings import SmtpTls
from engine.wiring import Casework


@click.command()
@click.option("--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds between sweeps")
@click.option("--once", is_flag=True, help="Run one sweep, print how many timers fired, stop")
@click.option("--mail-every", type=click.FloatRange(min=0.1), default=None,
              help="Seconds between mail fetches [default: CASEWORK_IMAP_EVERY when "
                   "CASEWORK_IMAP_HOST is set, else no fetching]")
@click.option("--retention-every", type=click.FloatRange(min=1), default=None,
              help="Seconds between retention runs (rules/retention.yaml) [default: none]")
@click.option("--checkpoint-every", type=click.FloatRange(min=1), default=None,
              help="Seconds between signed audit checkpoints, written to "
                   "CASEWORK_CHECKPOINT_DIR [default: none]")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="Serve this worker's Prometheus metrics on this port [default: none]")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="Address the metrics listen on (they carry no secrets, but keep them "
                   "inside the network Prometheus scrapes from)")
@common
@handles_errors
def worker(interval: float, once: bool, mail_every: float | None,
           retention_every: float | None, checkpoint_every: float | None,
           metrics_port: int | None, metrics_host: str, home: Path | None,
           now_text: str | None) -> None:
    """Fire due timers: SLA warnings, breaches and escalations, and workflow timers; fetch the
    mailbox, when one is configured. Stops cleanly on SIGTERM or Ctrl-C, after the timer in
    hand. With --retention-every, applies the retention rules too."""
    with opened(home, now_text) as casework:
        every = mail_every_of(casework.settings, mail_every)
        if once:
            click.echo(f"fired {casework.worker.fire_due_timers(casework.settings.clock())} "
                       "timer(s)")
            ran = casework.jobs.run_all(casework.settings.clock)
            if ran:
                click.echo(f"ran {ran} job(s)")
            return
        if casework.settings.now is not None:
            fail("--now / CASEWORK_NOW fixes the time, so a looping worker would fire nothing "
                 "new; use --once", 2)
        from engine.jobs.worker import Sweeper  # Jinja2 and the ladder load only for the worker

        configure_logging(casework.settings.log_format)
        if metrics_port is not None:
            serve_metrics(casework, metrics_host, metrics_port)

        def report(at: datetime, fired: int) -> None:
            if fired:
                click.echo(f"{iso(at)} fired {fired} timer(s)")

        sweeper = Sweeper(casework.worker, casework.settings.clock, interval, report)

        def report_job(done: JobRecord) -> None:
            click.echo(f"{iso(casework.settings.clock())} job {done.id} ({done.title}) "
                       f"{done.state}: {done.summary or done.error}")

        def fetched(done: Fetched) -> None:
            if done.taken or done.failed:
                click.echo(f"{iso(casework.settings.clock())} {summary(done)}")

        poller = None if every is None else Poller(mailbox_of(casework), every, fetched)
        keeper = None if retention_every is None else retention_timer(casework, retention_every)
        checkpoints = None if checkpoint_every is None else checkpointer(casework,
                                                                          checkpoint_every)
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        fetching = "" if every is None else f", fetching mail every {every:g} s"
        if retention_every is not None:
            fetching += f", retention every {retention_every:g} s"
        if checkpoint_every is not None:
            fetching += f", a checkpoint every {checkpoint_every:g} s"
        click.echo(f"worker: sweeping every {interval:g} s{fetching}; SIGTERM or Ctrl-C "
                   "stops it")
        sweeper.start()
        beside = [job for job in (poller, keeper, checkpoints) if job is not None]
        jobs = job_runner(casework, report_job)
        jobs.start()
        for job in beside:
            job.start()
        while not stopping.wait(0.2) and sweeper.running:
            pass
        sweeper.stop()
        for job in beside:
            job.stop()
        jobs.stop(JOB_STOP_SECONDS)  # a job in hand is left to its lease: another takes it over
        click.echo("worker: stopped")


JOB_EVERY = 2.0  # seconds between looks for jobs requested from the browser
JOB_STOP_SECONDS = 10.0  # how long a stop waits for the thread in hand (a recompute is long)


def job_runner(casework: Casework,
               ran: Callable[[JobRecord], None] = lambda done: None) -> Periodic:
    """Runs the jobs requested from the browser (engine.jobs.requested), one at a time, on a
    thread of its own beside the sweeps: a recompute that takes minutes holds no timer up."""

    def work(stopping: Stopping) -> None:
        while not stopping():
            done = casework.jobs.run_next(casework.settings.clock())
            if done is None:
                return
            ran(done)

    return Periodic("casework-jobs", "the jobs", JOB_EVERY, work)


def serve_metrics(casework: Casework, host: str, port: int) -> None:
    """This worker's counts (timers by kind and outcome, fires) and the database's figures,
    on a thread of their own (prometheus-client's server)."""
    from prometheus_client import start_http_server

    from engine.jobs.metrics import worker_registry

    try:
        start_http_server(port, host, worker_registry(casework.operating,
                                                      casework.settings.clock))
    except OSError as exc:
        fail(f"--metrics-port: cannot listen on {host}:{port}: {exc.strerror or exc}", 2)


def checkpointer(casework: Casework, every: float) -> Periodic:
    """Writes a signed checkpoint into CASEWORK_CHECKPOINT_DIR every `every` seconds, each
    naming the one before (as `casework audit checkpoint` does)."""
    from engine.cli.audit import write_checkpoint

    settings = casework.settings
    if settings.checkpoint_key is None or settings.checkpoint_dir is None:
        fail("--checkpoint-every needs CASEWORK_CHECKPOINT_KEY (the signing key; `casework "
             "audit keygen DIR` writes one) and CASEWORK_CHECKPOINT_DIR (where to write)", 2)

    def write(_: Stopping) -> None:
        click.echo(f"{iso(settings.clock())} checkpoint written to {write_checkpoint(settings)}")

    return Periodic("checkpoints", "the audit checkpoint", every, write)


def retention_timer(casework: Casework, every: float) -> RetentionTimer:
    """Runs retention on a thread beside the sweeps, printing what each run changed."""
    from engine.cli.retention import report

    def ran(done: RetentionRun) -> None:
        if done.deleted or done.erased or done.failed:
            click.echo(f"{iso(done.at)} {report(done)}")

    return RetentionTimer(casework.retention, casework.settings.clock, every, ran)


@click.group()
def timers() -> None:
    """Durable timers: what is pending, what fired, what keeps failing."""


@timers.command("list")
@click.option("--case", "case_id", type=int, help="Only this case's timers")
@click.option("--state", type=click.Choice(["pending", "fired", "cancelled"]))
@click.option("--failing", is_flag=True, help="Only pending timers whose last attempt failed")
@click.option("--json", "as_json", is_flag=True, help="Print the timers as JSON lines")
@common
@handles_errors
def timers_list(case_id: int | None, state: str | None, failing: bool, as_json: bool,
                home: Path | None, now_text: str | None) -> None:
    """List timers, soonest due first."""
    with opened(home, now_text) as casework:
        rows = casework.timers.listing(case_id, state, failing)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.to_json(), ensure_ascii=False))
        return
    table = Table("id", "case", "kind", "name", "due", "state", "attempts", "outcome / error")
    for row in rows:
        table.add_row(str(row.id), str(row.case_id), row.kind,
                      row.name + (f" @{row.step:g}" if row.step else ""),
                      iso(row.due_at), row.state, str(row.attempts),
                      row.outcome or row.last_error or "")
    out.print(table)


@click.group()
def outbox() -> None:
    """Notices to people (escalations): read them, or send them by email."""


@outbox.command("list")
@click.option("--unsent", is_flag=True, help="Only notices not sent yet")
@click.option("--json", "as_json", is_flag=True, help="Print the notices as JSON lines")
@common
@handles_errors
def outbox_list(unsent: bool, as_json: bool, home: Path | None, now_text: str | None) -> None:
    """List notices, oldest first."""
    with opened(home, now_text) as casework:
        notices = casework.timers.notices(unsent)
    if as_json:
        for notice in notices:
            click.echo(json.dumps(notice.to_json(), ensure_ascii=False))
        return
    for notice in notices:
        sent = iso(notice.sent_at) if notice.sent_at else "not sent"
        click.echo(f"#{notice.id} to {notice.recipient} <{notice.address or 'no address'}> "
                   f"({sent}): {notice.subject}")


@outbox.command("send")
@click.option("--smtp-host", help="SMTP server to hand the mail to (default: CASEWORK_SMTP_HOST)")
@click.option("--smtp-port", type=int, help="Its port (default: CASEWORK_SMTP_PORT, else 587 for "
              "starttls, 465 for ssl, 25 for none)")
@click.option("--smtp-tls", type=click.Choice([t.value for t in SmtpTls]),
              help="starttls, ssl or none (default: CASEWORK_SMTP_TLS, else starttls)")
@click.option("--sender", "from_address", help="From: address (default: CASEWORK_MAIL_FROM)")
@common
@handles_errors
def outbox_send(smtp_host: str | None, smtp_port: int | None, smtp_tls: str | None,
                from_address: str | None, home: Path | None, now_text: str | None) -> None:
    """Send the due mail to recipients with an email address, one mail each; a refusal for
    now is recorded and tried again later (backing off), a refusal for good gives it up."""
    with opened(home, now_text) as casework:
        mail = casework.settings.mail
        mail = replace(mail, smtp_tls=SmtpTls(smtp_tls) if smtp_tls else mail.smtp_tls,
                       smtp_port=smtp_port or mail.smtp_port,
                       sender=from_address or mail.sender)
        done = send_outbox(casework.timers, Mailer.configured(mail, smtp_host),
                           casework.settings.clock)
    given_up = f" (given up {done.given_up})" if done.given_up else ""
    click.echo(f"sent {done.sent}, failed {done.failed}{given_up}, without an address "
               f"{done.without_address}")
    if done.failed:
        fail(f"{done.failed} notice(s) could not be sent; {done.failed - done.given_up} stay "
             "in the outbox to be tried again", 1)
