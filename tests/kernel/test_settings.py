"""Settings from the environment (engine/kernel/settings.py): the mailbox, the mail limit and
the outgoing mail, each with its documented default, and a bad value named."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.kernel.errors import CaseworkError
from engine.kernel.settings import (
    ImapSettings,
    ImapTls,
    MailSettings,
    SecureCookies,
    SmtpTls,
    WebSettings,
    settings_for,
    web_settings,
)


def test_no_imap_host_means_no_mailbox_and_the_mail_limit_defaults_to_40_mib(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CASEWORK_IMAP_HOST", raising=False)
    monkeypatch.delenv("CASEWORK_MAIL_MAX_BYTES", raising=False)
    found = settings_for(tmp_path)
    assert found.imap is None and found.mail_max_bytes == 40 * 1024 * 1024


def test_the_mailbox_is_read_from_casework_imap_settings(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    for name, value in {"HOST": "imap.example.com", "TLS": "STARTTLS", "USER": "desk",
                        "PASSWORD": "s3cret", "FOLDER": "Complaints",
                        "CA_FILE": str(tmp_path / "ca.pem"), "EVERY": "30"}.items():
        monkeypatch.setenv(f"CASEWORK_IMAP_{name}", value)
    monkeypatch.setenv("CASEWORK_MAIL_MAX_BYTES", "1000")
    found = settings_for(tmp_path)
    assert found.imap == ImapSettings("imap.example.com", 143, ImapTls.STARTTLS, "desk",
                                      "s3cret", "Complaints", "Casework/Processed",
                                      "Casework/Failed", tmp_path / "ca.pem", 30)
    assert found.mail_max_bytes == 1000
    monkeypatch.setenv("CASEWORK_IMAP_TLS", "ssl")
    assert (settings_for(tmp_path).imap or ImapSettings("", 0)).port == 993


def test_a_wrong_tls_mode_or_port_says_what_would_do(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("CASEWORK_IMAP_HOST", "imap.example.com")
    monkeypatch.setenv("CASEWORK_IMAP_TLS", "tls1.3")
    with pytest.raises(CaseworkError, match="'tls1.3' is not one of ssl, starttls, none"):
        settings_for(tmp_path)
    monkeypatch.setenv("CASEWORK_IMAP_TLS", "none")
    monkeypatch.setenv("CASEWORK_IMAP_PORT", "imap")
    with pytest.raises(CaseworkError, match="CASEWORK_IMAP_PORT: 'imap' is not a whole number"):
        settings_for(tmp_path)

MAIL_VARIABLES = ("CASEWORK_SMTP_HOST", "CASEWORK_SMTP_PORT", "CASEWORK_SMTP_TLS",
                  "CASEWORK_SMTP_USER", "CASEWORK_SMTP_PASSWORD", "CASEWORK_SMTP_CA_FILE",
                  "CASEWORK_MAIL_FROM", "CASEWORK_MAIL_REPLY_TO", "CASEWORK_MAIL_DOMAIN",
                  "CASEWORK_MAIL_LANGUAGE", "CASEWORK_MAIL_INTERVAL")


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in MAIL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_variables_the_defaults_hold(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mail = settings_for(tmp_path).mail
    assert mail == MailSettings()
    assert (mail.smtp_host, mail.smtp_tls, mail.port, mail.sender, mail.message_domain,
            mail.language, mail.interval) == (None, SmtpTls.STARTTLS, 587,
                                              "casework@localhost", "localhost", "en", 60.0)


def test_the_lock_timeout_and_the_timer_lease_default_to_10_and_60_seconds(
        clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean.delenv("CASEWORK_LOCK_TIMEOUT", raising=False)
    clean.delenv("CASEWORK_TIMER_LEASE", raising=False)
    settings = settings_for(tmp_path)
    assert (settings.lock_timeout, settings.timer_lease) == (10.0, 60.0)
    clean.setenv("CASEWORK_TIMER_LEASE", "2.5")
    assert settings_for(tmp_path).timer_lease == 2.5


def test_the_variables_set_the_mail(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"CASEWORK_SMTP_HOST": "mail.example.org", "CASEWORK_SMTP_TLS": "ssl",
                        "CASEWORK_SMTP_USER": "desk", "CASEWORK_SMTP_PASSWORD": "pw",
                        "CASEWORK_SMTP_CA_FILE": str(tmp_path / "ca.pem"),
                        "CASEWORK_MAIL_FROM": "desk@example.org",
                        "CASEWORK_MAIL_LANGUAGE": "zh", "CASEWORK_MAIL_INTERVAL": "30"}.items():
        clean.setenv(name, value)
    mail = settings_for(tmp_path).mail
    assert (mail.smtp_host, mail.smtp_tls, mail.port, mail.smtp_user, mail.smtp_password,
            mail.smtp_ca_file, mail.message_domain, mail.language, mail.interval) == (
        "mail.example.org", SmtpTls.SSL, 465, "desk", "pw", tmp_path / "ca.pem",
        "example.org", "zh", 30.0)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("CASEWORK_SMTP_TLS", "tls", "CASEWORK_SMTP_TLS: 'tls' is not one of starttls, ssl, none"),
    ("CASEWORK_SMTP_PORT", "smtp", "CASEWORK_SMTP_PORT: 'smtp' is not a whole number"),
    ("CASEWORK_TIMER_LEASE", "0", "CASEWORK_TIMER_LEASE: '0' is not a number of seconds above"),
    ("CASEWORK_LOCK_TIMEOUT", "nan", "CASEWORK_LOCK_TIMEOUT: 'nan' is not a number of seconds"),
])
def test_a_bad_value_is_named(clean: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str,
                              says: str) -> None:
    clean.setenv(name, value)
    with pytest.raises(CaseworkError, match=says):
        settings_for(tmp_path)


def test_web_settings_have_documented_defaults_and_refuse_what_does_not_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CASEWORK_TRUSTED_PROXIES", "CASEWORK_SECURE_COOKIES", "CASEWORK_PUBLIC_SCHEMA",
                 "CASEWORK_SIGN_IN_PER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    assert web_settings() == WebSettings()
    monkeypatch.setenv("CASEWORK_TRUSTED_PROXIES", "10.0.0.0/24, 192.0.2.9")
    monkeypatch.setenv("CASEWORK_SECURE_COOKIES", "true")
    monkeypatch.setenv("CASEWORK_PUBLIC_SCHEMA", "true")
    monkeypatch.setenv("CASEWORK_SIGN_IN_PER_ADDRESS", "50")
    chosen = web_settings()
    assert chosen.trusted_proxies == ("10.0.0.0/24", "192.0.2.9")
    assert chosen.secure_cookies == SecureCookies.TRUE and chosen.public_schema
    assert chosen.sign_in_per_address == 50
    monkeypatch.setenv("CASEWORK_TRUSTED_PROXIES", "proxy.example.com")
    with pytest.raises(CaseworkError, match="CASEWORK_TRUSTED_PROXIES: 'proxy.example.com'"):
        web_settings()
