"""Settings from the environment (engine/kernel/settings.py): the mailbox and the mail limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.kernel.errors import CaseworkError
from engine.kernel.settings import ImapSettings, ImapTls, settings_for


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
