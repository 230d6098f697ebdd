"""Shared fixtures and the personas of CONVENTIONS.md.

Personas (all in "Maison de santé des Tilleuls", 12 rue des Tilleuls, 69003 Lyon, 04 72 00 00 00):
- alice: Dr Alice, treating physician of Paula; may see Paula's data.
- bob: nurse in Alice's care team; may see Paula's data.
- charlie: doctor outside Paula's care team; must get the answer given for a missing patient.
- paula: patient of Alice; sees her own data and who accessed it.
- sam: medical secretary acting for Alice; narrower rights, never prescribes.
- ada: administrator of the structure; manages members and verifies identities.
- otto: security officer of the structure; alerts and audit.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import re
import socket
from typing import Any

import pytest

from cordee import demo as cordee_demo
from cordee.prescriptions.demo import seed_pharmacist
from tests import isolation


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on at 127.0.0.1 now (TCP, or UDP with ``SOCK_DGRAM``), for a server
    a test starts."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require(service: str, available: bool, reason: str) -> None:
    """Skip when a real service is absent, but fail under CI, where it must be there."""
    if available:
        return
    message = f"{service} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is a failure)")
    pytest.skip(message)


def postgres_run_only(what: str) -> None:
    """Skip in the SQLite run: CI (``.ci/run``) runs the suite again on PostgreSQL, where it runs.

    In that run a missing or unreachable server fails, as any database error does.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"this run uses SQLite: {what} is tested by the PostgreSQL run (DATABASE_URL, make test-postgres)")


def run_fresh_interpreter(probe: str, data_dir: Any) -> Any:
    """Run the Python source ``probe`` in a new interpreter, as a server process starts: SQLite in
    ``data_dir``, DEBUG on (keys made there), the repository as working directory. Returns the
    completed process (stdout and stderr as text)."""
    import subprocess
    import sys
    from pathlib import Path

    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(DEBUG="1", CORDEE_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="cordee.settings")
    return subprocess.run(  # noqa: S603 -- this interpreter, a probe of the test suite's own
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[1],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sqlite_run_only(what: str) -> None:
    """Skip in the PostgreSQL run: ``what`` runs on SQLite files of its own whatever the run's
    database, so the SQLite run (``make test``) has already run it; running it again there would
    only cost CI time."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip(f"this run uses PostgreSQL: {what} runs on SQLite and is tested by the SQLite run (make test)")


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host) if self.family == socket.AF_INET else host)
        except (OSError, ValueError):
            raise OSError(f"tests may not resolve {host!r}") from None
        if not ip.is_loopback:
            raise OSError(f"tests may not connect outside loopback ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_outbound_network():
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """The PostgreSQL test database is named after the run (``tests/isolation.py``): two runs on
    one server never drop each other's database, nor anything they did not create."""
    from pytest_django.fixtures import _set_suffix_to_test_databases

    _set_suffix_to_test_databases(isolation.RUN)
    _sqlite_test_database_in_a_file()


def _sqlite_test_database_in_a_file() -> None:
    """On SQLite the test database is a file, as Cordée's own database is (WAL, busy timeout), not
    Django's default shared in-memory one. Threads of a test (the browser tests' server, the
    dispensing races, Channels' database calls) then each open their own connection, as in
    production, instead of sharing the test's connection and its transaction state — sharing that
    one connection between concurrent threads corrupted it for every later test. The file lives in
    memory all the same (``/dev/shm`` when there is one), in a directory named after the run,
    removed at the end of the run."""
    import shutil
    import tempfile
    from pathlib import Path

    from django.conf import settings

    sqlite = [db for db in settings.DATABASES.values() if db["ENGINE"] == "cordee.lib.sqlite"]
    if not sqlite:
        return
    shm = "/dev/shm"  # noqa: S108 -- only the parent: mkdtemp makes a private, unpredictable directory in it
    folder = Path(
        tempfile.mkdtemp(prefix=f"cordee-test-{isolation.RUN}-", dir=shm if os.access(shm, os.W_OK) else None)
    )
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for n, db in enumerate(sqlite):
        db.setdefault("TEST", {})["NAME"] = str(folder / f"test-{n}.sqlite3")
        # Cordée's own pragmas (WAL, busy timeout, foreign keys), with no durability to pay for in a
        # database thrown away at the end of the run, and pages kept in memory rather than re-read.
        db["OPTIONS"]["init_command"] = (
            db["OPTIONS"].get("init_command", "").replace("PRAGMA synchronous=FULL;", "PRAGMA synchronous=OFF;")
            + " PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;"
        )


@pytest.fixture(autouse=True, scope="session")
def _redis_keys_of_this_run():
    """Redis keys written by the run (cache, channel layer) are deleted at its end, and only them."""
    yield
    url = os.environ.get("REDIS_URL")
    if url:
        isolation.redis_keys_deleted(url)


def clear_cache(alias: str = "default") -> None:
    """Empty a cache of this run only: ``cache.clear()`` on Redis would flush the whole database."""
    from django.conf import settings
    from django.core.cache import caches

    location = settings.CACHES[alias]
    if "redis" in location["BACKEND"].lower():
        isolation.redis_keys_deleted(location["LOCATION"], location.get("KEY_PREFIX") or isolation.REDIS_PREFIX)
    else:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    # A Redis cache (REDIS_URL) outlives each test's rolled-back transaction: start clean, so
    # rate-limit counters and used TOTP codes of one test do not leak into the next.
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        clear_cache()
    clear_cache("ratelimit")  # API rate-limit counters of one test do not count in the next
    if "sessions" in settings.CACHES:
        clear_cache("sessions")  # a session cached by one test is not read by the next
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def personas(db):
    """All personas, with their TOTP set up (professionals and staff)."""
    return cordee_demo.seed()


@pytest.fixture
def alice(personas):
    return personas["alice"]


@pytest.fixture
def bob(personas):
    return personas["bob"]


@pytest.fixture
def charlie(personas):
    return personas["charlie"]


@pytest.fixture
def paula(personas):
    return personas["paula"]


@pytest.fixture
def sam(personas):
    return personas["sam"]


@pytest.fixture
def ada(personas):
    return personas["ada"]


@pytest.fixture
def otto(personas):
    return personas["otto"]


@pytest.fixture
def phil(personas):
    """Phil, verified pharmacist (RPPS profession 21) of another structure, outside every care
    team: he opens a prescription only by its number or QR code, to dispense it."""
    return seed_pharmacist(personas)


@pytest.fixture
def structure(personas):
    return personas["ada"].memberships.get().structure


_CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def without_csrf(content: bytes) -> bytes:
    """A page's bytes without its CSRF tokens, which are masked anew on every answer (BREACH):
    two answers "the same" for a probe of ids are the same but for them."""
    return _CSRF_VALUE.sub(rb"\1\2", content)


def login_as(client, user, *, recent: bool = True) -> None:
    """A session that has passed password and second factor, as after a full login.

    ``recent``: the sign-in happened just now, so sudo mode (re-authentication) is satisfied.
    """
    import time

    client.force_login(user)
    session = client.session
    session["cordee_mfa_ok"] = True
    if recent:
        session["account_authentication_methods_user"] = str(user.pk)
        session["account_authentication_methods"] = [
            {"method": "password", "at": time.time(), "email": user.email},
            {"method": "mfa", "at": time.time(), "type": "totp"},
        ]
    session.save()


@pytest.fixture
def client_for(client):
    def make(user, *, recent: bool = True):
        login_as(client, user, recent=recent)
        return client

    return make
