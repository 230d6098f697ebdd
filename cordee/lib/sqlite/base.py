"""Django's SQLite backend, with the writing transactions of one process queued on a lock.

SQLite lets one writer at a time in. Cordée's transactions begin ``IMMEDIATE`` (settings), so a
second writer waits at ``BEGIN`` — in SQLite's busy handler, which sleeps and retries with
growing pauses (up to 100 ms each): under concurrent writes (several requests posting at once)
the last in line waited hundreds of milliseconds after the lock was free (bench/http: a JSON POST
at p99 7 to 54 times its p50). Here the threads of the process wait on a ``threading.Lock`` taken
before ``BEGIN IMMEDIATE`` and released at commit or rollback: the next writer starts as soon as
the last one commits. Other processes (the worker, commands) still meet SQLite's own lock, and
the wait is bounded by the same timeout ("database is locked", as SQLite answers).
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _writer_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer: threading.Lock | None = None  # held while this connection's transaction runs

    def _start_transaction_under_autocommit(self) -> None:
        if getattr(self, "transaction_mode", None) != "IMMEDIATE":  # a deferred BEGIN takes no lock until it writes
            return super()._start_transaction_under_autocommit()  # type: ignore[misc]  # Django's private hook, absent from django-stubs
        lock = _writer_lock(str(self.settings_dict["NAME"]))
        if not lock.acquire(timeout=float(self.settings_dict["OPTIONS"].get("timeout", 5))):
            raise OperationalError("database is locked")
        self._writer = lock
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # Django's private hook, absent from django-stubs
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        lock, self._writer = self._writer, None
        if lock is not None:
            lock.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # Django's private hook, absent from django-stubs
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # Django's private hook, absent from django-stubs
        finally:
            self._release_writer()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # Django's private hook, absent from django-stubs
        finally:
            self._release_writer()
