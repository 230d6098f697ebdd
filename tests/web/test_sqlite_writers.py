"""SQLite's writers of one process wait on a lock taken before ``BEGIN IMMEDIATE`` (cordee.lib.sqlite),
not in SQLite's busy handler, which slept up to 100 ms at a time after the lock was free."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from cordee.lib.sqlite.base import _writer_lock
from tests.conftest import sqlite_run_only


def _lock():
    return _writer_lock(str(connection.settings_dict["NAME"]))


def _in_thread(work):
    """Run ``work`` in a thread of its own (its own connection, as a request thread has)."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work()
        except Exception as exc:  # noqa: BLE001 -- the test reads it
            outcome["error"] = exc
        finally:
            from django.db import connections

            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_on_the_lock_and_starts_when_the_first_commits():
    sqlite_run_only("the writers' lock of the SQLite backend")
    from cordee.accounts.models import Structure

    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first():
        with transaction.atomic():
            Structure.objects.create(name="Première")
            inside.set()
            release.wait(10)
            order.append("first commits")

    def second():
        with transaction.atomic():
            order.append("second begins")
            Structure.objects.create(name="Seconde")

    one, one_outcome = _in_thread(first)
    assert inside.wait(10)
    assert _lock().locked()  # held by the first transaction
    two, two_outcome = _in_thread(second)
    two.join(0.3)
    assert two.is_alive() and order == []  # waiting at BEGIN, on the lock
    release.set()
    one.join(10)
    two.join(10)
    assert "error" not in one_outcome and "error" not in two_outcome
    assert order == ["first commits", "second begins"]
    assert not _lock().locked()
    assert set(Structure.objects.filter(name__in=["Première", "Seconde"]).values_list("name", flat=True)) == {
        "Première",
        "Seconde",
    }


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_given_back_on_rollback_and_a_wait_is_bounded():
    sqlite_run_only("the writers' lock of the SQLite backend")
    from cordee.accounts.models import Structure

    with pytest.raises(ValueError), transaction.atomic():
        Structure.objects.create(name="Annulée")
        raise ValueError("rolled back")
    assert not _lock().locked() and not Structure.objects.filter(name="Annulée").exists()

    inside, release = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            inside.set()
            release.wait(10)

    held, _ = _in_thread(holder)
    assert inside.wait(10)
    timeout = connection.settings_dict["OPTIONS"].get("timeout")
    connection.settings_dict["OPTIONS"]["timeout"] = 0.2
    try:
        waiter, outcome = _in_thread(lambda: transaction.atomic().__enter__())
        waiter.join(10)
    finally:
        connection.settings_dict["OPTIONS"]["timeout"] = timeout
        release.set()
        held.join(10)
    assert isinstance(outcome.get("error"), OperationalError) and "locked" in str(outcome["error"])
    assert not _lock().locked()
