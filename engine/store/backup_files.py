"""The backup file: one zip archive holding the database's data and a `manifest.json`.

A zip rather than a tar: its directory at the end lets `manifest.json` be read without reading
the data, a file cut short loses that directory and is recognised as truncated at once, every
member carries a CRC-32, and any operator's unzip tool lists and extracts it. The manifest says
what the data is (database kind, schema revision, casework version), what it must hold once
restored (rows per table, a digest over every chain head) and the SHA-256 of the data itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.kernel.errors import BackupRefused

FORMAT = "casework-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_NAMES = {"sqlite": "casework.db", "postgresql": "casework.pgdump"}
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Heads:
    """The chain heads of one kind (cases or customers): how many rows, and the SHA-256 over
    their sorted (id, history_seq, history_head), so that restore can compare every head."""

    count: int
    sha256: str


@dataclass(frozen=True)
class Figures:
    """What a database holds, read inside one snapshot: rows per table and chain heads."""

    counts: dict[str, int]
    cases: Heads
    customers: Heads

    def differences(self, other: Figures) -> list[str]:
        """How `other` (what was restored) differs from these (the manifest's), in words."""
        found = [f"table {name}: {other.counts.get(name, 0)} rows, the manifest says {count}"
                 for name, count in sorted(self.counts.items())
                 if other.counts.get(name, 0) != count]
        found += [f"table {name}: not in the manifest" for name in sorted(other.counts)
                  if name not in self.counts]
        for kind, mine, theirs in (("case", self.cases, other.cases),
                                   ("customer", self.customers, other.customers)):
            if mine != theirs:
                found.append(f"{kind} chain heads differ ({theirs.count} rows, digest "
                             f"{theirs.sha256[:12]}; the manifest: {mine.count}, "
                             f"{mine.sha256[:12]})")
        return found


@dataclass(frozen=True)
class Manifest:
    """manifest.json: what a backup holds and how to check it."""

    casework_version: str
    database: str  # "sqlite" or "postgresql"
    schema_revision: str
    created_at: str  # ISO 8601, UTC
    data_name: str
    data_bytes: int
    data_sha256: str
    figures: Figures
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def summary(self) -> str:
        """What the backup holds, in a line."""
        counts = self.figures.counts
        return (f"{counts.get('cases', 0)} cases, {counts.get('events', 0)} case events, "
                f"{counts.get('customers', 0)} customers ({self.database}, schema "
                f"{self.schema_revision})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: Path) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT:
                raise ValueError("no 'format: casework-backup'")
            if int(raw["format_version"]) > FORMAT_VERSION:
                raise BackupRefused(
                    f"{where} is a backup of format {raw['format_version']}, newer than this "
                    f"casework reads ({FORMAT_VERSION}); restore it with the casework version "
                    f"that made it ({raw.get('casework_version')}) or a newer one")
            figures = raw.pop("figures")
            return cls(**raw, figures=Figures(
                counts={str(k): int(v) for k, v in figures["counts"].items()},
                cases=Heads(**figures["cases"]), customers=Heads(**figures["customers"])))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupRefused(f"{where} is not a casework backup: its {MANIFEST} does not "
                                f"read ({exc}); give a file `casework backup` wrote") from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pack(target: Path, data: Path, manifest: Manifest) -> None:
    """Write the backup to TARGET.partial, made durable, then renamed to TARGET: a backup that
    fails half-way leaves no TARGET behind."""
    partial = target.with_name(target.name + ".partial")
    # a PostgreSQL custom dump is compressed already; a SQLite file shrinks a lot
    compression = zipfile.ZIP_STORED if manifest.database == "postgresql" \
        else zipfile.ZIP_DEFLATED
    try:
        with zipfile.ZipFile(partial, "w", compression=compression, allowZip64=True) as archive:
            archive.writestr(MANIFEST, manifest.to_json())
            archive.write(data, manifest.data_name)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def unpack(backup: Path, into: Path) -> Manifest:
    """Check the backup and extract its data to `into`; refuse a file that is not a backup,
    is truncated or damaged, or whose data does not match its manifest's SHA-256."""
    try:
        with zipfile.ZipFile(backup) as archive:
            names = archive.namelist()
            if MANIFEST not in names:
                raise BackupRefused(f"{backup} is not a casework backup: it has no {MANIFEST}; "
                                    "give a file `casework backup` wrote")
            manifest = Manifest.from_json(archive.read(MANIFEST).decode(), backup)
            if manifest.data_name not in names:
                raise BackupRefused(f"{backup} is damaged: its data part {manifest.data_name} "
                                    "is missing; use another backup")
            with archive.open(manifest.data_name) as source, into.open("wb") as target:
                shutil.copyfileobj(source, target, _CHUNK)
    except zipfile.BadZipFile as exc:
        raise BackupRefused(_unreadable(backup, exc)) from exc
    except (EOFError, UnicodeDecodeError) as exc:
        raise BackupRefused(f"{backup} is truncated or damaged ({exc}); use another "
                            "backup") from exc
    found = sha256_of(into)
    if found != manifest.data_sha256:
        raise BackupRefused(f"{backup} is damaged: its data part has SHA-256 {found[:16]}..., "
                            f"the manifest says {manifest.data_sha256[:16]}...; use another "
                            "backup")
    return manifest


def _unreadable(backup: Path, exc: Exception) -> str:
    with backup.open("rb") as stream:
        start = stream.read(len(_ZIP_MAGIC))
    if start == _ZIP_MAGIC:
        return (f"{backup} is truncated or damaged (its zip directory does not read: {exc}); "
                "use another backup, or copy this one again whole")
    return (f"{backup} is not a casework backup (not a zip archive with a {MANIFEST}); give a "
            "file `casework backup` wrote")

