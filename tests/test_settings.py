"""Settings come from the environment through typed helpers and refuse unsafe production start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from cordee import env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False)])
def test_env_bool_parses(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG") is expected


def test_env_bool_refuses_junk(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env.env_bool("X_FLAG")


def test_env_int_refuses_junk_and_bounds(monkeypatch):
    monkeypatch.setenv("X_INT", "12x")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env.env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "5")
    with pytest.raises(ImproperlyConfigured, match="below the minimum 10"):
        env.env_int("X_INT", 20, minimum=10)
    assert env.env_int("X_INT", 20, minimum=1) == 5


def test_env_choice_refuses_unknown(monkeypatch):
    monkeypatch.setenv("X_CHOICE", "loud")
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        env.env_choice("X_CHOICE", ("quiet", "normal"), "normal")


def test_secret_from_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("s3cr3t-from-file\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env.env_secret("X_SECRET") == "s3cr3t-from-file"


def test_secret_file_missing_or_ambiguous(monkeypatch, tmp_path):
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_secret("X_SECRET")
    monkeypatch.setenv("X_SECRET", "direct")
    with pytest.raises(ImproperlyConfigured, match="both X_SECRET and X_SECRET_FILE"):
        env.env_secret("X_SECRET")


def _start(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Load the settings and set Django up in a fresh interpreter, as a start-up would."""
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    environment.update({"DJANGO_SETTINGS_MODULE": "cordee.settings", **extra})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_missing_secret_key():
    result = _start({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is missing or a known default" in result.stderr


def test_production_refuses_default_secret_key():
    result = _start({"DEBUG": "0", "SECRET_KEY": "django-insecure-abc123"})
    assert result.returncode != 0
    assert "known default" in result.stderr


def test_production_refuses_insecure_cookies():
    result = _start({"DEBUG": "0", "SECRET_KEY": "x" * 50, "SESSION_COOKIE_SECURE": "0"})
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE is off" in result.stderr


def test_production_starts_when_safe(tmp_path):
    from cordee.audit import mac
    from cordee.audit.signing import create_key
    from cordee.vault import keyset

    key = tmp_path / "key"
    key.write_text("k" * 64)
    # The keys kept outside the database must exist too (their start-up checks refuse to go without).
    keyset.create(tmp_path / "keys" / "vault-kek.json")
    create_key(tmp_path / "keys" / "audit-ed25519.pem")
    mac.create_key(tmp_path / "keys" / "audit-mac.key")
    result = _start({"DEBUG": "0", "SECRET_KEY_FILE": str(key), "CORDEE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_junk_in_environment_stops_start_up():
    result = _start({"DEBUG": "perhaps"})
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_database_url_must_be_postgresql(tmp_path):
    result = _start({"DEBUG": "1", "DATABASE_URL": "mysql://root@127.0.0.1/test", "CORDEE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DATABASE_URL must point to PostgreSQL" in result.stderr


def test_embedded_default_is_sqlite_wal(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("this run uses PostgreSQL (DATABASE_URL set)")
    assert "journal_mode=WAL" in settings.DATABASES["default"]["OPTIONS"]["init_command"]
    backend = import_string(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    # In the process (no server to run): Channels' in-memory layer or Cordée's faster variant of it.
    assert issubclass(backend, InMemoryChannelLayer | RedisPubSubChannelLayer | RedisChannelLayer)


def test_redis_url_switches_channel_layer_and_cache(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CHANNEL_LAYERS['default']['BACKEND']); print(s.CACHES['default']['BACKEND'])"
    )
    environment = dict(
        os.environ,
        DEBUG="1",
        REDIS_URL="redis://127.0.0.1:6379/3",
        CORDEE_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="cordee.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "cordee.messaging.layers.BoundedRedisPubSubChannelLayer" in result.stdout
    assert "django.core.cache.backends.redis.RedisCache" in result.stdout


@pytest.mark.parametrize(
    ("choice", "backend"),
    [
        (None, "cordee.messaging.layers.LocalChannelLayer"),
        ("channels", "channels.layers.InMemoryChannelLayer"),
    ],
)
def test_without_redis_the_layer_is_in_process(tmp_path, choice, backend):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.CHANNEL_LAYERS)"
    environment = dict(os.environ, DEBUG="1", CORDEE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="cordee.settings")
    environment.pop("REDIS_URL", None)
    environment.pop("CHANNEL_LAYER_LOCAL", None)
    if choice:
        environment["CHANNEL_LAYER_LOCAL"] = choice
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert f"'BACKEND': '{backend}'" in result.stdout


@pytest.mark.django_db
def test_the_run_names_what_it_creates_on_shared_servers(settings):
    """Two runs on one PostgreSQL and Redis never touch each other's data (tests/isolation.py)."""
    from django.db import connection

    from tests import isolation

    if connection.vendor == "postgresql":
        assert connection.settings_dict["NAME"].endswith("_" + isolation.RUN)
    assert settings.REDIS_KEY_PREFIX == isolation.REDIS_PREFIX == os.environ["REDIS_KEY_PREFIX"]
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        assert settings.CACHES["default"]["KEY_PREFIX"] == isolation.REDIS_PREFIX
        assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"].startswith(isolation.REDIS_PREFIX)


def test_no_cordee_setting_takes_a_name_django_reads(settings):
    """A Cordée setting named like one of Django's replaces Django's: ``SIGNING_BACKEND`` once named
    the PDF signer and broke every signed cookie (the messages framework answered 500)."""
    from django.conf import global_settings
    from django.core.signing import get_cookie_signer

    assert settings.SIGNING_BACKEND == global_settings.SIGNING_BACKEND
    signer = get_cookie_signer(salt="test")
    assert signer.unsign(signer.sign("value")) == "value"
