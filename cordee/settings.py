"""Cordée settings: everything comes from the environment (see README, "Configuration").

The embedded default needs nothing: SQLite in WAL mode, an in-memory channel layer and a
local data directory. ``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL`` to Redis for the
channel layer and the cache. With ``DEBUG`` off, start-up refuses a missing or default secret
key and cookies that would travel over plain HTTP.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from cordee.env import env_bool, env_choice, env_int, env_list, env_path, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("CORDEE_DATA_DIR", BASE_DIR / ".data")

DEBUG = env_bool("DEBUG", False)

# --- secrets -----------------------------------------------------------------------------
# Known non-secrets: Django's template value and anything a tutorial would paste.
INSECURE_SECRET_KEYS = frozenset({"", "changeme", "change-me", "secret", "django-insecure"})


def _local_secret_key(data_dir: Path) -> str:
    """A per-checkout key for DEBUG runs, kept in the data directory (never in the repo)."""
    path = data_dir / "dev-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = _local_secret_key(DATA_DIR)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- applications ------------------------------------------------------------------------
# No django.contrib.admin: its login skipped the second factor and its forms changed roles,
# officers and verifications without the audited services (docs/decisions/0008-no-django-admin.md).
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API docs' assets served from Cordée (no CDN)
    "cordee.worker",  # below every app: they register their scheduled jobs with it
    "cordee.vault",
    "cordee.audit",
    "cordee.accounts",
    "cordee.care",
    "cordee.signing",
    "cordee.messaging",
    "cordee.documents",
    "cordee.referrals",
    "cordee.expertise",
    "cordee.imaging",
    "cordee.prescriptions",
    "cordee.drugs",
    "cordee.library",
    "cordee.video",
    "cordee.security",
    "cordee.backups",
    "cordee.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "cordee.lib.bodies.MalformedBodyMiddleware",  # before the CSRF check, which reads form bodies
    "django.middleware.csrf.CsrfViewMiddleware",
    "cordee.accounts.middleware.AuthenticationMiddleware",  # Django's, the user read at once
    "cordee.accounts.middleware.AtomicAccountPostsMiddleware",
    "cordee.accounts.middleware.IdleSessionTimeoutMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "cordee.accounts.middleware.MandatoryMfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cordee.web.middleware.PrivateResponsesMiddleware",
]

ROOT_URLCONF = "cordee.urls"
ASGI_APPLICATION = "cordee.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "cordee" / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cordee.web.context_processors.shell",
            ],
            # the shell's {% url %} (constant names reversed once) and {% icon %}, in every template
            "builtins": ["cordee.web.templatetags.everywhere"],
        },
    }
]

# --- storage -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Under ASGI each request runs in a thread of its own, so a persistent connection per thread
    # (CONN_MAX_AGE) is never reused and piles up to PostgreSQL's max_connections (seen in
    # bench/http: "too many clients"). Connections come from psycopg's pool instead, given back at
    # the end of each request (Django's documented setting for ASGI).
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 2, minimum=0, maximum=100),
        "max_size": env_int("DB_POOL_MAX_SIZE", 20, minimum=1, maximum=500),
        "timeout": 10,
    }
    # Parameters sent apart from the statement text (psycopg's server-side binding) rather than
    # quoted into it by the client; statements run 5 times on a pooled connection are prepared
    # (psycopg's prepare_threshold): the server parses and plans them once. Measured on 25-row
    # INSERTs: 85 µs of CPU per row (client + server) against 130. DB_SERVER_SIDE_BINDING=0: off.
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = env_bool("DB_SERVER_SIDE_BINDING", True)
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgres://…); leave it unset for SQLite")
else:
    DATABASES = {
        "default": {
            "ENGINE": "cordee.lib.sqlite",
            "NAME": str(DATA_DIR / "cordee.sqlite3"),
            # Kept open by the thread that opened it (the HTTP requests' threads are a fixed pool,
            # cordee/lib/asgi.py): opening one, with the pragmas below, cost more than a light request.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # IMMEDIATE: a writing transaction takes the lock at BEGIN, so two writers never
                # deadlock on a read→write upgrade (the audit chain relies on it).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# HTTP requests run their middleware and view in this many threads per process (cordee/lib/asgi.py);
# more requests at once wait for a free thread, in arrival order. With PostgreSQL each holds a pooled
# connection while it runs, so DB_POOL_MAX_SIZE must leave room for them and for the sockets' queries.
# Two per core by default: a request's Python holds the GIL, and more threads than that only made
# them take turns at random (bench/http, PostgreSQL, 8 clients sending messages: p99 4.4x the
# median with 10 threads, 1.8x with 4, 1.4x with 2, the same requests/s; decision 0013).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
REQUEST_THREADS = env_int("REQUEST_THREADS", max(2, 2 * _CORES), minimum=1, maximum=200)

REDIS_URL = env_str("REDIS_URL")
# Every key Cordée writes to Redis (cache, rate limits, channel layer) starts with this prefix, so
# that several installations or test runs can share one Redis server without touching each other.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "cordee")
if REDIS_URL:  # the channel layer is chosen below, with the messaging settings
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
else:
    # The database cache keeps allauth's rate limits shared between processes and across restarts.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cordee_cache"}}

# Per-user API rate limits (cordee/lib/ratelimit.py) count in their own cache: Redis when set, so
# that every instance counts together; in the process otherwise (the embedded default is one process).
if REDIS_URL:
    CACHES["ratelimit"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:rl",
    }
else:
    CACHES["ratelimit"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cordee-rl"}

# With Redis, sessions are read from a cache that every instance shares and kept durably in the
# database (Django's cached_db); without it (the embedded default) they are read from the database:
# a process's own memory would not see a session ended by another process (the worker, a command).
# Ending a session deletes both (cordee/accounts/sessions.py).
SESSION_ENGINE = "cordee.accounts.sessions"
SESSIONS_CACHED = bool(REDIS_URL)
if REDIS_URL:
    SESSION_CACHE_ALIAS = "sessions"
    CACHES["sessions"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:s",
    }

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/jsqr", NODE_MODULES / "jsqr" / "dist"),  # the pharmacist's QR reader (prescriptions)
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("CORDEE_PLAIN_STATIC", False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Background tasks (django-tasks): imports, notifications. ``manage.py worker`` runs them, and the
# scheduled jobs (audit checkpoints, purges: cordee/worker/jobs.py).
TASKS = {
    "default": {
        "BACKEND": env_choice(
            "TASKS_BACKEND",
            ("django_tasks_db.DatabaseBackend", "django_tasks.backends.immediate.ImmediateBackend"),
            "django_tasks_db.DatabaseBackend",
        )
    }
}

# --- encryption at rest (cordee.vault) ----------------------------------------------------
# The key-encryption keyset (Tink, JSON) lives outside the database. In DEBUG it is created on
# the first run with a loud warning; with DEBUG off a missing or unreadable keyset stops start-up.
VAULT_KEYSET_PATH = env_path("VAULT_KEYSET_FILE", DATA_DIR / "keys" / "vault-kek.json")
VAULT_CREATE_MISSING_KEYSET = DEBUG
# Blobs (files): a local directory by default, S3-compatible object storage as the scale option.
BLOB_BACKEND = env_choice("BLOB_BACKEND", ("local", "s3"), "local")
BLOB_DIR = env_path("BLOB_DIR", DATA_DIR / "blobs")
BLOB_S3_BUCKET = env_str("BLOB_S3_BUCKET")
BLOB_S3_ENDPOINT_URL = env_str("BLOB_S3_ENDPOINT_URL")
BLOB_S3_ACCESS_KEY = env_secret("BLOB_S3_ACCESS_KEY")
BLOB_S3_SECRET_KEY = env_secret("BLOB_S3_SECRET_KEY")
BLOB_S3_REGION = env_str("BLOB_S3_REGION", "us-east-1")  # signing region (e.g. fr-par, gra, eu-west-3)
if BLOB_BACKEND == "s3" and not BLOB_S3_BUCKET:
    raise ImproperlyConfigured("BLOB_BACKEND=s3 needs BLOB_S3_BUCKET (and usually BLOB_S3_ENDPOINT_URL and keys)")

# --- audit trail (cordee.audit) -----------------------------------------------------------
# Ed25519 key signing the checkpoints; outside the database, created on the first DEBUG run.
AUDIT_SIGNING_KEY_PATH = env_path("AUDIT_SIGNING_KEY_FILE", DATA_DIR / "keys" / "audit-ed25519.pem")
AUDIT_CREATE_MISSING_SIGNING_KEY = DEBUG
# HMAC key (64 hex characters) authenticating every entry; outside the database, created on the first DEBUG run.
AUDIT_MAC_KEY_PATH = env_path("AUDIT_MAC_KEY_FILE", DATA_DIR / "keys" / "audit-mac.key")
AUDIT_CREATE_MISSING_MAC_KEY = DEBUG
# A checkpoint at most this long after any new entry (the worker's scheduler), and after every N entries.
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 30, minimum=1, maximum=60)
AUDIT_CHECKPOINT_EVERY = env_int("AUDIT_CHECKPOINT_EVERY", 1000, minimum=1)
if env_str("AUDIT_CHECKPOINT_MINUTES"):
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_MINUTES is gone: the worker seals every AUDIT_CHECKPOINT_SECONDS")
# ``audit verify`` warns (and fails with --strict) when entries wait unsealed longer than this.
AUDIT_CHECKPOINT_STALE_SECONDS = env_int("AUDIT_CHECKPOINT_STALE_SECONDS", 180, minimum=AUDIT_CHECKPOINT_SECONDS + 1)
# The second, append-only copy of every checkpoint: a file path or s3://bucket/prefix (docs/security.md).
# The demo (DEBUG) keeps one beside its database; production names its own (`check --deploy` warns).
AUDIT_CHECKPOINT_COPY = env_str("AUDIT_CHECKPOINT_COPY", str(DATA_DIR / "audit-checkpoints.jsonl") if DEBUG else "")
if AUDIT_CHECKPOINT_COPY and not AUDIT_CHECKPOINT_COPY.startswith("s3://"):
    AUDIT_CHECKPOINT_COPY = str(Path(AUDIT_CHECKPOINT_COPY).expanduser().resolve())
AUDIT_COPY_S3_ENDPOINT_URL = env_str("AUDIT_COPY_S3_ENDPOINT_URL", BLOB_S3_ENDPOINT_URL)
AUDIT_COPY_S3_REGION = env_str("AUDIT_COPY_S3_REGION", BLOB_S3_REGION)
AUDIT_COPY_S3_ACCESS_KEY = env_secret("AUDIT_COPY_S3_ACCESS_KEY", BLOB_S3_ACCESS_KEY)
AUDIT_COPY_S3_SECRET_KEY = env_secret("AUDIT_COPY_S3_SECRET_KEY", BLOB_S3_SECRET_KEY)
AUDIT_SECURITY_RETENTION_DAYS = env_int("AUDIT_SECURITY_RETENTION_DAYS", 365, minimum=30)
AUDIT_ACCESS_RETENTION_DAYS = env_int("AUDIT_ACCESS_RETENTION_DAYS", 3 * 365, minimum=365)
# Object Lock retention of each checkpoint in an S3 copy: past the longest retention of the entries.
AUDIT_COPY_RETENTION_DAYS = env_int(
    "AUDIT_COPY_RETENTION_DAYS", AUDIT_ACCESS_RETENTION_DAYS + 365, minimum=AUDIT_ACCESS_RETENTION_DAYS
)
if AUDIT_CHECKPOINT_COPY.startswith("s3://") and not AUDIT_CHECKPOINT_COPY.removeprefix("s3://").split("/")[0]:
    raise ImproperlyConfigured(f"AUDIT_CHECKPOINT_COPY={AUDIT_CHECKPOINT_COPY!r} names no bucket (s3://bucket/prefix)")

# --- signatures (cordee.signing, docs/signing.md) --------------------------------------------
# The deployment CA (its certificate and private key, PEM) issues each verified professional's
# signing certificate; the Ed25519 QR key signs the payloads printed as QR codes. Both live outside
# the database; DEBUG creates missing ones (loudly), production makes them with `manage.py signing
# create-ca` / `create-qr-key` and refuses to sign without them.
SIGNING_CA_PATH = env_path("SIGNING_CA_FILE", DATA_DIR / "keys" / "signing-ca.pem")
SIGNING_QR_KEY_PATH = env_path("SIGNING_QR_KEY_FILE", DATA_DIR / "keys" / "signing-qr-ed25519.pem")
SIGNING_CREATE_MISSING_KEYS = DEBUG
# Older CA certificates still trusted when validating PDFs (after a rotation): PEM files, comma-separated.
SIGNING_TRUSTED_CA_PATHS = [Path(path).expanduser().resolve() for path in env_list("SIGNING_TRUSTED_CA_FILES")]
SIGNING_ORGANIZATION = env_str("SIGNING_ORGANIZATION", "Cordée")
SIGNING_CERTIFICATE_DAYS = env_int("SIGNING_CERTIFICATE_DAYS", 3 * 365, minimum=90, maximum=5 * 365)
# Who holds the professionals' keys: a class implementing cordee.signing.backends.SignerBackend.
# Not SIGNING_BACKEND: Django reads that name for its cookie and message signer (tests/test_settings.py).
PDF_SIGNER_BACKEND = env_str("PDF_SIGNER_BACKEND", "cordee.signing.backends.DeploymentCA")
# An RFC 3161 time-stamp authority makes the signatures PAdES B-T; none by default (no network).
SIGNING_TSA_URL = env_str("SIGNING_TSA_URL")
# --- backups (cordee.backups, docs/backups.md) -------------------------------------------
# The restic repository: a local path, sftp:user@host:/path or s3:https://host/bucket/prefix; its
# password (BACKUP_PASSWORD or BACKUP_PASSWORD_FILE) encrypts and authenticates every backup.
# Empty: no scheduled backup (manage.py backup --repository still works).
BACKUP_REPOSITORY = env_str("BACKUP_REPOSITORY")
BACKUP_PASSWORD = env_secret("BACKUP_PASSWORD")
BACKUP_S3_ACCESS_KEY = env_secret("BACKUP_S3_ACCESS_KEY")
BACKUP_S3_SECRET_KEY = env_secret("BACKUP_S3_SECRET_KEY")
if BACKUP_REPOSITORY and not BACKUP_PASSWORD and not DEBUG:
    raise ImproperlyConfigured("BACKUP_REPOSITORY needs BACKUP_PASSWORD or BACKUP_PASSWORD_FILE")
BACKUP_CACHE_DIR = env_path("BACKUP_CACHE_DIR", DATA_DIR / "restic-cache")
# restic's compression of new data: the blob store, nearly all of a backup's volume, is ciphertext,
# which does not compress; "off" backs it up ~15–25 % faster on two cores (bench/backup). "auto"
# or "max" compress the database and the rest at that CPU cost.
BACKUP_COMPRESSION = env_str("BACKUP_COMPRESSION", "off")
if BACKUP_COMPRESSION not in ("off", "auto", "max"):
    raise ImproperlyConfigured(f"BACKUP_COMPRESSION={BACKUP_COMPRESSION!r}: expected off, auto or max")
BACKUP_EVERY_SECONDS = env_int("BACKUP_EVERY_SECONDS", 24 * 3600, minimum=600)
# The hourly watch alerts the security officers when no backup succeeded for this long.
BACKUP_MAX_AGE_SECONDS = env_int("BACKUP_MAX_AGE_SECONDS", 26 * 3600, minimum=3600)
# The crypto-shredded owners, kept outside the backups and applied again at each restore.
# Unset: <data directory>/keys/shredded.jsonl (cordee/backups/shredlist.py).
BACKUP_SHRED_LIST_PATH = env_path("BACKUP_SHRED_LIST_FILE", Path()) if env_str("BACKUP_SHRED_LIST_FILE") else None

# --- care relationship (cordee.care) ------------------------------------------------------
BREAK_GLASS_MINUTES = env_int("BREAK_GLASS_MINUTES", 240, minimum=5, maximum=24 * 60)

# Act codes of a tele-expertise in the billing export (CCAM/NGAP codes change: configurable).
EXPERTISE_ACT_CODE_EXPERT = env_str("EXPERTISE_ACT_CODE_EXPERT", "TE2")
EXPERTISE_ACT_CODE_REQUESTER = env_str("EXPERTISE_ACT_CODE_REQUESTER", "RQD")

# --- drug database (cordee.drugs) ---------------------------------------------------------
# The import page offers the sub-directories of this one (one per downloaded BDPM snapshot or
# thesaurus extraction); ``manage.py import_bdpm DIR`` takes any directory.
DRUGS_IMPORT_DIR = env_path("DRUGS_IMPORT_DIR", DATA_DIR / "imports")
# Where the operator puts PubMed/MEDLINE files for the library's import page (cordee.library).
LIBRARY_IMPORT_DIR = env_path("LIBRARY_IMPORT_DIR", DATA_DIR / "pubmed")

# --- video calls (cordee.video, docs/decisions/0020-video.md) ------------------------------
# Media go between browsers (mesh) or through a TURN relay, never through Cordée. STUN/TURN URLs
# ("stun:turn.example.org:3478", "turns:turn.example.org:5349?transport=tcp"); the TURN secret is
# coturn's static-auth-secret (use-auth-secret): browsers get credentials that expire after
# VIDEO_TURN_TTL_SECONDS (TURN REST scheme), never the secret nor a static password.
VIDEO_STUN_URLS = env_list("VIDEO_STUN_URLS", [])
VIDEO_TURN_URLS = env_list("VIDEO_TURN_URLS", [])
VIDEO_TURN_SECRET = env_secret("VIDEO_TURN_SECRET")
if VIDEO_TURN_URLS and not VIDEO_TURN_SECRET:
    raise ImproperlyConfigured("VIDEO_TURN_URLS is set without VIDEO_TURN_SECRET (coturn's static-auth-secret)")
VIDEO_TURN_TTL_SECONDS = env_int("VIDEO_TURN_TTL_SECONDS", 600, minimum=60, maximum=24 * 3600)
# "relay" sends every call through TURN (hides the participants' addresses from each other).
VIDEO_ICE_TRANSPORT_POLICY = env_choice("VIDEO_ICE_TRANSPORT_POLICY", ("all", "relay"), "all")
VIDEO_MESH_MAX_PARTICIPANTS = env_int("VIDEO_MESH_MAX_PARTICIPANTS", 4, minimum=2, maximum=8)
VIDEO_MAX_SDP_BYTES = env_int("VIDEO_MAX_SDP_BYTES", 20_000, minimum=2_000, maximum=200_000)
VIDEO_CALL_START_RATE = env_str("VIDEO_CALL_START_RATE", "5/m,30/h")  # per user, every instance counted
# Beyond the mesh: an SFU (docs/decisions/0020-video.md). "janus": Debian's Janus with its VideoRoom
# plugin, which Cordée drives over its HTTP API (VIDEO_JANUS_URL, on the operator's network) and
# browsers reach over WebSocket (VIDEO_JANUS_WS_URL, behind the TLS proxy). The token secret is
# Janus's token_auth_secret (browsers get signed tokens that expire), the admin key its VideoRoom
# admin_key (only Cordée creates rooms). `manage.py janus_config DIR` writes Janus's configuration.
VIDEO_SFU = env_choice("VIDEO_SFU", ("none", "janus"), "none")
VIDEO_JANUS_URL = env_str("VIDEO_JANUS_URL", "http://127.0.0.1:8088/janus")
VIDEO_JANUS_WS_URL = env_str("VIDEO_JANUS_WS_URL", "")
VIDEO_JANUS_SECRET = env_secret("VIDEO_JANUS_SECRET")
VIDEO_JANUS_ADMIN_KEY = env_secret("VIDEO_JANUS_ADMIN_KEY")
if VIDEO_SFU == "janus" and not (VIDEO_JANUS_WS_URL and VIDEO_JANUS_SECRET and VIDEO_JANUS_ADMIN_KEY):
    raise ImproperlyConfigured("VIDEO_SFU=janus needs VIDEO_JANUS_WS_URL, VIDEO_JANUS_SECRET and VIDEO_JANUS_ADMIN_KEY")
VIDEO_JANUS_TOKEN_TTL_SECONDS = env_int("VIDEO_JANUS_TOKEN_TTL_SECONDS", 600, minimum=60, maximum=24 * 3600)
VIDEO_SFU_MAX_PARTICIPANTS = env_int("VIDEO_SFU_MAX_PARTICIPANTS", 12, minimum=3, maximum=50)
VIDEO_SFU_BITRATE = env_int("VIDEO_SFU_BITRATE", 512_000, minimum=64_000, maximum=4_000_000)  # per sender, bit/s

# --- notifications (cordee.web.push) -------------------------------------------------------
# Web Push with VAPID: the private key signs Cordée's requests to the browsers' push services.
# In DEBUG it is created on the first run; with DEBUG off and no key, push is simply off (the
# e-mail notices remain). Payloads never carry health data ("New secure message").
VAPID_PRIVATE_KEY_PATH = env_path("VAPID_PRIVATE_KEY_FILE", DATA_DIR / "keys" / "vapid-private.pem")
VAPID_CREATE_MISSING_KEY = DEBUG
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:securite@cordee.localhost")
# Cordée posts only to these push services (a suffix match on the endpoint's host, https only):
# a browser's subscription names the URL, which must not make the server call anything else.
PUSH_SERVICE_HOSTS = env_list(
    "PUSH_SERVICE_HOSTS",
    ["fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"],
)
PUSH_ALLOW_HTTP_LOOPBACK = env_bool("PUSH_ALLOW_HTTP_LOOPBACK", False)  # tests: a local push service
PUSH_MIN_INTERVAL_SECONDS = env_int("PUSH_MIN_INTERVAL_SECONDS", 60, minimum=0, maximum=3600)
# Where people report an accessibility problem (the accessibility statement, /accessibilite/).
ACCESSIBILITY_CONTACT = env_str("ACCESSIBILITY_CONTACT", "accessibilite@cordee.localhost")

# --- the patient's record (cordee.documents) ---------------------------------------------
# The largest document accepted (refused while streaming past it; docs/decisions/0011-…).
DOCUMENTS_MAX_BYTES = env_int("DOCUMENTS_MAX_BYTES", 30 * 1024 * 1024, minimum=1024)

# --- imaging (cordee.imaging) ---------------------------------------------------------
# One DICOM file at most this large (refused while reading past it); a ZIP (a patient's CD) is
# extracted within these limits: entries, total bytes once inflated, and inflation ratio per entry.
IMAGING_MAX_FILE_BYTES = env_int("IMAGING_MAX_FILE_BYTES", 200 * 1024 * 1024, minimum=1024)
IMAGING_ZIP_MAX_ENTRIES = env_int("IMAGING_ZIP_MAX_ENTRIES", 5000, minimum=1)
IMAGING_ZIP_MAX_TOTAL_BYTES = env_int("IMAGING_ZIP_MAX_TOTAL_BYTES", 2 * 1024 * 1024 * 1024, minimum=1024)
IMAGING_ZIP_MAX_RATIO = env_int("IMAGING_ZIP_MAX_RATIO", 100, minimum=2)
IMAGING_UPLOAD_CHUNK_BYTES = env_int(
    "IMAGING_UPLOAD_CHUNK_BYTES", 4 * 1024 * 1024, minimum=1024, maximum=64 * 1024 * 1024
)
# WADO-RS frames: a decrypted instance is kept in the process's memory for this many seconds, within
# this many bytes in all, so that scrolling a series or playing a multi-frame cine decrypts each
# instance once rather than once per frame (0 bytes: no cache; docs/decisions/0018-…).
IMAGING_DECRYPTED_CACHE_BYTES = env_int("IMAGING_DECRYPTED_CACHE_BYTES", 256 * 1024 * 1024, minimum=0)
IMAGING_DECRYPTED_CACHE_SECONDS = env_int("IMAGING_DECRYPTED_CACHE_SECONDS", 60, minimum=1, maximum=3600)
# An upload that received no chunk for this long is abandoned: the worker deletes its chunks (hourly).
IMAGING_UPLOAD_ABANDONED_HOURS = env_int("IMAGING_UPLOAD_ABANDONED_HOURS", 24, minimum=1)
# The C-STORE receiver (manage.py dicom_receiver): its AE title and port, and the calling AE titles
# it accepts, each as TITLE=structure id (the structure whose inbox receives what it sends).
DICOM_AE_TITLE = env_str("DICOM_AE_TITLE", "CORDEE")
DICOM_PORT = env_int("DICOM_PORT", 11112, minimum=1, maximum=65535)
DICOM_BIND_ADDRESS = env_str("DICOM_BIND_ADDRESS", "127.0.0.1")
DICOM_CALLING_AE_TITLES = env_list("DICOM_CALLING_AE_TITLES", [])

# --- messaging (cordee.messaging) ---------------------------------------------------------
MESSAGING_MAX_BODY_CHARS = env_int("MESSAGING_MAX_BODY_CHARS", 10_000, minimum=100, maximum=200_000)
MESSAGING_ATTACHMENT_MAX_BYTES = env_int("MESSAGING_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)
MESSAGING_EDIT_WINDOW_SECONDS = env_int("MESSAGING_EDIT_WINDOW_SECONDS", 15 * 60, minimum=0, maximum=24 * 3600)
# An e-mail says a secure message waits at most once per this many minutes, if still unread.
MESSAGING_EMAIL_DELAY_MINUTES = env_int("MESSAGING_EMAIL_DELAY_MINUTES", 15, minimum=1, maximum=24 * 60)
# The most socket sends committed in one transaction (group commit, cordee/messaging/batcher.py).
MESSAGING_SEND_BATCH_MAX = env_int("MESSAGING_SEND_BATCH_MAX", 64, minimum=1, maximum=1000)
# The channel layer of "storage" above, as messaging needs it. What it carries through Redis
# (message bodies included) is encrypted with CHANNEL_LAYER_KEY (Fernet; by default derived from
# SECRET_KEY; the same on every process). With Redis, the layer uses Redis publish/subscribe (one
# PUBLISH per event, fanned out in each process, bounded per socket: cordee/messaging/layers.py);
# CHANNEL_LAYER_REDIS=core picks channels-redis' core layer (a Redis list per socket). Without
# Redis, the layer is Channels' in-memory one without its per-event sweep over every socket
# (cordee/messaging/layers.py); CHANNEL_LAYER_LOCAL=channels picks Channels' own, unchanged. A
# socket may lag CHANNEL_LAYER_CAPACITY events behind before the layer drops any (the client then
# catches up by number).
CHANNEL_LAYER_KEY = env_secret("CHANNEL_LAYER_KEY") or SECRET_KEY
CHANNEL_LAYER_CAPACITY = env_int("CHANNEL_LAYER_CAPACITY", 1000, minimum=100)
if REDIS_URL and env_choice("CHANNEL_LAYER_REDIS", ("core", "pubsub"), "pubsub") == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "cordee.messaging.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "symmetric_encryption_keys": [CHANNEL_LAYER_KEY],
                "capacity": CHANNEL_LAYER_CAPACITY,
                "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            },
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "symmetric_encryption_keys": [CHANNEL_LAYER_KEY],
                "capacity": CHANNEL_LAYER_CAPACITY,
                "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            },
        }
    }
else:
    _LOCAL_LAYERS = {
        "channels": "channels.layers.InMemoryChannelLayer",
        "cordee": "cordee.messaging.layers.LocalChannelLayer",
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _LOCAL_LAYERS[env_choice("CHANNEL_LAYER_LOCAL", tuple(_LOCAL_LAYERS), "cordee")],
            "CONFIG": {"capacity": CHANNEL_LAYER_CAPACITY},
        }
    }

# --- authentication ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "cordee.accounts.backends.ModelBackend",  # Django's and allauth's, the user read by kept SQL
    "cordee.accounts.backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",  # Argon2id
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "cordee.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "cordee.accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "cordee.accounts.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = env_choice("ACCOUNT_EMAIL_VERIFICATION", ("mandatory", "optional", "none"), "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("SUDO_MODE_SECONDS", 300, minimum=30, maximum=3600)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Cordée] "
ACCOUNT_PREVENT_ENUMERATION = True

MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Cordée"
MFA_TOTP_TOLERANCE = 1  # accept the previous and next 30-s code (clock drift); each code works once
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_RECOVERY_CODE_COUNT = 10

# allauth would write the user-session row on every request: Cordée's idle-timeout middleware
# refreshes it at most once a minute (cordee/accounts/middleware.py), reads stay read-only.
USERSESSIONS_TRACK_ACTIVITY = False

# Login lockout, kept in the database (cordee.accounts.lockout).
LOGIN_LOCKOUT_THRESHOLD = env_int("LOGIN_LOCKOUT_THRESHOLD", 5, minimum=2, maximum=100)
LOGIN_LOCKOUT_WINDOW_SECONDS = env_int("LOGIN_LOCKOUT_WINDOW_SECONDS", 900, minimum=60)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=60)
LOGIN_IP_THROTTLE = env_int("LOGIN_IP_THROTTLE", 30, minimum=5)  # failures per window from one address

# Intrusion detection over the audit trail (cordee/security/detection.py, docs/security.md):
# each rule's threshold (how many in its window) and window in seconds.
DETECT_FAILED_LOGINS_ACCOUNT = env_int("DETECT_FAILED_LOGINS_ACCOUNT", 10, minimum=2)
DETECT_FAILED_LOGINS_ADDRESS = env_int("DETECT_FAILED_LOGINS_ADDRESS", 20, minimum=2)
DETECT_FAILED_LOGINS_WINDOW = env_int("DETECT_FAILED_LOGINS_WINDOW", 15 * 60, minimum=60)
DETECT_SPRAYING_ACCOUNTS = env_int("DETECT_SPRAYING_ACCOUNTS", 8, minimum=2)  # distinct accounts from one address
DETECT_SPRAYING_WINDOW = env_int("DETECT_SPRAYING_WINDOW", 3600, minimum=60)
DETECT_NEW_ADDRESS_HISTORY_DAYS = env_int("DETECT_NEW_ADDRESS_HISTORY_DAYS", 90, minimum=1)
DETECT_MASS_PATIENTS = env_int("DETECT_MASS_PATIENTS", 40, minimum=2)  # distinct patients opened by one user
DETECT_MASS_WINDOW = env_int("DETECT_MASS_WINDOW", 30 * 60, minimum=60)
DETECT_BULK_DOWNLOADS = env_int("DETECT_BULK_DOWNLOADS", 30, minimum=2)
DETECT_BULK_WINDOW = env_int("DETECT_BULK_WINDOW", 15 * 60, minimum=60)
DETECT_BREAK_GLASS = env_int("DETECT_BREAK_GLASS", 3, minimum=1)  # emergency accesses by one user
DETECT_BREAK_GLASS_WINDOW = env_int("DETECT_BREAK_GLASS_WINDOW", 7 * 24 * 3600, minimum=3600)
DETECT_EVERY_SECONDS = env_int("DETECT_EVERY_SECONDS", 60, minimum=5)  # the worker's detection job
DETECT_LOCK_HOURS = env_int("DETECT_LOCK_HOURS", 24, minimum=1)  # an account locked from an alert
# Sign-ins at hours unusual for the account: its sign-in hours over the history, once it has enough.
DETECT_HOURS_HISTORY_DAYS = env_int("DETECT_HOURS_HISTORY_DAYS", 60, minimum=7)
DETECT_HOURS_MIN_SIGNINS = env_int("DETECT_HOURS_MIN_SIGNINS", 10, minimum=3)  # fewer: no profile, no alert
DETECT_HOURS_MARGIN = env_int("DETECT_HOURS_MARGIN", 1, minimum=0, maximum=6)  # hours either side of a known one
# One account active from two distant networks at once (alternating within the window).
DETECT_TWO_PLACES_WINDOW = env_int("DETECT_TWO_PLACES_WINDOW", 10 * 60, minimum=60)
DETECT_TWO_PLACES_SWITCHES = env_int("DETECT_TWO_PLACES_SWITCHES", 2, minimum=1)  # network changes in the window
DETECT_PREFIX_V4 = env_int("DETECT_PREFIX_V4", 16, minimum=8, maximum=32)  # same prefix: the same network
DETECT_PREFIX_V6 = env_int("DETECT_PREFIX_V6", 32, minimum=16, maximum=128)
# An optional "network,country" CSV (no GeoIP database is shipped): countries for the two rules above.
DETECT_COUNTRY_DATABASE = env_str("DETECT_COUNTRY_DATABASE", "")
# Imports of unusual size: rows more than FACTOR times (or less than 1/FACTOR) the median of the last ones.
DETECT_IMPORT_FACTOR = env_int("DETECT_IMPORT_FACTOR", 3, minimum=2)
DETECT_IMPORT_MIN_HISTORY = env_int("DETECT_IMPORT_MIN_HISTORY", 3, minimum=1)
DETECT_IMPORT_HISTORY = env_int("DETECT_IMPORT_HISTORY", 10, minimum=1)
DETECT_AUDIT_VERIFY = env_bool("DETECT_AUDIT_VERIFY", True)  # the detection job verifies the unsealed tail
# Automatic responses: lock an account under brute force; end the sessions of an account seen in two places.
DETECT_AUTO_LOCK = env_bool("DETECT_AUTO_LOCK", True)
DETECT_AUTO_REVOKE = env_bool("DETECT_AUTO_REVOKE", True)

# Sessions end after this long without activity, and in any case after SESSION_MAX_AGE.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60, minimum=60)
SESSION_COOKIE_AGE = env_int("SESSION_MAX_AGE_SECONDS", 12 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "cordee_session"
CSRF_COOKIE_NAME = "cordee_csrf"

ANNUAIRE_UPLOAD_MAX_BYTES = env_int("ANNUAIRE_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
INVITATION_VALIDITY_DAYS = env_int("INVITATION_VALIDITY_DAYS", 7, minimum=1, maximum=60)

# Pro Santé Connect (OpenID Connect), see docs/pro-sante-connect.md. Unset: no PSC button.
# PSC_SERVER_URL is the issuer (discovery at <url>/.well-known/openid-configuration) or, when the
# discovery document lives elsewhere, its full URL (any URL containing "/.well-known/").
PSC_SERVER_URL = env_str("PSC_SERVER_URL").rstrip("/")
PSC_CLIENT_ID = env_str("PSC_CLIENT_ID")
PSC_CLIENT_SECRET = env_secret("PSC_CLIENT_SECRET")
PSC_SCOPES = env_list("PSC_SCOPES", ["openid", "scope_all"])
PSC_ACR_VALUES = env_str("PSC_ACR_VALUES", "eidas1")  # PSC refuses an authorization request without it
PSC_TOKEN_AUTH_METHOD = env_choice(
    "PSC_TOKEN_AUTH_METHOD", ("client_secret_post", "client_secret_basic"), "client_secret_post"
)
if PSC_SERVER_URL and not (PSC_CLIENT_ID and PSC_CLIENT_SECRET):
    raise ImproperlyConfigured("PSC_SERVER_URL is set: PSC_CLIENT_ID and PSC_CLIENT_SECRET (or _FILE) are required")
if PSC_SERVER_URL and not DEBUG and not PSC_SERVER_URL.startswith("https://"):
    raise ImproperlyConfigured("PSC_SERVER_URL must be an https:// URL")
# Chromium applies CSP form-action to the redirect after the PSC button's form post, and PSC's
# authorization endpoint (wallet.esante.gouv.fr) is not on the issuer's host (auth.esante.gouv.fr).
_psc_host = PSC_SERVER_URL.split("/")[2] if PSC_SERVER_URL.count("/") >= 2 else ""
PSC_FORM_ACTION_ORIGINS = env_list(
    "PSC_FORM_ACTION_ORIGINS",
    ([f"{PSC_SERVER_URL.split('/')[0]}//{_psc_host}"] if _psc_host else [])
    + (["https://*.esante.gouv.fr"] if _psc_host.endswith(".esante.gouv.fr") else []),
)
# How Cordée talks to PSC, whatever the server (tests point the same settings at a local provider).
PSC_APP_SETTINGS: dict = {
    "scope": PSC_SCOPES,
    "auth_params": {"acr_values": PSC_ACR_VALUES} if PSC_ACR_VALUES else {},
    "token_auth_method": PSC_TOKEN_AUTH_METHOD,
    "oauth_pkce_enabled": True,
    "fetch_userinfo": True,  # SubjectRefPro (the professions) is only in userinfo
}
SOCIALACCOUNT_PROVIDERS: dict = {"openid_connect": {"APPS": [], "OAUTH_PKCE_ENABLED": True}}
if PSC_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"].append(
        {
            "provider_id": "psc",
            "name": "Pro Santé Connect",
            "client_id": PSC_CLIENT_ID,
            "secret": PSC_CLIENT_SECRET,
            "settings": {"server_url": PSC_SERVER_URL, **PSC_APP_SETTINGS},
        }
    )
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False

# --- HTTP security -----------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
if env_bool("BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# HSTS is only sent on HTTPS responses (Django's SecurityMiddleware checks request.is_secure()).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
# Browser features no page uses are switched off for every page (cordee.web.middleware); WebAuthn
# (passkeys) stays allowed for Cordée's own origin.
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "publickey-credentials-create=(self), publickey-credentials-get=(self)",
)
# The largest request body accepted, refused (413) before it is read (cordee/lib/asgi.py): the
# largest upload a module takes, plus room for the rest of the request.
REQUEST_MAX_BYTES = env_int(
    "REQUEST_MAX_BYTES",
    max(MESSAGING_ATTACHMENT_MAX_BYTES, ANNUAIRE_UPLOAD_MAX_BYTES, DOCUMENTS_MAX_BYTES, IMAGING_UPLOAD_CHUNK_BYTES)
    + 1024 * 1024,
    minimum=64 * 1024,
)
# Requests per user (per address when anonymous) to the JSON API, in fixed windows: "N/s", "N/m",
# "N/h", comma-separated; "" switches the limits off (benchmarks only).
API_RATE_LIMITS = env_str("API_RATE_LIMITS", "20/s,600/m")
if not re.fullmatch(r"(\s*[1-9]\d*/[smh]\s*)(,\s*[1-9]\d*/[smh]\s*)*|\s*", API_RATE_LIMITS):
    raise ImproperlyConfigured(f"API_RATE_LIMITS={API_RATE_LIMITS!r}: expected e.g. 20/s,600/m (or empty)")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "cordee.web.errors.csrf_failure"  # in the user's language, inside the shell

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        # Chromium applies form-action to the redirect that follows a form post: the
        # Pro Santé Connect login form redirects to the provider.
        "form-action": [SELF, *PSC_FORM_ACTION_ORIGINS],
        "frame-ancestors": [NONE],
    }
}

# --- i18n --------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "cordee" / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True

# --- e-mail ------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cordée <no-reply@cordee.localhost>")

# --- logging: never health data, so never request bodies or query strings --------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


def _refuse_insecure_production() -> None:
    problems = []
    if SECRET_KEY in INSECURE_SECRET_KEYS or SECRET_KEY.startswith("django-insecure"):
        problems.append("SECRET_KEY (or SECRET_KEY_FILE) is missing or a known default")
    elif len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY is shorter than 32 characters")
    if not SESSION_COOKIE_SECURE:
        problems.append("SESSION_COOKIE_SECURE is off: session cookies would travel over plain HTTP")
    if not CSRF_COOKIE_SECURE:
        problems.append("CSRF_COOKIE_SECURE is off")
    if problems:
        raise ImproperlyConfigured(
            "Cordée refuses to start with DEBUG off: " + "; ".join(problems) + ". See README, Configuration."
        )


if not DEBUG:
    _refuse_insecure_production()
