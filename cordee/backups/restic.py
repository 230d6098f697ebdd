"""restic, the tool that encrypts, authenticates and deduplicates the backups (docs/decisions).

Cordée never writes a backup format of its own: ``restic`` (Debian package) encrypts with
AES-256-CTR + Poly1305-AES under a key derived (scrypt) from the repository password, and checks
every pack it reads. This module runs the binary with the repository and password taken from the
settings (``BACKUP_REPOSITORY``: a local path, ``sftp:host:/path``, ``s3:https://host/bucket``;
``BACKUP_PASSWORD`` or ``BACKUP_PASSWORD_FILE``) and turns its failures into ``ResticError`` with a
message an operator can act on. The password goes to restic through an environment
variable, never on the command line (visible in ``ps``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # noqa: S404  (runs the restic binary with argument lists, never a shell)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings


class ResticError(Exception):
    """A restic run failed; the message says what to do."""


_HINTS = (
    ("wrong password or no key found", "The backup repository password is wrong (BACKUP_PASSWORD)."),
    ("ciphertext verification failed", "The backup repository is corrupted: authentication of its data failed."),
    (
        "unable to open config file",
        "There is no backup repository there (BACKUP_REPOSITORY); run backup once to create it.",
    ),
    ("Is there a repository at the following location", "There is no backup repository there (BACKUP_REPOSITORY)."),
    ("no space left on device", "The disk is full: the backup could not be written."),
    ("hash does not match", "The backup repository is corrupted: a file's hash does not match its name."),
    ("invalid data returned", "The backup repository is corrupted: a pack does not match its hash."),
    ("unexpected EOF", "The backup repository is corrupted: a file is truncated."),
    ("decrypting blob", "The backup repository is corrupted: a block does not decrypt."),
)


def explain(stderr: str) -> str:
    for needle, message in _HINTS:
        if needle.lower() in stderr.lower():
            return message
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return "restic failed: " + (lines[-1] if lines else "no message")


def binary() -> str:
    found = shutil.which("restic")
    if found is None:
        raise ResticError("restic is not installed (apt-get install restic; make backup-tools)")
    return found


@dataclass
class Repository:
    location: str
    password: str
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def configured(cls, location: str | None = None, password: str | None = None) -> Repository:
        location = location or settings.BACKUP_REPOSITORY
        password = password if password is not None else settings.BACKUP_PASSWORD
        if not location:
            raise ResticError("No backup repository is configured (BACKUP_REPOSITORY).")
        if not password:
            raise ResticError("No backup repository password is configured (BACKUP_PASSWORD or BACKUP_PASSWORD_FILE).")
        extra = {}
        if settings.BACKUP_S3_ACCESS_KEY:
            extra["AWS_ACCESS_KEY_ID"] = settings.BACKUP_S3_ACCESS_KEY
            extra["AWS_SECRET_ACCESS_KEY"] = settings.BACKUP_S3_SECRET_KEY
        return cls(location, password, extra)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_"))}
        env.update(self.extra_env)
        env["RESTIC_REPOSITORY"] = self.location
        env["RESTIC_PASSWORD"] = self.password
        env.setdefault("RESTIC_CACHE_DIR", str(Path(settings.BACKUP_CACHE_DIR)))
        return env

    def run(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [binary(), *args]
        result = subprocess.run(  # noqa: S603  (fixed binary, argument list)
            command, cwd=cwd, env=self._env(), capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise ResticError(explain(result.stderr))
        return result

    def popen(self, *args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603
            [binary(), *args], cwd=cwd, env=self._env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    @property
    def local_path(self) -> Path | None:
        """The directory of a local repository (no ``backend:`` prefix), else None."""
        if ":" in self.location.split("/", 1)[0]:
            return None
        return Path(self.location)

    def exists(self) -> bool:
        if self.local_path is not None:  # no restic run (each derives the key with scrypt: ~0.5 s)
            return (self.local_path / "config").exists()
        result = self.run("cat", "config", check=False)
        if result.returncode == 0:
            return True
        message = explain(result.stderr)
        if "no backup repository there" in message:
            return False
        raise ResticError(message)

    def init_if_needed(self) -> bool:
        if self.exists():
            return False
        self.run("init")
        return True

    def backup(self, paths: list[str], *, cwd: Path, tags: list[str]) -> dict[str, Any]:
        """Back up ``paths`` (relative to ``cwd``: they become the top of the snapshot's tree)."""
        # A run killed mid-way leaves a stale lock: backups take non-exclusive locks, so the next one
        # proceeds (and restic removes stale locks of dead processes of this host by itself).
        tag_args = [arg for tag in tags for arg in ("--tag", tag)]
        compression = ("--compression", settings.BACKUP_COMPRESSION)  # off: the blobs are ciphertext
        result = self.run("backup", "--json", "--quiet", *compression, *tag_args, *paths, cwd=cwd)
        summary = {}
        for line in result.stdout.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("message_type") == "summary":
                summary = message
        if not summary.get("snapshot_id"):
            raise ResticError("restic did not report a snapshot")
        return summary

    def snapshots(self, tag: str | None = None) -> list[dict[str, Any]]:
        args = ["snapshots", "--no-lock", "--json"] + (["--tag", tag] if tag else [])
        return json.loads(self.run(*args).stdout or "[]")

    def restore(self, snapshot: str, target: Path, include: list[str] | None = None) -> None:
        args = ["restore", snapshot, "--target", str(target)]
        for path in include or []:
            args += ["--include", path]
        self.run(*args)

    def dump(self, snapshot: str, path: str) -> bytes:
        result = subprocess.run(  # noqa: S603
            [binary(), "dump", snapshot, path], env=self._env(), capture_output=True, check=False
        )
        if result.returncode != 0:
            raise ResticError(explain(result.stderr.decode(errors="replace")))
        return result.stdout

    def check(self, *, read_data: bool = False) -> None:
        self.run("unlock")  # check locks exclusively: first remove the stale locks of runs that were killed
        self.run("check", *(["--read-data"] if read_data else []))

    def forget(self, *, daily: int, weekly: int, monthly: int, prune: bool = True) -> str:
        args = ["forget", "--keep-daily", str(daily), "--keep-weekly", str(weekly), "--keep-monthly", str(monthly)]
        return self.run(*args, *(["--prune"] if prune else [])).stdout
