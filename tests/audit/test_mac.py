"""The keyed MAC of every entry: a key outside the database, and ``verify`` naming what lacks a valid MAC."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from cordee.audit import checkpoints, mac, retention, services
from cordee.audit.models import AuditEntry
from cordee.audit.verify import verify_chain

from .conftest import TABLE, append_forged, attacker, make_entries, rehash_from, sql

ROOT = Path(__file__).resolve().parents[2]


def _expected(key_path: Path, seq: int, entry_hash: str) -> str:
    """The MAC as documented (docs/security.md), computed independently of ``mac.py``."""
    key = bytes.fromhex(key_path.read_text().strip())
    return hmac.new(key, b"cordee-audit-mac/1\n%d\n%s" % (seq, entry_hash.encode()), hashlib.sha256).hexdigest()


@pytest.mark.django_db
def test_record_and_record_many_write_the_documented_mac(mac_key):
    make_entries(2)
    services.record_many([{"action": "test.batch", "details": {"n": n}} for n in range(3)])
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [entry.seq for entry in entries] == [1, 2, 3, 4, 5]
    for entry in entries:
        assert entry.mac == _expected(mac_key, entry.seq, entry.entry_hash)
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, os.urandom(32)], ids=["no-key", "another-key"])
def test_a_well_hashed_append_is_named_forged(key):
    make_entries(5)
    seq = append_forged(key)
    result = verify_chain()
    assert [(p.kind, p.seq) for p in result.problems] == [("forged", seq)]
    assert result.first_problem.message.startswith(f"entry #{seq} is not authentic: its MAC does not match")


@pytest.mark.django_db
def test_a_checkpoint_is_never_signed_over_a_forged_append():
    make_entries(3)
    checkpoints.make_checkpoint()
    append_forged()
    with pytest.raises(checkpoints.ChainBroken, match="entry #4 is not authentic"):
        checkpoints.make_checkpoint()


@pytest.mark.django_db
def test_a_re_hashed_edit_after_the_last_checkpoint_is_named():
    make_entries(5)
    checkpoints.make_checkpoint()
    make_entries(6)  # #6..#11, not sealed yet: only the MACs protect them
    with attacker():
        sql(f"UPDATE {TABLE} SET purpose = 'forged' WHERE seq = 8")  # noqa: S608
        rehash_from(8)
    result = verify_chain()
    assert [(p.kind, p.seq) for p in result.problems] == [("forged", 8)]
    assert result.first_problem.message.startswith("entries #8..#11 are not authentic")


@pytest.mark.django_db
def test_tombstones_keep_a_valid_mac(settings):
    settings.AUDIT_SECURITY_RETENTION_DAYS = 365
    settings.AUDIT_ACCESS_RETENTION_DAYS = 3 * 365
    now = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    make_entries(4, start=now - dt.timedelta(days=2 * 365), step=dt.timedelta(days=1))
    retention.purge(now=now)  # #1 (security) deleted, #3 (security) a tombstone between live access entries
    assert list(AuditEntry.objects.filter(purged_at__isnull=False).values_list("seq", flat=True)) == [3]
    result = verify_chain()
    assert result.ok, result.problems


@pytest.mark.django_db
def test_verifying_with_another_key_says_so(settings, tmp_path):
    make_entries(4)
    settings.AUDIT_MAC_KEY_PATH = tmp_path / "other.key"
    mac.create_key(settings.AUDIT_MAC_KEY_PATH)
    (problem,) = verify_chain().problems
    assert (problem.kind, problem.seq) == ("forged", 1)
    assert problem.message.endswith("is AUDIT_MAC_KEY_FILE the key this trail was written with?")


def test_debug_creates_a_missing_key_loudly(settings, tmp_path, caplog, capsys):
    settings.AUDIT_MAC_KEY_PATH = tmp_path / "fresh" / "audit-mac.key"
    settings.AUDIT_CREATE_MISSING_MAC_KEY = True
    mac.ensure_mac_key()
    assert stat.S_IMODE(settings.AUDIT_MAC_KEY_PATH.stat().st_mode) == 0o600
    assert len(bytes.fromhex(settings.AUDIT_MAC_KEY_PATH.read_text().strip())) == 32
    assert "created a NEW audit MAC key" in caplog.text
    assert "!!! Cordée (DEBUG) created a NEW audit MAC key" in capsys.readouterr().err
    before = settings.AUDIT_MAC_KEY_PATH.read_bytes()
    mac.ensure_mac_key()  # an existing key is kept, never replaced
    assert settings.AUDIT_MAC_KEY_PATH.read_bytes() == before


def test_a_missing_key_is_refused_without_debug(settings, tmp_path):
    settings.AUDIT_MAC_KEY_PATH = tmp_path / "absent.key"
    settings.AUDIT_CREATE_MISSING_MAC_KEY = False
    with pytest.raises(ImproperlyConfigured, match=r"absent.key \(AUDIT_MAC_KEY_FILE\) is missing"):
        mac.ensure_mac_key()
    assert not settings.AUDIT_MAC_KEY_PATH.exists()


@pytest.mark.parametrize(
    ("content", "error"),
    [(b"not hex at all", "is not hexadecimal"), (b"ab" * 16, "is shorter than 32 bytes"), (b"\xff\xfe", "hex")],
)
def test_a_malformed_key_is_refused(settings, tmp_path, content, error):
    settings.AUDIT_MAC_KEY_PATH = tmp_path / "junk.key"
    settings.AUDIT_MAC_KEY_PATH.write_bytes(content)
    with pytest.raises(ImproperlyConfigured, match=error):
        mac.ensure_mac_key()


def test_django_refuses_to_start_without_the_key(tmp_path):
    from .test_signing_key import _fresh, _vault_keyset

    signing_key = tmp_path / "audit-ed25519.pem"
    subprocess.run([sys.executable, "-m", "cordee.audit.signing", "create", str(signing_key)], check=True, cwd=ROOT)
    result = _fresh(
        "import django; django.setup(); print('started')",
        tmp_path,
        AUDIT_MAC_KEY_FILE=str(tmp_path / "absent-mac.key"),
        **_vault_keyset(tmp_path),
    )
    assert result.returncode != 0
    assert "absent-mac.key (AUDIT_MAC_KEY_FILE) is missing, and Cordée refuses to start without it" in result.stderr
    assert "started" not in result.stdout


def test_the_create_tool_never_overwrites(tmp_path):
    key = tmp_path / "audit-mac.key"
    command = [sys.executable, "-m", "cordee.audit.mac", "create", str(key)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "keep it secret" in first.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1 and "not overwritten" in second.stderr
    assert key.read_bytes() == before


def _migration():
    import importlib

    return importlib.import_module("cordee.audit.migrations.0004_entry_macs_keyed_outside_the_database")


class _SchemaEditor:
    """What the data migration uses of a schema editor: its connection and ``execute``."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection

    def execute(self, statement: str, params: list | None = None) -> None:
        sql(statement, params)


@pytest.mark.django_db
def test_the_migration_gives_entries_written_before_it_their_mac():
    from django.apps import apps

    make_entries(6)
    with attacker():
        sql(f"UPDATE {TABLE} SET mac = ''")  # noqa: S608 (the rows as the migration finds them)
    assert not verify_chain().ok
    _migration().fill_macs(apps, _SchemaEditor())
    result = verify_chain()
    assert result.ok, result.problems


@pytest.mark.django_db
def test_the_migration_refuses_to_seal_a_broken_chain():
    from django.apps import apps

    make_entries(6)
    with attacker():
        sql(f"UPDATE {TABLE} SET mac = '', purpose = 'edited' WHERE seq = 4")  # noqa: S608
    with pytest.raises(RuntimeError, match="audit entry #4 does not verify .its content no longer matches"):
        _migration().fill_macs(apps, _SchemaEditor())
