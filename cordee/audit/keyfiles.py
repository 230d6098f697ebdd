"""Key files kept outside the database: created once, never overwritten, announced loudly.

Both audit keys (the Ed25519 key signing checkpoints, ``signing.py``, and the HMAC key of the
entries, ``mac.py``) live in files of their own, mode 0600, in a directory of mode 0700. In DEBUG
a missing key is created on the first run with a banner on standard error; with DEBUG off a
missing key stops the start-up (``AuditConfig.ready``). Only a rotation of the signing key
(``keyring.py``) replaces files, and then atomically (``replace``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger("cordee.audit")


def write_new(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file at ``path`` (mode 0600); False if the file exists (never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return True


def replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (mode 0600): a reader sees the old file or the new one,
    never half of either, and a crash leaves at most a stray temporary file beside it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def announce_created(path: Path, what: str, lines: list[str]) -> None:
    """The DEBUG banner saying that a new key was made (and what production does instead)."""
    banner = "!" * 100
    body = "".join(f"!!! {line}\n" for line in lines)
    sys.stderr.write(f"\n{banner}\n!!! Cordée (DEBUG) created a NEW {what}: {path}\n{body}{banner}\n\n")
    logger.warning("DEBUG: created a NEW %s at %s", what, path)
