"""Restore a backup into an EMPTY target, then run the self-checks inside it.

Target: a data directory (SQLite: ``<dir>/cordee.sqlite3`` and ``<dir>/blobs``), plus, for a
PostgreSQL backup, an empty PostgreSQL database (``--database-url``). A directory with anything in
it, or a database with any table, is refused: a restore never mixes with or overwrites data.

restic authenticates everything it reads (a flipped bit fails with "ciphertext verification
failed"); the manifest's SHA-256 of the database file is checked again before loading it.
The restored installation is then checked by ``manage.py restore_check`` run in a child process
whose settings point at the target (``CORDEE_DATA_DIR``, ``BLOB_DIR``, ``DATABASE_URL``) and at the
keys given (the keyset and audit keys are not in the backup: the live ones, or the escrowed ones).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # noqa: S404  (pg_restore and manage.py with argument lists)
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from django.conf import settings

from cordee.backups import restic, shredlist, snapshot
from cordee.backups.services import STAGING_NAME


class RestoreError(Exception):
    pass


@dataclass
class Keys:
    """The key files a restored installation is checked with. The signing key's ring of retired
    public keys (``cordee.audit.keyring``) is not named: it is read beside ``signing``
    (``audit-ed25519.ring.json``), where the live installation and the escrow both keep it."""

    keyset: Path
    signing: Path
    mac: Path

    @classmethod
    def live(cls) -> Keys:
        return cls(
            Path(settings.VAULT_KEYSET_PATH), Path(settings.AUDIT_SIGNING_KEY_PATH), Path(settings.AUDIT_MAC_KEY_PATH)
        )

    @classmethod
    def from_dir(cls, directory: Path) -> Keys:
        return cls(directory / "vault-kek.json", directory / "audit-ed25519.pem", directory / "audit-mac.key")


def _pg_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise RestoreError("--database-url must be postgres://user@host:port/database")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "dbname": parts.path.strip("/"),
    }


def database_is_empty(url: str) -> bool:
    with psycopg.connect(**_pg_params(url), connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return row is not None and row[0] == 0


def check_target(target: Path, database_url: str | None) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise RestoreError(f"The target {target} is not empty: a restore goes into an empty directory only.")
    if database_url and not database_is_empty(database_url):
        raise RestoreError("The target database is not empty: a restore goes into an empty database only.")


def _load(manifest: dict[str, Any], staged: Path, target: Path, database_url: str | None) -> None:
    database = staged / manifest["database"]["file"]
    if not database.exists() or snapshot.sha256_file(database) != manifest["database"]["sha256"]:
        raise RestoreError("The backup's database file does not match its manifest (SHA-256): refused.")
    if manifest["vendor"] == "sqlite":
        if database_url:
            raise RestoreError(
                "This backup is of a SQLite database: restore it to a directory, then migrate_to_postgres."
            )
        os.replace(database, target / "cordee.sqlite3")
        return
    if not database_url:
        raise RestoreError("This backup is of a PostgreSQL database: give the empty target with --database-url.")
    params = _pg_params(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST=params["host"], PGPORT=str(params["port"]), PGUSER=params["user"])
    if params["password"]:
        env["PGPASSWORD"] = params["password"]
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", params["dbname"], str(database)]
    result = subprocess.run(  # noqa: S603  (the Debian client on PATH)
        command,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RestoreError(f"pg_restore failed: {result.stderr.strip()[-500:]}")
    database.unlink()


def restore(
    repository: restic.Repository,
    target: Path,
    *,
    snapshot_id: str = "latest",
    database_url: str | None = None,
) -> dict[str, Any]:
    """Put the snapshot's files and database in place; returns the manifest (checks come after)."""
    target = target.resolve()
    check_target(target, database_url)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        repository.restore(snapshot_id, target)
        staged = target / STAGING_NAME
        manifest_path = staged / snapshot.MANIFEST
        if not manifest_path.exists():
            raise RestoreError("The snapshot has no Cordée manifest: not a Cordée backup.")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        restored_blobs = target / manifest["blob_dir"]
        if manifest["blob_dir"] != "blobs" and restored_blobs.exists():
            os.replace(restored_blobs, target / "blobs")
        (target / "blobs").mkdir(exist_ok=True)
        _load(manifest, staged, target, database_url)
    except BaseException:
        # Leave the target as it was (empty or absent): a half restore is never mistaken for a good one.
        # A PostgreSQL target half loaded stays as it is: the database was created for the restore.
        for child in target.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        if created:
            target.rmdir()
        raise
    return manifest


def check_env(target: Path, keys: Keys, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BACKUP_REPOSITORY")}
    env.update(
        CORDEE_DATA_DIR=str(target),
        BLOB_DIR=str(target / "blobs"),
        BLOB_BACKEND="local",
        VAULT_KEYSET_FILE=str(keys.keyset),
        AUDIT_SIGNING_KEY_FILE=str(keys.signing),
        AUDIT_MAC_KEY_FILE=str(keys.mac),
        AUDIT_CHECKPOINT_COPY="",
        BACKUP_SHRED_LIST_FILE=str(target / "shredded.jsonl"),
        BACKUP_CACHE_DIR=str(Path(settings.BACKUP_CACHE_DIR)),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    for name in ("BACKUP_PASSWORD", "BACKUP_PASSWORD_FILE", "BACKUP_S3_ACCESS_KEY", "BACKUP_S3_SECRET_KEY"):
        env.pop(name, None)
    return env


def run_checks(
    target: Path, keys: Keys, *, database_url: str | None = None, shred_list: Path | None = None, sample: int = 20
) -> dict[str, Any]:
    """``manage.py restore_check`` inside the restored installation; its JSON report."""
    shred_list = shred_list or shredlist.path()
    manage = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(manage),
            "restore_check",
            "--manifest",
            str(target / STAGING_NAME / snapshot.MANIFEST),
            "--shred-list",
            str(shred_list),
            "--sample",
            str(sample),
        ],
        env=check_env(target, keys, database_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    try:
        return json.loads(result.stdout)
    except ValueError:
        tail = (result.stderr or result.stdout).strip()[-1500:]
        return {"ok": False, "failures": [f"restore_check did not run: {tail}"], "checks": {}}


def remove_dir(target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
