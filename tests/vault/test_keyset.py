"""The keyset file: created loudly in DEBUG, required with DEBUG off, never overwritten, clear errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cordee.vault import keyset
from cordee.vault.errors import KeysetError

ROOT = Path(__file__).resolve().parent.parent.parent


def _start(tmp_path: Path, keyset_path: Path, *, debug: bool, command: str = "setup") -> subprocess.CompletedProcess:
    """Start Cordée in a fresh interpreter: import the ASGI application as uvicorn does, or run manage.py."""
    secret = tmp_path / "secret-key"
    secret.write_text("k" * 64)
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings",
        DEBUG="1" if debug else "0",
        SECRET_KEY_FILE=str(secret),
        CORDEE_DATA_DIR=str(tmp_path / "data"),
        VAULT_KEYSET_FILE=str(keyset_path),
    )
    argv = (
        [sys.executable, "-c", "import cordee.asgi; print('started')"]
        if command == "setup"
        else [sys.executable, "manage.py", "check"]
    )
    return subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["setup", "manage.py"])
def test_missing_keyset_stops_production_start_up(tmp_path, command):
    path = tmp_path / "keys" / "vault-kek.json"
    result = _start(tmp_path, path, debug=False, command=command)
    assert result.returncode != 0
    assert f"The vault keyset {path} does not exist. Cordée refuses to start without it" in result.stderr
    assert "python -m cordee.vault.keyset create" in result.stderr
    assert not path.exists()


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"format": "something-else"}),
        json.dumps({"format": "cordee-vault-keyset", "version": 1}),
    ],
)
def test_corrupt_keyset_stops_start_up_even_in_debug_and_is_kept(tmp_path, content):
    path = tmp_path / "vault-kek.json"
    path.write_text(content)
    for debug in (False, True):
        result = _start(tmp_path, path, debug=debug)
        assert result.returncode != 0
        assert f"The vault keyset {path} cannot be read" in result.stderr
        assert "do not create a new one in its place" in result.stderr
    assert path.read_text() == content  # never replaced


def test_keyset_with_a_wrong_key_type_is_corrupt(tmp_path):
    document = json.loads(keyset.to_json(keyset.generate()))
    document["kek"], document["blind_index"] = document["blind_index"], document["kek"]
    path = tmp_path / "swapped.json"
    path.write_text(json.dumps(document))
    with pytest.raises(KeysetError, match="cannot be read"):
        keyset.load(path)


def test_debug_start_up_creates_a_private_keyset_loudly(tmp_path):
    path = tmp_path / "keys" / "vault-kek.json"
    result = _start(tmp_path, path, debug=True)
    assert result.returncode == 0, result.stderr
    assert "created a NEW vault keyset" in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keyset.load(path)
    first = path.read_bytes()
    again = _start(tmp_path, path, debug=True)
    assert again.returncode == 0 and "created a NEW vault keyset" not in again.stderr
    assert path.read_bytes() == first  # an existing keyset is used, never regenerated


def test_production_starts_with_a_keyset(tmp_path):
    from cordee.audit import mac
    from cordee.audit.signing import create_key

    path = tmp_path / "vault-kek.json"
    keyset.create(path)
    create_key(tmp_path / "data" / "keys" / "audit-ed25519.pem")  # the audit trail's own start-up checks
    mac.create_key(tmp_path / "data" / "keys" / "audit-mac.key")
    result = _start(tmp_path, path, debug=False)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_create_command_never_overwrites(tmp_path):
    path = tmp_path / "k.json"
    command = [sys.executable, "-m", "cordee.vault.keyset", "create", str(path)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "VAULT_KEYSET_FILE=" in first.stderr
    content = path.read_bytes()
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1 and "never overwritten" in second.stderr
    assert path.read_bytes() == content


def test_rotation_helpers_keep_then_retire_old_keys():
    original = keyset.generate()
    rotated = keyset.with_new_primary(original)
    assert len(rotated.kek_ids) == 2 and rotated.primary_kek_id != original.primary_kek_id
    ciphertext = original.kek_aead.encrypt(b"data key", b"ad")
    assert rotated.kek_aead.decrypt(ciphertext, b"ad") == b"data key"
    retired = keyset.without_old_keys(rotated)
    assert retired.kek_ids == [rotated.primary_kek_id]
    with pytest.raises(Exception):  # noqa: B017  (Tink's error: the old key is gone)
        retired.kek_aead.decrypt(ciphertext, b"ad")
    assert retired.blind_prf.compute(b"x", 32) == original.blind_prf.compute(b"x", 32)  # indexes unchanged
