"""``verify_chain`` names the first altered, removed, inserted or reordered entry (raw SQL tampering)."""

from __future__ import annotations

import datetime as dt

import pytest

from cordee.audit import checkpoints
from cordee.audit.models import AuditEntry
from cordee.audit.verify import verify_chain

from .conftest import TABLE, attacker, make_entries, rehash_from, shift_seqs, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    return make_entries(20)


def _first(result):
    assert not result.ok
    return result.first_problem.kind, result.first_problem.seq


def test_an_intact_chain_verifies(chain):
    result = verify_chain()
    assert result.ok, result.problems
    assert (result.entries, result.first_seq, result.last_seq) == (20, 1, 20)
    assert result.summary().startswith("OK: audit chain verified: 20 entries (#1..#20")


def test_an_empty_chain_verifies(db):
    result = verify_chain()
    assert result.ok and result.entries == 0


def test_an_edited_row_is_named(chain):
    with attacker():
        sql(f"UPDATE {TABLE} SET target_display = 'forged' WHERE seq = 7")  # noqa: S608
    result = verify_chain()
    assert _first(result) == ("altered", 7)
    assert "entry #7 was altered: its content" in result.first_problem.message
    assert len(result.problems) == 1


def test_an_edited_header_is_named(chain):
    with attacker():
        sql(f"UPDATE {TABLE} SET category = 'access' WHERE seq = 7")  # noqa: S608
    result = verify_chain()
    assert _first(result) == ("altered", 7)
    assert "its header or hash" in result.first_problem.message


def test_an_edited_row_with_its_own_hashes_recomputed_is_named(chain):
    with attacker():
        sql(f"UPDATE {TABLE} SET purpose = 'forged' WHERE seq = 7")  # noqa: S608
        rehash_from(7, until=7)
    result = verify_chain()
    # The hashes of #7 hold, and #8 no longer links to it; the MAC names #7 (once, for both).
    assert _first(result) == ("forged", 7)
    assert result.first_problem.message.startswith("entry #7 is not authentic: its MAC does not match")
    assert len(result.problems) == 1


def test_a_deleted_row_is_named(chain):
    with attacker():
        sql(f"DELETE FROM {TABLE} WHERE seq = 7")  # noqa: S608
    result = verify_chain()
    assert _first(result) == ("removed", 7)
    assert result.first_problem.message == "entry #7 is missing (removed)"
    assert len(result.problems) == 1


def test_a_deleted_row_with_the_rest_renumbered_is_named(chain):
    with attacker():
        sql(f"DELETE FROM {TABLE} WHERE seq = 7")  # noqa: S608
        shift_seqs(8, -1)
    result = verify_chain()
    assert _first(result) == ("removed", 7)
    assert "renumbered" in result.first_problem.message
    assert len(result.problems) == 1


def test_two_swapped_rows_are_named(chain):
    with attacker():
        sql(f"UPDATE {TABLE} SET seq = -7 WHERE seq = 7")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 7 WHERE seq = 8")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 8 WHERE seq = -7")  # noqa: S608
    result = verify_chain()
    assert _first(result) == ("reordered", 7)
    assert [(p.kind, p.seq, p.message) for p in result.problems] == [
        ("reordered", 7, "entry #8 was moved to #7 (reordered)"),
        ("reordered", 8, "entry #7 was moved to #8 (reordered)"),
    ]


def test_rows_swapped_far_apart_are_named(chain):
    with attacker():
        sql(f"UPDATE {TABLE} SET seq = -4 WHERE seq = 4")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 4 WHERE seq = 15")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 15 WHERE seq = -4")  # noqa: S608
    result = verify_chain()
    assert [(p.kind, p.seq) for p in result.problems] == [("reordered", 4), ("reordered", 15)]


def _forged_row(seq: int, prev_hash: str, valid: bool) -> None:
    from cordee.audit.chain import content_hash, header_hash

    values = {"action": "forged.entry", "outcome": "success", "actor_display": {}, "details": {}}
    created_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    digest = content_hash(values) if valid else "f" * 64
    entry_hash = header_hash(prev_hash, seq, created_at, "security", digest) if valid else "e" * 64
    AuditEntry.objects.create(
        seq=seq,
        created_at=created_at,
        category="security",
        prev_hash=prev_hash,
        content_hash=digest,
        entry_hash=entry_hash,
        **values,
    )


@pytest.mark.parametrize("valid_hashes", [True, False], ids=["recomputed-hashes", "junk-hashes"])
def test_an_inserted_row_is_named(chain, valid_hashes):
    prev_hash = AuditEntry.objects.get(seq=6).entry_hash
    with attacker():
        shift_seqs(7, +1)
        _forged_row(7, prev_hash, valid_hashes)
    result = verify_chain()
    assert _first(result) == ("inserted", 7)
    assert result.first_problem.message == "entry #7 was inserted (the entries after it renumbered)"
    assert len(result.problems) == 1


def test_a_row_appended_with_a_wrong_hash_is_named(chain):
    _forged_row(21, AuditEntry.objects.get(seq=20).entry_hash, valid=False)
    assert _first(verify_chain()) == ("altered", 21)


def test_a_second_tampering_after_the_first_is_still_seen(chain):
    with attacker():
        sql(f"UPDATE {TABLE} SET action = 'x' WHERE seq = 3")  # noqa: S608
        sql(f"DELETE FROM {TABLE} WHERE seq = 12")  # noqa: S608
    result = verify_chain()
    assert [(p.kind, p.seq) for p in result.problems] == [("altered", 3), ("removed", 12)]


def test_a_rewritten_tail_is_named_by_the_macs_and_by_its_checkpoint(chain):
    checkpoints.make_checkpoint()
    with attacker():
        sql(f"UPDATE {TABLE} SET action = 'rewritten' WHERE seq = 10")  # noqa: S608
        rehash_from(10)
    result = verify_chain()
    # Every hash holds again; the MACs do not (the attacker has no key), the checkpoint neither.
    assert [(p.kind, p.seq) for p in result.chain_problems] == [("forged", 10)]
    assert result.chain_problems[0].message.startswith("entries #10..#20 are not authentic")
    assert [(p.kind, p.seq) for p in result.checkpoint_problems] == [("checkpoint", 20)]
    assert "does not match entry #20's hash" in result.checkpoint_problems[0].message


def test_entries_removed_from_the_end_are_seen_through_a_checkpoint(chain):
    checkpoints.make_checkpoint()
    with attacker():
        sql(f"DELETE FROM {TABLE} WHERE seq > 17")  # noqa: S608
    result = verify_chain()
    assert ("removed", 18) in [(p.kind, p.seq) for p in result.chain_problems]
    assert "checkpoint #20" in " ".join(p.message for p in result.checkpoint_problems)


def test_streaming_in_small_chunks_gives_the_same_answer(chain):
    with attacker():
        sql(f"DELETE FROM {TABLE} WHERE seq = 5")  # noqa: S608
    assert verify_chain(chunk_size=3).problems == verify_chain(chunk_size=1000).problems


def test_hashes_survive_the_database_round_trip(rf, personas):
    from cordee.audit import services

    request = rf.get("/", REMOTE_ADDR="2001:0db8:0000::0001", HTTP_USER_AGENT="Navi\x00gateur é")
    request.user = personas["alice"]
    details = {"f": 0.1, "nested": {"b": [1, "ü", None], "a": True}, "big": 2**53 + 1, "e": ""}
    entry = services.record("test.round_trip", request=request, target_display="é" * 300, details=details)
    entry.refresh_from_db()
    assert (entry.ip, entry.user_agent, len(entry.target_display)) == ("2001:db8::1", "Navigateur é", 200)
    assert entry.details == details
    result = verify_chain()
    assert result.ok, result.problems


def test_a_mass_tampering_is_listed_up_to_a_limit_and_stays_fast():
    from cordee.audit.verify import MAX_PROBLEMS

    make_entries(MAX_PROBLEMS + 150)
    with attacker():  # every header changed: each row would otherwise be searched for a moved position
        sql(f"UPDATE {TABLE} SET category = CASE category WHEN 'access' THEN 'security' ELSE 'access' END")  # noqa: S608
    result = verify_chain()
    assert len(result.chain_problems) == MAX_PROBLEMS and result.more_problems
    assert result.entries == MAX_PROBLEMS + 150
