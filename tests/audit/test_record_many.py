"""Appending a batch of entries at once (the socket's group commit of messages audits this way)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cordee.audit import services
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.verify import verify_chain

from .conftest import make_entries

pytestmark = pytest.mark.django_db


def _entries(count: int, offset: int = 0) -> list[dict]:
    return [
        {
            "action": "test.batch",
            "target_type": "test",
            "target_id": offset + number,
            "patient_id": 2000 + number,
            "category": AuditEntry.Category.ACCESS,
            "details": {"n": offset + number},
        }
        for number in range(count)
    ]


def test_a_batch_joins_the_chain_in_order_and_verifies():
    make_entries(2)
    assert services.record_many(_entries(5)) == 5
    make_entries(1)  # a single append after the batch links to its last entry
    rows = list(AuditEntry.objects.order_by("seq").values_list("seq", "target_id", "prev_hash", "entry_hash"))
    assert [seq for seq, *_ in rows] == list(range(1, 9))
    assert [target for _, target, *_ in rows[2:7]] == ["0", "1", "2", "3", "4"]
    for (_, _, _, previous), (_, _, prev_hash, _) in zip(rows, rows[1:], strict=False):
        assert prev_hash == previous
    result = verify_chain()
    assert result.ok, result.problems


def test_a_batch_costs_the_same_statements_whatever_its_size():
    make_entries(1)
    counts = []
    for size in (2, 40):
        with CaptureQueriesContext(connection) as ctx:
            services.record_many(_entries(size))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert AuditEntry.objects.count() == 43


def test_a_batch_crossing_the_checkpoint_interval_enqueues_one_checkpoint(settings, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_EVERY = 4
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.record_many(_entries(3))  # entries 1-3: no multiple of 4 reached
    assert callbacks == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.record_many(_entries(6, offset=3))  # entries 4-9 reach 4 and 8: one checkpoint of the head
    assert len(callbacks) == 1
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [9]


def test_nothing_to_append_writes_nothing():
    with CaptureQueriesContext(connection) as ctx:
        assert services.record_many([]) == 0
    assert ctx.captured_queries == []


def test_a_batch_of_several_actors_and_addresses_records_each_its_own(rf, personas):
    """The batch works out each actor's display copy and each request's address once (a memo by
    object): entries of different people and sockets must still each carry their own, as
    ``record`` would have written them one by one."""
    alice, bob = personas["alice"], personas["bob"]
    from_alice = rf.get("/", REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Firefox")
    from_bob = rf.get("/", REMOTE_ADDR="2001:db8::0:1", HTTP_USER_AGENT="Safari")
    order = [(alice, from_alice), (bob, from_bob), (alice, from_alice), (bob, None), (None, from_bob)]
    services.record_many([{"action": "test.batch", "actor": a, "request": r} for a, r in order])
    one_by_one = [services.entry_values("test.batch", actor=a, request=r) for a, r in order]
    batch = AuditEntry.objects.filter(action="test.batch").order_by("seq")
    rows = list(batch.values("actor_id", "actor_display", "ip", "user_agent"))
    assert [(row["ip"], row["user_agent"]) for row in rows] == [
        ("192.0.2.10", "Firefox"),
        ("2001:db8::1", "Safari"),
        ("192.0.2.10", "Firefox"),
        (None, ""),
        ("2001:db8::1", "Safari"),
    ]
    assert [row["actor_display"] for row in rows] == [values["actor_display"] for values in one_by_one]
    assert rows[0]["actor_display"]["name"] != rows[1]["actor_display"]["name"]
    assert [row["actor_id"] for row in rows] == [alice.pk, bob.pk, alice.pk, bob.pk, None]
    assert verify_chain().ok
