"""Settings from the environment (CASEWORK_*), each with a documented default."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

from engine.kernel.errors import CaseworkError
from engine.kernel.logs import LogFormat, default_format


class SmtpTls(StrEnum):
    STARTTLS = "starttls"  # plain connection, upgraded with STARTTLS before anything is said
    SSL = "ssl"  # TLS from the first byte (SMTPS, port 465)
    NONE = "none"  # no encryption: for a relay on the same machine or network only


DEFAULT_PORTS = {SmtpTls.STARTTLS: 587, SmtpTls.SSL: 465, SmtpTls.NONE: 25}


@dataclass(frozen=True)
class MailSettings:
    """
    smtp_host:     CASEWORK_SMTP_HOST, the SMTP server the outbox is sent to; default: none
                   (the worker sends no mail; `casework outbox send --smtp-host` gives one).
    smtp_port:     CASEWORK_SMTP_PORT; default: 587 for starttls, 465 for ssl, 25 for none.
    smtp_tls:      CASEWORK_SMTP_TLS, starttls | ssl | none; default starttls.
    smtp_user:     CASEWORK_SMTP_USER, who to log in as (AUTH); default: none (no login).
    smtp_password: CASEWORK_SMTP_PASSWORD, the login's password; default: none.
    smtp_ca_file:  CASEWORK_SMTP_CA_FILE, a PEM file of the certificates to trust for the
                   server's TLS certificate; default: the system's trusted certificates.
    sender:        CASEWORK_MAIL_FROM, the From: address; default casework@localhost.
    reply_to:      CASEWORK_MAIL_REPLY_TO, a Reply-To: address (the mailbox the intake reads,
                   when From: is another); default: none.
    domain:        CASEWORK_MAIL_DOMAIN, the domain of our mails' Message-IDs; default: the
                   From: address's domain.
    language:      CASEWORK_MAIL_LANGUAGE, the language of customer mail templates; default en.
    interval:      CASEWORK_MAIL_INTERVAL, seconds between the worker's outbox runs; default 60.
    """

    smtp_host: str | None = None
    smtp_port: int | None = None  # None: DEFAULT_PORTS[smtp_tls]
    smtp_tls: SmtpTls = SmtpTls.STARTTLS
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: Path | None = None
    sender: str = "casework@localhost"
    reply_to: str | None = None
    domain: str | None = None
    language: str = "en"
    interval: float = 60.0

    @property
    def port(self) -> int:
        return self.smtp_port or DEFAULT_PORTS[self.smtp_tls]

    @property
    def message_domain(self) -> str:
        return self.domain or self.sender.rpartition("@")[2] or "localhost"


def mail_settings() -> MailSettings:
    """MailSettings from the environment."""
    env = os.environ.get
    tls = env("CASEWORK_SMTP_TLS") or SmtpTls.STARTTLS.value
    if tls not in {t.value for t in SmtpTls}:
        raise CaseworkError(f"CASEWORK_SMTP_TLS: {tls!r} is not one of starttls, ssl, none")
    ca_file = env("CASEWORK_SMTP_CA_FILE")
    interval = env("CASEWORK_MAIL_INTERVAL")
    return MailSettings(
        smtp_host=env("CASEWORK_SMTP_HOST") or None,
        smtp_port=_whole("CASEWORK_SMTP_PORT", 0) or None, smtp_tls=SmtpTls(tls),
        smtp_user=env("CASEWORK_SMTP_USER") or None,
        smtp_password=env("CASEWORK_SMTP_PASSWORD") or None,
        smtp_ca_file=Path(ca_file).resolve() if ca_file else None,
        sender=env("CASEWORK_MAIL_FROM") or "casework@localhost",
        reply_to=env("CASEWORK_MAIL_REPLY_TO") or None,
        domain=env("CASEWORK_MAIL_DOMAIN") or None,
        language=env("CASEWORK_MAIL_LANGUAGE") or "en",
        interval=float(_whole("CASEWORK_MAIL_INTERVAL", 60)) if interval else 60.0)


class SecureCookies(StrEnum):
    TRUE = "true"  # always (the server is reached over https only)
    FALSE = "false"  # never (plain http on a private network, development)
    AUTO = "auto"  # when the request came over https (or a trusted proxy says it did)


@dataclass(frozen=True)
class WebSettings:
    """
    sign_in_per_address: CASEWORK_SIGN_IN_PER_ADDRESS, failed sign-ins one client address may
                   make in CASEWORK_SIGN_IN_WINDOW_MINUTES before it is refused (429) until the
                   window ends; default 20.
    sign_in_window_minutes: CASEWORK_SIGN_IN_WINDOW_MINUTES; default 15.
    sign_in_lock_after: CASEWORK_SIGN_IN_LOCK_AFTER, consecutive failed sign-ins of one account
                   name that lock it (even the right password is refused until the lock ends
                   or `casework users unlock NAME`); default 10.
    sign_in_lock_minutes: CASEWORK_SIGN_IN_LOCK_MINUTES, how long a lock lasts; default 15.
    trusted_proxies: CASEWORK_TRUSTED_PROXIES, the reverse proxies (addresses or CIDR networks,
                   comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed;
                   default: none (the client address is the socket's peer).
    secure_cookies: CASEWORK_SECURE_COOKIES, true | false | auto: whether cookies carry
                   `Secure`; auto: when the request came over https; default auto.
    public_schema: CASEWORK_PUBLIC_SCHEMA, true to serve the OpenAPI schema (/schema) to
                   anyone; default false (a signed-in session or an API token).
    """

    sign_in_per_address: int = 20
    sign_in_window_minutes: int = 15
    sign_in_lock_after: int = 10
    sign_in_lock_minutes: int = 15
    trusted_proxies: tuple[str, ...] = ()
    secure_cookies: SecureCookies = SecureCookies.AUTO
    public_schema: bool = False


def web_settings() -> WebSettings:
    """WebSettings from the environment."""
    proxies = tuple(p.strip() for p in os.environ.get("CASEWORK_TRUSTED_PROXIES", "").split(",")
                    if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise CaseworkError(f"CASEWORK_TRUSTED_PROXIES: {proxy!r} is not an address or a "
                                "network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    secure = (os.environ.get("CASEWORK_SECURE_COOKIES") or "auto").strip().lower()
    if secure not in {s.value for s in SecureCookies}:
        raise CaseworkError(f"CASEWORK_SECURE_COOKIES: {secure!r} is not one of true, false, "
                            "auto")
    return WebSettings(
        sign_in_per_address=_whole("CASEWORK_SIGN_IN_PER_ADDRESS", 20),
        sign_in_window_minutes=_whole("CASEWORK_SIGN_IN_WINDOW_MINUTES", 15),
        sign_in_lock_after=_whole("CASEWORK_SIGN_IN_LOCK_AFTER", 10),
        sign_in_lock_minutes=_whole("CASEWORK_SIGN_IN_LOCK_MINUTES", 15),
        trusted_proxies=proxies, secure_cookies=SecureCookies(secure),
        public_schema=_flag("CASEWORK_PUBLIC_SCHEMA"))


def _flag(name: str) -> bool:
    text = (os.environ.get(name) or "false").strip().lower()
    if text not in {"true", "false", "1", "0", "yes", "no"}:
        raise CaseworkError(f"{name}: {text!r} is not true or false")
    return text in {"true", "1", "yes"}


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
    mail_max_bytes: CASEWORK_MAIL_MAX_BYTES, the largest mail the intake reads (a larger one
                   is recorded as refused and moved to the failed folder); default 41943040
                   (40 MiB).
    imap:          the mailbox complaints arrive in (ImapSettings, from CASEWORK_IMAP_*);
                   None when CASEWORK_IMAP_HOST is not set.
    mail:          outgoing mail, CASEWORK_SMTP_* and CASEWORK_MAIL_* (MailSettings).
    web:           sign-in limits, proxies, cookies and the schema: CASEWORK_SIGN_IN_*,
                   CASEWORK_TRUSTED_PROXIES, CASEWORK_SECURE_COOKIES, CASEWORK_PUBLIC_SCHEMA
                   (WebSettings).
    public_url:    CASEWORK_PUBLIC_URL, where customers reach this casework (the base of survey
                   links in mail, e.g. https://service.example.com); default
                   http://localhost:8000.
    survey_days:   CASEWORK_SURVEY_DAYS, how many days a survey link may be answered; default 14.
    form_per_hour: CASEWORK_FORM_PER_HOUR, how many public complaint forms one client address
                   may send in an hour (counted in the database, across every server);
                   default 5.
    checkpoint_key: CASEWORK_CHECKPOINT_KEY, the file of the Ed25519 private key that signs
                   audit checkpoints and exports (`casework audit keygen DIR` writes one; keep
                   it outside the database and its backups); default: none (no signing).
    checkpoint_public_keys: CASEWORK_CHECKPOINT_PUBLIC_KEYS, the public key files that verify
                   checkpoints and exports, comma-separated: the current key's and every
                   retired one's, so that old checkpoints still verify after a rotation;
                   default: none (the private key's own public half, when one is set).
    checkpoint_dir: CASEWORK_CHECKPOINT_DIR, where `casework worker --checkpoint-every` and
                   `casework audit checkpoint` without --out write checkpoints; default: none.
    metrics_token: CASEWORK_METRICS_TOKEN, the bearer token Prometheus sends to /metrics
                   (`Authorization: Bearer <token>`); default: none (/metrics answers 403).
    log_format:    CASEWORK_LOG_FORMAT, json | text: how `casework serve` and `casework worker`
                   log, the access log included; default: text at a terminal, else json.
    lock_timeout:  CASEWORK_LOCK_TIMEOUT, seconds a writer waits for a lock another writer holds
                   (SQLite's busy_timeout; PostgreSQL's lock_timeout) before it gives up with a
                   retryable error (HTTP 503 with Retry-After, the CLI's exit code 75);
                   default 10.
    timer_lease:   CASEWORK_TIMER_LEASE, seconds a worker's claim on a due timer holds: after
                   it another worker takes the timer over; on PostgreSQL a worker's transaction
                   left idle that long is ended by the server (and its locks with it);
                   default 60.
    db_pool_size:  CASEWORK_DB_POOL_SIZE, PostgreSQL connections each process keeps open (and
                   half as many more while all are busy): about the requests a server process
                   works on at once; default 20. Mind PostgreSQL's max_connections: processes
                   x 1.5 x this.
    """

    home: Path
    database_url: str
    now: datetime | None = None
    attachments: Path | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: tuple[str, ...] = ()  # empty: ATTACHMENT_TYPES
    mail_max_bytes: int = 40 * 1024 * 1024
    imap: ImapSettings | None = None
    mail: MailSettings = field(default_factory=MailSettings)
    web: WebSettings = field(default_factory=WebSettings)
    public_url: str = "http://localhost:8000"
    survey_days: int = 14
    form_per_hour: int = 5
    checkpoint_key: Path | None = None
    checkpoint_public_keys: tuple[Path, ...] = ()
    checkpoint_dir: Path | None = None
    metrics_token: str | None = None
    log_format: LogFormat = LogFormat.TEXT
    lock_timeout: float = 10.0
    timer_lease: float = 60.0
    db_pool_size: int = 20

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    @property
    def attachments_folder(self) -> Path:
        return self.attachments or self.home / "attachments"

    @property
    def accepted_types(self) -> frozenset[str]:
        return frozenset(self.attachment_types or ATTACHMENT_TYPES)


class ImapTls(StrEnum):
    SSL = "ssl"  # TLS from the first byte (port 993)
    STARTTLS = "starttls"  # plain, then STARTTLS before logging in (port 143)
    NONE = "none"  # no TLS: for a server on loopback only


@dataclass(frozen=True)
class ImapSettings:
    """
    host:          CASEWORK_IMAP_HOST, the IMAP server (setting it turns mail intake on).
    port:          CASEWORK_IMAP_PORT; default 993 with ssl, else 143.
    tls:           CASEWORK_IMAP_TLS, ssl | starttls | none; default ssl.
    user, password: CASEWORK_IMAP_USER, CASEWORK_IMAP_PASSWORD, to log in.
    folder:        CASEWORK_IMAP_FOLDER, where new mail is read; default INBOX.
    processed_folder: CASEWORK_IMAP_PROCESSED_FOLDER, where a taken mail is moved; default
                   Casework/Processed (made if missing).
    failed_folder: CASEWORK_IMAP_FAILED_FOLDER, where a mail that could not be taken is moved
                   (never deleted); default Casework/Failed (made if missing).
    ca_file:       CASEWORK_IMAP_CA_FILE, a PEM file of the certificates to trust for the
                   server (a private CA, a self-signed test server); default: the system's.
    every:         CASEWORK_IMAP_EVERY, seconds between the worker's fetches; default 60
                   (`casework worker --mail-every` overrides it).
    """

    host: str
    port: int
    tls: ImapTls = ImapTls.SSL
    user: str = ""
    password: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Casework/Processed"
    failed_folder: str = "Casework/Failed"
    ca_file: Path | None = None
    every: int = 60


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
                    mail_max_bytes=_whole("CASEWORK_MAIL_MAX_BYTES", 40 * 1024 * 1024),
                    imap=imap_settings(), mail=mail_settings(), web=web_settings(),
                    public_url=_url("CASEWORK_PUBLIC_URL", "http://localhost:8000"),
                    survey_days=_whole("CASEWORK_SURVEY_DAYS", 14),
                    form_per_hour=_whole("CASEWORK_FORM_PER_HOUR", 5),
                    checkpoint_key=_path("CASEWORK_CHECKPOINT_KEY"),
                    checkpoint_public_keys=tuple(
                        Path(p.strip()).resolve() for p in
                        os.environ.get("CASEWORK_CHECKPOINT_PUBLIC_KEYS", "").split(",")
                        if p.strip()),
                    checkpoint_dir=_path("CASEWORK_CHECKPOINT_DIR"),
                    metrics_token=os.environ.get("CASEWORK_METRICS_TOKEN", "").strip() or None,
                    log_format=_log_format(),
                    lock_timeout=_seconds("CASEWORK_LOCK_TIMEOUT", 10.0),
                    timer_lease=_seconds("CASEWORK_TIMER_LEASE", 60.0),
                    db_pool_size=_whole("CASEWORK_DB_POOL_SIZE", 20))


def _log_format() -> LogFormat:
    text = os.environ.get("CASEWORK_LOG_FORMAT", "").strip().lower()
    if not text:
        return default_format()
    if text not in {f.value for f in LogFormat}:
        raise CaseworkError(f"CASEWORK_LOG_FORMAT: {text!r} is not one of json, text")
    return LogFormat(text)


def _path(name: str) -> Path | None:
    text = os.environ.get(name, "").strip()
    return Path(text).resolve() if text else None


def imap_settings() -> ImapSettings | None:
    """The mailbox of CASEWORK_IMAP_*, or None when CASEWORK_IMAP_HOST is not set."""
    host = os.environ.get("CASEWORK_IMAP_HOST", "").strip()
    if not host:
        return None
    text = os.environ.get("CASEWORK_IMAP_TLS", "ssl").strip().lower()
    try:
        tls = ImapTls(text)
    except ValueError:
        raise CaseworkError(f"CASEWORK_IMAP_TLS: {text!r} is not one of ssl, starttls, "
                            "none") from None
    ca_file = os.environ.get("CASEWORK_IMAP_CA_FILE")

    def text_of(name: str, default: str) -> str:
        return os.environ.get(f"CASEWORK_IMAP_{name}") or default

    return ImapSettings(
        host, _whole("CASEWORK_IMAP_PORT", 993 if tls == ImapTls.SSL else 143), tls,
        text_of("USER", ""), text_of("PASSWORD", ""), text_of("FOLDER", "INBOX"),
        text_of("PROCESSED_FOLDER", "Casework/Processed"),
        text_of("FAILED_FOLDER", "Casework/Failed"),
        Path(ca_file).resolve() if ca_file else None, _whole("CASEWORK_IMAP_EVERY", 60))


def _whole(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise CaseworkError(f"{name}: {text!r} is not a whole number above 0 "
                            f"(e.g. {default or 587})")
    return int(text)


def _seconds(name: str, default: float) -> float:
    text = (os.environ.get(name) or "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400:
        raise CaseworkError(f"{name}: {text!r} is not a number of seconds above 0 and under a "
                            f"day (e.g. {default:g})")
    return seconds


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
