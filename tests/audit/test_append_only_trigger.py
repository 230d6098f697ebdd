"""PostgreSQL: UPDATE and DELETE on the audit tables are refused by triggers; the purge has one narrow door."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from cordee.audit import checkpoints, retention
from cordee.audit.models import AuditEntry

from .conftest import TABLE, make_entries, sql

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("this run uses SQLite: the PostgreSQL run (DATABASE_URL, as in CI) tests the trigger")


def _refused(statement: str, params: list | None = None) -> None:
    with pytest.raises(DatabaseError, match="the audit trail is append-only"), transaction.atomic():
        sql(statement, params)


def test_a_raw_update_is_refused():
    make_entries(3)
    _refused(f"UPDATE {TABLE} SET action = 'forged' WHERE seq = 2")  # noqa: S608
    _refused(f"UPDATE {TABLE} SET seq = seq + 100")  # noqa: S608
    assert AuditEntry.objects.get(seq=2).action == "test.entry1"


def test_a_raw_delete_is_refused():
    make_entries(3)
    _refused(f"DELETE FROM {TABLE} WHERE seq = 2")  # noqa: S608
    _refused(f"DELETE FROM {TABLE}")  # noqa: S608
    assert AuditEntry.objects.count() == 3


def test_the_orm_cannot_change_entries_either():
    (entry,) = make_entries(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.delete()


def test_the_purge_door_only_blanks_content_and_deletes_tombstones():
    make_entries(3)
    with transaction.atomic():
        sql("SELECT set_config('cordee.audit_purge', 'on', true)")
        # Even with the door open: no edit of content, no change of a hash, no delete of a live entry.
        _refused(f"UPDATE {TABLE} SET action = 'forged' WHERE seq = 1")  # noqa: S608
        _refused(f"UPDATE {TABLE} SET purged_at = now(), entry_hash = 'x' WHERE seq = 1")  # noqa: S608
        _refused(f"DELETE FROM {TABLE} WHERE seq = 1")  # noqa: S608
        blank = ", ".join(f"{name} = %s" for name in retention.BLANK_CONTENT)
        params = [value if not isinstance(value, dict) else "{}" for value in retention.BLANK_CONTENT.values()]
        _refused(f"UPDATE {TABLE} SET purged_at = now(), mac = 'x', {blank} WHERE seq = 1", params)  # noqa: S608
        sql(f"UPDATE {TABLE} SET purged_at = now(), {blank} WHERE seq = 1", params)  # noqa: S608
        sql(f"DELETE FROM {TABLE} WHERE seq = 1")  # noqa: S608
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == [2, 3]
    # The door closes with the transaction.
    _refused(f"DELETE FROM {TABLE} WHERE seq = 2")  # noqa: S608


def test_checkpoints_and_purge_records_are_append_only():
    make_entries(2)
    checkpoint = checkpoints.make_checkpoint()
    _refused("UPDATE audit_auditcheckpoint SET entry_hash = 'x' WHERE id = %s", [checkpoint.pk])
    _refused("DELETE FROM audit_auditcheckpoint")
    purge = retention.purge()
    _refused("UPDATE audit_auditpurge SET anchor_seq = 99 WHERE id = %s", [purge.pk])
    _refused("DELETE FROM audit_auditpurge")
