"""Signed checkpoints: the history's anchor outside the database.

A checkpoint records, at one moment, every case's and customer's chain head (seq and hash), the
protection log's head and the tables' counts, and is signed with an Ed25519 key kept outside
the database. Kept elsewhere, it lets `audit verify --against` prove that nothing it recorded
was removed or rewritten since: with each chain verified, an event at the checkpoint's seq with
the checkpoint's hash proves the whole prefix. Whoever can rewrite the database cannot forge a
checkpoint without the private key.

The signed file is JSON: {"checkpoint": {...}, "key": KEY_ID, "signature": BASE64}; the
signature is over the checkpoint's canonical JSON (sorted keys, no spaces), KEY_ID is the first
16 hex digits of the SHA-256 of the raw public key, so that rotated keys are told apart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.kernel.errors import CaseworkError
from engine.kernel.history import canonical, iso

FORMAT = "casework-checkpoint/1"
COUNTS = ("cases", "case_events", "customers", "customer_events", "protection_entries",
          "vault_rows")


class CheckpointRefused(CaseworkError):
    """A checkpoint or signed export that cannot be trusted: not one, a bad signature, an
    unknown key, another installation's; or no key to sign with."""


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    """What an installation's history was at one moment."""

    installation: str
    created_at: datetime
    schema: str
    counts: Mapping[str, int]
    cases: Mapping[str, Head]
    customers: Mapping[str, Head]
    protection: Head
    previous: str | None = None  # SHA-256 of the previous checkpoint's signed file
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. what an export covers

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "installation": self.installation,
            "created_at": iso(self.created_at), "schema": self.schema,
            "counts": dict(self.counts),
            "cases": {k: [h.seq, h.hash] for k, h in self.cases.items()},
            "customers": {k: [h.seq, h.hash] for k, h in self.customers.items()},
            "protection": [self.protection.seq, self.protection.hash],
            "previous": self.previous, **({"extra": dict(self.extra)} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        try:
            if data["format"] != FORMAT:
                raise CheckpointRefused(f"the checkpoint is of format {data['format']!r}; this "
                                        f"casework reads {FORMAT}")
            return cls(
                str(data["installation"]), datetime.fromisoformat(data["created_at"]),
                str(data["schema"]), {k: int(v) for k, v in data["counts"].items()},
                {k: Head(int(s), str(h)) for k, (s, h) in data["cases"].items()},
                {k: Head(int(s), str(h)) for k, (s, h) in data["customers"].items()},
                Head(int(data["protection"][0]), str(data["protection"][1])),
                data.get("previous"), data.get("extra") or {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointRefused(f"the checkpoint's content is not complete ({exc!r} is "
                                    "missing or malformed); it was edited or is not a "
                                    "checkpoint") from None


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(document: Mapping[str, Any], private: Ed25519PrivateKey) -> dict[str, Any]:
    """A document (a checkpoint's JSON, an export) with the key's id and its signature."""
    text = canonical(dict(document)).encode()
    return {"key": key_id(private.public_key()),
            "signature": base64.b64encode(private.sign(text)).decode()}


def check_signature(document: Mapping[str, Any], key: str, signature: str,
                    keys: Iterable[Ed25519PublicKey], what: str) -> None:
    """Raise CheckpointRefused unless one of `keys` (the one named `key`) signed `document`."""
    known = {key_id(k): k for k in keys}
    if not known:
        raise CheckpointRefused(f"no public key to check the {what} with: set "
                                "CASEWORK_CHECKPOINT_PUBLIC_KEYS to the public key file(s) "
                                "(`casework audit keygen DIR` writes a pair)")
    public = known.get(key)
    if public is None:
        raise CheckpointRefused(f"the {what} is signed with key {key}, which is not among the "
                                f"public keys given ({', '.join(sorted(known))}); add its public "
                                "key file to CASEWORK_CHECKPOINT_PUBLIC_KEYS")
    try:
        public.verify(base64.b64decode(signature, validate=True),
                      canonical(dict(document)).encode())
    except (InvalidSignature, ValueError):
        raise CheckpointRefused(f"the {what}'s signature does not hold: it was edited after it "
                                f"was signed, or signed by another key than {key}") from None


def signed_checkpoint(checkpoint: Checkpoint, private: Ed25519PrivateKey) -> dict[str, Any]:
    content = checkpoint.to_json()
    return {"checkpoint": content, **sign(content, private)}


def read_checkpoint(path: Path, keys: Iterable[Ed25519PublicKey]) -> Checkpoint:
    """The checkpoint in a signed file, its signature checked against `keys`."""
    try:
        data = json.loads(path.read_bytes())
        content, key, signature = data["checkpoint"], data["key"], data["signature"]
    except FileNotFoundError:
        raise CheckpointRefused(f"{path}: no such file") from None
    except (ValueError, KeyError, TypeError):
        raise CheckpointRefused(f"{path} is not a signed checkpoint (`casework audit "
                                "checkpoint` writes one)") from None
    check_signature(content, str(key), str(signature), keys, f"checkpoint {path}")
    return Checkpoint.from_json(content)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- keys ---------------------------------------------------------------------------------


def write_key_pair(folder: Path) -> tuple[Path, Path]:
    """A new Ed25519 key pair in `folder`: the private key (PEM, 0600) and its public key, both
    named by the key's id."""
    private = Ed25519PrivateKey.generate()
    name = f"checkpoint-{key_id(private.public_key())}"
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    public_path.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise CheckpointRefused(f"CASEWORK_CHECKPOINT_KEY: {path} does not exist") from None
    except (ValueError, TypeError):
        raise CheckpointRefused(f"CASEWORK_CHECKPOINT_KEY: {path} is not an unencrypted PEM "
                                "private key (`casework audit keygen DIR` writes one)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointRefused(f"CASEWORK_CHECKPOINT_KEY: {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointRefused(f"CASEWORK_CHECKPOINT_PUBLIC_KEYS: {path} does not exist") \
            from None
    except ValueError:
        raise CheckpointRefused(f"CASEWORK_CHECKPOINT_PUBLIC_KEYS: {path} is not a PEM public "
                                "key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointRefused(f"CASEWORK_CHECKPOINT_PUBLIC_KEYS: {path} is not an Ed25519 key")
    return key
