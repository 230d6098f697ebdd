"""The checkpoint signing key: outside the database, created loudly in DEBUG, required in production."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured

from cordee.audit import signing

ROOT = Path(__file__).resolve().parents[2]


def test_debug_creates_a_missing_key_loudly(settings, tmp_path, caplog, capsys):
    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "keys" / "audit.pem"
    settings.AUDIT_CREATE_MISSING_SIGNING_KEY = True
    signing.ensure_signing_key()
    assert stat.S_IMODE(settings.AUDIT_SIGNING_KEY_PATH.stat().st_mode) == 0o600
    assert "created a NEW audit signing key" in caplog.text
    assert "!!! Cordée (DEBUG) created a NEW audit signing key" in capsys.readouterr().err
    key_id = signing.key_id()
    signing.ensure_signing_key()  # an existing key is kept, never replaced
    assert signing.key_id() == key_id


def test_a_missing_key_is_refused_without_debug(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "absent.pem"
    settings.AUDIT_CREATE_MISSING_SIGNING_KEY = False
    with pytest.raises(ImproperlyConfigured, match="absent.pem .AUDIT_SIGNING_KEY_FILE. is missing"):
        signing.ensure_signing_key()
    assert not settings.AUDIT_SIGNING_KEY_PATH.exists()


def test_a_corrupt_key_is_refused(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "junk.pem"
    settings.AUDIT_SIGNING_KEY_PATH.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ImproperlyConfigured, match="is not an unencrypted PEM private key"):
        signing.ensure_signing_key()


def test_a_key_of_another_kind_is_refused(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "ec.pem"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.AUDIT_SIGNING_KEY_PATH.write_bytes(pem)
    with pytest.raises(ImproperlyConfigured, match="is not an Ed25519 key"):
        signing.ensure_signing_key()


def _fresh(code: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with production settings (DEBUG off)."""
    secret = tmp_path / "secret"
    secret.write_text("s" * 64)
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings",
        DEBUG="0",
        SECRET_KEY_FILE=str(secret),
        CORDEE_DATA_DIR=str(tmp_path / "data"),
        AUDIT_SIGNING_KEY_FILE=str(tmp_path / "audit-ed25519.pem"),
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_production_start_up_check_refuses_a_missing_key_in_a_fresh_interpreter(tmp_path):
    result = _fresh("from cordee.audit.signing import ensure_signing_key; ensure_signing_key()", tmp_path)
    assert result.returncode != 0
    assert "audit-ed25519.pem (AUDIT_SIGNING_KEY_FILE) is missing" in result.stderr
    assert "openssl genpkey -algorithm ed25519" in result.stderr
    assert not (tmp_path / "audit-ed25519.pem").exists()


def _vault_keyset(tmp_path: Path) -> dict[str, str]:
    """The vault's own start-up check runs first: give it a keyset made with its documented tool."""
    keyset = tmp_path / "vault.json"
    made = subprocess.run(
        [sys.executable, "-m", "cordee.vault.keyset", "create", str(keyset)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cordee.settings"},
    )
    assert made.returncode == 0, made.stderr
    return {"VAULT_KEYSET_FILE": str(keyset)}


def test_django_refuses_to_start_without_the_key(tmp_path):
    result = _fresh("import django; django.setup(); print('started')", tmp_path, **_vault_keyset(tmp_path))
    assert result.returncode != 0
    assert "(AUDIT_SIGNING_KEY_FILE) is missing, and Cordée refuses to start without it" in result.stderr
    assert "started" not in result.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_django_starts_with_keys_made_by_openssl(tmp_path):
    key = tmp_path / "audit-ed25519.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True, timeout=30)
    mac_key = tmp_path / "audit-mac.key"
    made = subprocess.run(["openssl", "rand", "-hex", "32"], check=True, timeout=30, capture_output=True)
    mac_key.write_bytes(made.stdout)
    result = _fresh(
        "import django; django.setup(); print('started')",
        tmp_path,
        AUDIT_MAC_KEY_FILE=str(mac_key),
        **_vault_keyset(tmp_path),
    )
    assert "AUDIT_SIGNING_KEY_FILE" not in result.stderr and "AUDIT_MAC_KEY_FILE" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_the_create_tool_never_overwrites(tmp_path):
    key = tmp_path / "audit.pem"
    command = [sys.executable, "-m", "cordee.audit.signing", "create", str(key)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "public key id" in first.stdout
    before = key.read_bytes()
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1 and "not overwritten" in second.stderr
    assert key.read_bytes() == before
