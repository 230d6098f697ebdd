"""Retention purge: each category after its own period, the chain still verifiable, the purge audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from cordee.audit import checkpoints, retention
from cordee.audit.models import AuditEntry, AuditPurge
from cordee.audit.tasks import purge_expired_entries
from cordee.audit.verify import verify_chain

from .conftest import TABLE, attacker, make_entries, sql

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 6, 1, 12, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)


@pytest.fixture
def history(settings):
    """#1–#4 four years old, #5–#8 two years old, #9–#10 a day old; odd seqs security, even access."""
    settings.AUDIT_SECURITY_RETENTION_DAYS = 365
    settings.AUDIT_ACCESS_RETENTION_DAYS = 3 * 365
    make_entries(4, start=NOW - 4 * YEAR)
    checkpoints.make_checkpoint()  # seals #4, which the purge deletes
    make_entries(4, start=NOW - 2 * YEAR)
    checkpoints.make_checkpoint()  # seals #8
    make_entries(2, start=NOW - dt.timedelta(days=1))


def test_each_category_is_purged_after_its_own_period_and_the_chain_still_verifies(history):
    purge = retention.purge(now=NOW)
    # Four-year-old entries and two-year-old security entries expire; two-year-old access stays.
    assert purge.tombstoned == 6
    # #1–#5 are then all tombstones: deleted, the chain restarts after #5.
    assert (purge.deleted, purge.anchor_seq, purge.up_to_seq) == (5, 5, 10)
    assert list(AuditEntry.objects.values_list("seq", "category", "purged_at")) == [
        (6, "access", None),
        (7, "security", NOW),
        (8, "access", None),
        (9, "security", None),
        (10, "access", None),
        (11, "security", None),  # the purge's own entry
    ]
    tombstone = AuditEntry.objects.get(seq=7)
    assert (tombstone.action, tombstone.target_id, tombstone.details, tombstone.actor_display) == ("", "", {}, {})
    assert tombstone.content_hash and tombstone.entry_hash
    result = verify_chain()
    assert result.ok, result.problems
    assert (result.entries, result.tombstones, result.first_seq, result.purges, result.checkpoints) == (6, 1, 6, 1, 2)


def test_the_purge_is_audited(history):
    purge = retention.purge(now=NOW)
    entry = AuditEntry.objects.get(action="audit.purged")
    assert (entry.category, entry.target_type, entry.target_id) == ("security", "audit.auditpurge", str(purge.pk))
    assert entry.details == {
        "tombstoned": 6,
        "deleted": 5,
        "up_to_seq": 10,
        "anchor_seq": 5,
        "security_cutoff": (NOW - YEAR).isoformat(timespec="microseconds"),
        "access_cutoff": (NOW - 3 * YEAR).isoformat(timespec="microseconds"),
    }


def test_a_remaining_entry_tampered_after_the_purge_is_detected(history):
    retention.purge(now=NOW)
    with attacker():
        sql(f"UPDATE {TABLE} SET purpose = 'forged' WHERE seq = 8")  # noqa: S608
    problem = verify_chain().first_problem
    assert (problem.kind, problem.seq) == ("altered", 8)


def test_a_tombstone_edited_after_the_purge_is_detected(history):
    retention.purge(now=NOW)
    with attacker():
        sql(f"UPDATE {TABLE} SET category = 'access' WHERE seq = 7")  # noqa: S608
    problem = verify_chain().first_problem
    assert (problem.kind, problem.seq) == ("altered", 7)


def test_content_blanked_outside_a_purge_is_detected(history):
    retention.purge(now=NOW)
    with attacker():  # hide entry #9 (a day old) as if it had expired
        sql(f"UPDATE {TABLE} SET action = '', details = '{{}}', purged_at = created_at WHERE seq = 9")  # noqa: S608
    result = verify_chain()
    assert [(p.kind, p.seq, p.message) for p in result.problems] == [
        ("altered", 9, "entry #9 had its content removed outside any signed purge")
    ]


def test_entries_deleted_past_the_anchor_are_detected(history):
    retention.purge(now=NOW)
    with attacker():
        sql(f"DELETE FROM {TABLE} WHERE seq = 6")  # noqa: S608
    problem = verify_chain().first_problem
    assert (problem.kind, problem.seq, problem.message) == ("removed", 6, "entry #6 is missing (removed)")


def test_a_forged_anchor_is_not_trusted(history):
    retention.purge(now=NOW)
    with attacker():  # move the anchor on to hide the deletion of #6
        sql(f"DELETE FROM {TABLE} WHERE seq = 6")  # noqa: S608
        sql("UPDATE audit_auditpurge SET anchor_seq = 6")
    result = verify_chain()
    messages = [p.message for p in result.problems]
    assert "purge up to #10 is not trusted: bad signature" in messages
    assert "entry #1..#6 is missing (removed)" in messages


def test_a_purge_refuses_to_run_on_a_broken_chain(history):
    with attacker():
        sql(f"UPDATE {TABLE} SET action = 'x' WHERE seq = 2")  # noqa: S608
    with pytest.raises(retention.PurgeRefused, match="nothing was purged: entry #2 was altered"):
        retention.purge(now=NOW)
    assert not AuditEntry.objects.filter(purged_at__isnull=False).exists()
    assert not AuditPurge.objects.exists()


def test_successive_purges_keep_the_chain_verifiable(history):
    retention.purge(now=NOW)
    checkpoints.make_checkpoint()
    second = retention.purge(now=NOW + 2 * YEAR)
    # Everything but the first purge's entry (made "now", before NOW) has expired by then.
    assert second.anchor_seq == AuditEntry.objects.order_by("seq").first().seq - 1
    result = verify_chain()
    assert result.ok, result.problems
    assert result.purges == 2


def test_purge_command_and_task(history, capsys):
    call_command("audit", "purge", "--dry-run")
    assert "entries are past their retention period (dry run: nothing purged)" in capsys.readouterr().out
    assert not AuditPurge.objects.exists()
    result = purge_expired_entries.enqueue()  # immediate task backend in tests
    assert result.return_value["up_to_seq"] == 10
    assert AuditPurge.objects.count() == 1
    call_command("audit", "verify")
    assert capsys.readouterr().out.startswith("OK: audit chain verified")
