"""Breach resistance: canaries planted through the normal services must not appear in clear (nor as
base64, hex or UTF-16) in the raw SQLite files (WAL included), in a pg_dump, or in the blob store.

Each scan has a positive control (a value put in a clear column on purpose) so that a scanner that
reads nothing cannot pass. See tests/vault/canaries.py for what is planted, and why the free-text
canary goes through an encrypted field rather than a message body or a document.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import require, sqlite_run_only

from . import canaries

ROOT = Path(__file__).resolve().parent.parent.parent


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def _check_planted(result: dict) -> None:
    """The canaries really went in, and read back clear through the services."""
    assert result["birth_name"] == canaries.BIRTH_NAME and result["ins"] == canaries.NIR
    assert result["address"] == canaries.FREE_TEXT and result["birth_date"] == "1931-07-29"
    assert result["file_ok"] and result["found_by_ins"] and result["message"] == canaries.MESSAGE
    # The patient's account shows her name, read from her encrypted identity.
    assert result["account_name"] == f"Canarina {canaries.BIRTH_NAME}"


@pytest.fixture(scope="module")
def planted_sqlite(tmp_path_factory) -> tuple[dict, Path]:
    """A file-based SQLite database of its own, written by a fresh interpreter."""
    sqlite_run_only("the scan of a SQLite deployment's files")
    tmp_path = tmp_path_factory.mktemp("breach")
    data = tmp_path / "data"
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        DEBUG="1",
        CORDEE_DATA_DIR=str(data),
        VAULT_KEYSET_FILE=str(tmp_path / "keys" / "vault-kek.json"),
        BLOB_BACKEND="local",
        BLOB_DIR=str(data / "blobs"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.vault.breach_plant", str(tmp_path / "snapshot")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), tmp_path


def test_sqlite_files_and_blob_directory_hold_no_canary(planted_sqlite):
    result, root = planted_sqlite
    _check_planted(result)
    database = Path(result["database"])
    snapshot = _files(root / "snapshot")
    assert any(path.name.endswith("-wal") and path.stat().st_size > 0 for path in snapshot), "no WAL to scan"
    database_files = [path for path in database.parent.glob(database.name + "*") if path.is_file()]
    blob_files = _files(root / "data" / "blobs")
    assert blob_files and database_files

    findings = canaries.scan(database_files + snapshot + blob_files, canaries.SECRETS)
    assert findings == [], "\n".join(findings)
    control = canaries.scan(database_files + snapshot, {"control": [canaries.CONTROL]})
    assert any("utf-8" in finding for finding in control), "the scanner did not see a clear value"


def test_shredded_keys_are_gone_from_the_sqlite_files(planted_sqlite):
    result, root = planted_sqlite
    database = Path(result["database"])
    keys = [bytes.fromhex(key) for key in result["erased_keys"]]
    snapshot = b"".join(path.read_bytes() for path in _files(root / "snapshot"))
    assert all(key in snapshot for key in keys)  # the keys were there before the shred...
    after = [path for path in database.parent.glob(database.name + "*") if path.is_file()]
    for path in after:
        content = path.read_bytes()
        assert not any(key in content for key in keys), f"an erased data key is still in {path.name}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_and_blob_directory_hold_no_canary(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("this run uses SQLite (the file-based test above covers it); DATABASE_URL runs this one")
    pg_dump = shutil.which("pg_dump")
    require("pg_dump", pg_dump is not None, "install the PostgreSQL client (postgresql-client)")
    from cordee import demo as cordee_demo

    settings.BLOB_BACKEND, settings.BLOB_DIR = "local", tmp_path / "blobs"
    result = canaries.plant(cordee_demo.seed(with_mfa=False))
    _check_planted(result)

    db = connection.settings_dict
    dump = tmp_path / "dump.sql"
    environment = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    command = [pg_dump, "--no-owner", "--format=plain", f"--file={dump}", "--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr

    findings = canaries.scan([dump, *_files(tmp_path / "blobs")], canaries.SECRETS)
    assert findings == [], "\n".join(findings)
    assert canaries.scan([dump], {"control": [canaries.CONTROL]}), "the scanner did not see a clear value"
