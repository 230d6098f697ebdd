"""The key files and ``manage.py signing``: created once, never overwritten, clear errors when missing or junk."""

from __future__ import annotations

import io
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError

from cordee.signing import checks, keys, qr
from cordee.signing.errors import SigningKeyError


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("signing", *args, stdout=out)
    return out.getvalue()


def test_create_ca_writes_a_private_file_once(settings, tmp_path):
    settings.SIGNING_CA_PATH = tmp_path / "keys" / "ca.pem"
    output = _run("create-ca", "--organization", "Maison de santé des Tilleuls")
    ca = keys.current_ca()
    assert ca.fingerprint in output
    assert stat.S_IMODE(settings.SIGNING_CA_PATH.stat().st_mode) == 0o600
    assert "Maison de santé des Tilleuls" in ca.certificate.subject.rfc4514_string()
    before = settings.SIGNING_CA_PATH.read_bytes()
    with pytest.raises(CommandError, match="never overwritten"):
        _run("create-ca")
    assert settings.SIGNING_CA_PATH.read_bytes() == before
    assert ca.fingerprint in _run("ca-certificate")


def test_create_qr_key_and_public_key(settings, tmp_path):
    settings.SIGNING_QR_KEY_PATH = tmp_path / "qr.pem"
    assert "key id" in _run("create-qr-key")
    with pytest.raises(CommandError, match="never overwritten"):
        _run("create-qr-key")
    printed = _run("public-key")
    assert printed.startswith("-----BEGIN PUBLIC KEY-----") and keys.qr_key_id().hex() in printed
    public = serialization.load_pem_public_key(printed.encode())
    assert printed.split("# ")[0] == qr.public_key_pem()
    assert keys.raw_public_key(public) == keys.raw_public_key(keys.qr_public_key())  # type: ignore[arg-type]  # Ed25519


def test_missing_keys_are_a_clear_error_and_a_deploy_check(settings, tmp_path):
    settings.SIGNING_CA_PATH = tmp_path / "none.pem"
    settings.SIGNING_QR_KEY_PATH = tmp_path / "none-qr.pem"
    with pytest.raises(SigningKeyError, match="create-ca"):
        keys.current_ca()
    with pytest.raises(SigningKeyError, match="create-qr-key"):
        qr.sign_qr_payload({"a": 1})
    with pytest.raises(CommandError, match="does not exist"):
        _run("public-key")
    assert [problem.id for problem in checks.signing_keys_present()] == ["signing.E001", "signing.E002"]


def test_debug_creates_missing_keys_and_production_does_not(settings, tmp_path):
    settings.SIGNING_CA_PATH = tmp_path / "ca.pem"
    settings.SIGNING_QR_KEY_PATH = tmp_path / "qr.pem"
    settings.SIGNING_CREATE_MISSING_KEYS = False
    keys.ensure_keys()
    assert not settings.SIGNING_CA_PATH.exists()
    settings.SIGNING_CREATE_MISSING_KEYS = True
    keys.ensure_keys()
    assert settings.SIGNING_CA_PATH.exists() and settings.SIGNING_QR_KEY_PATH.exists()
    assert checks.signing_keys_present() == []


@pytest.mark.parametrize(
    "content",
    [b"", b"junk", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "the other key"],
)
def test_a_damaged_ca_file_is_a_clear_error(settings, tmp_path, content):
    settings.SIGNING_CA_PATH = tmp_path / "ca.pem"
    if content == "the other key":  # a CA certificate with another CA's private key
        one, other = keys.new_ca("One"), keys.new_ca("Other")
        content = (
            keys.ca_to_pem(one).split(b"-----BEGIN PRIVATE KEY")[0]
            + keys.ca_to_pem(other).split(b"-----END CERTIFICATE-----\n")[1]
        )
    settings.SIGNING_CA_PATH.write_bytes(content)
    with pytest.raises(SigningKeyError, match="SIGNING_CA_FILE"):
        keys.current_ca()


def test_a_qr_key_that_is_not_ed25519_is_refused(settings, tmp_path):
    settings.SIGNING_QR_KEY_PATH = tmp_path / "qr.pem"
    settings.SIGNING_QR_KEY_PATH.write_bytes(keys.ca_to_pem(keys.new_ca("X")).split(b"-----END CERTIFICATE-----\n")[1])
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        keys.qr_private_key()


def test_an_unreadable_trusted_ca_is_a_clear_error(settings, tmp_path):
    settings.SIGNING_TRUSTED_CA_PATHS = [tmp_path / "missing.pem"]
    with pytest.raises(SigningKeyError, match="SIGNING_TRUSTED_CA_FILES"):
        keys.extra_trust_roots()


def test_a_new_production_installation_makes_its_keys_with_the_command(tmp_path):
    """DEBUG off: nothing is created at start-up; ``manage.py signing create-ca`` works before any key exists."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cordee.audit import mac
    from cordee.audit.signing import create_key
    from cordee.vault import keyset

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "secret").write_text("k" * 64)
    keyset.create(tmp_path / "keys" / "vault-kek.json")
    create_key(tmp_path / "keys" / "audit-ed25519.pem")
    mac.create_key(tmp_path / "keys" / "audit-mac.key")
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    environment.update(DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "secret"), CORDEE_DATA_DIR=str(tmp_path))

    script = """
import io, django
django.setup()
from django.core.management import call_command
from django.core.management.base import CommandError
try:
    call_command("signing", "public-key")
except CommandError as exc:
    print("MISSING:", exc)
call_command("signing", "create-ca", "--organization", "CHU de Test")
call_command("signing", "create-qr-key")
call_command("signing", "public-key")
"""
    environment["DJANGO_SETTINGS_MODULE"] = "cordee.settings"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "MISSING:" in result.stdout and "create-qr-key" in result.stdout  # one start-up, no key made by it
    assert "-----BEGIN PUBLIC KEY-----" in result.stdout and "CHU de Test" not in result.stderr
    assert stat.S_IMODE((tmp_path / "keys" / "signing-ca.pem").stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "signing-qr-ed25519.pem").exists()
