"""Every tampering that issue 10 lists, against the whole protection, as ``audit verify`` sees it.

One trail for every case: entries #1..#20 sealed by a checkpoint (copied to the second, append-only
place), then #21..#25 appended since (not sealed yet: only their MACs protect them). The attacker
has the database (raw SQL, the PostgreSQL triggers disabled as a superuser could), not the keys and
not the copy. ``audit verify``, without a flag, must fail and name the first entry (or checkpoint)
touched. The suite runs on SQLite (``make test``) and on PostgreSQL (``make test-postgres``).

What no test here can show, because nothing detects it: entries cut from the end *after* the last
checkpoint (here #21..#25) within the period before the next one (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.management import CommandError, call_command

from cordee.audit import checkpoints, copies

from .conftest import TABLE, append_forged, attacker, make_entries, rehash_from, sql

pytestmark = pytest.mark.django_db


def _edit() -> None:
    sql(f"UPDATE {TABLE} SET target_display = 'someone else' WHERE seq = 7")  # noqa: S608


def _delete() -> None:
    sql(f"DELETE FROM {TABLE} WHERE seq = 7")  # noqa: S608


def _swap() -> None:
    sql(f"UPDATE {TABLE} SET seq = -7 WHERE seq = 7")  # noqa: S608
    sql(f"UPDATE {TABLE} SET seq = 7 WHERE seq = 8")  # noqa: S608
    sql(f"UPDATE {TABLE} SET seq = 8 WHERE seq = -7")  # noqa: S608


def _truncate() -> None:
    sql(f"DELETE FROM {TABLE} WHERE seq > 17")  # noqa: S608


def _truncate_with_the_checkpoint() -> None:
    _truncate()
    sql("DELETE FROM audit_auditcheckpoint")


def _forged_append() -> None:
    append_forged()


def _rehashed_edit_of_the_unsealed_tail() -> None:
    sql(f"UPDATE {TABLE} SET purpose = 'rewritten' WHERE seq = 22")  # noqa: S608
    rehash_from(22)


def _rehashed_edit_of_the_sealed_part() -> None:
    sql(f"UPDATE {TABLE} SET purpose = 'rewritten' WHERE seq = 7")  # noqa: S608
    rehash_from(7)


def _checkpoint_rows_deleted() -> None:
    sql("DELETE FROM audit_auditcheckpoint")


@dataclass(frozen=True)
class Case:
    tamper: Callable[[], None]
    kind: str  # of the first problem reported
    names: str  # what its message must name
    says: str  # and a word of why


CASES = {
    "edit": Case(_edit, "altered", "entry #7", "its content no longer matches"),
    "delete": Case(_delete, "removed", "entry #7", "missing"),
    "swap": Case(_swap, "reordered", "entry #8 was moved to #7", "reordered"),
    "truncate": Case(_truncate, "removed", "entries #18..#20", "a checkpoint seals them"),
    "truncate-and-its-checkpoint": Case(_truncate_with_the_checkpoint, "removed", "entries #18..#20", "missing"),
    "forged-append": Case(_forged_append, "forged", "entry #26", "MAC does not match"),
    "re-hashed-edit": Case(_rehashed_edit_of_the_unsealed_tail, "forged", "entries #22..#25", "MACs do not match"),
    "re-hashed-edit-sealed": Case(_rehashed_edit_of_the_sealed_part, "forged", "entries #7..#25", "MACs do not match"),
    "checkpoint-rows-deleted": Case(
        _checkpoint_rows_deleted, "checkpoint", "checkpoint #20", "missing from the database"
    ),
}


@pytest.fixture
def trail(settings, tmp_path, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_COPY = str(tmp_path / "append-only" / "checkpoints.jsonl")
    make_entries(20)
    with django_capture_on_commit_callbacks(execute=True):
        assert checkpoints.make_checkpoint().seq == 20
    assert copies.configured().last_seq() == 20
    make_entries(5)
    call_command("audit", "verify", "--strict")  # untouched, it verifies (the tail is fresh)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_verify_fails_and_names_the_first_thing_tampered_with(trail, case, capsys):
    capsys.readouterr()
    with attacker():
        case.tamper()
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    assert failure.value.returncode == 1
    first = capsys.readouterr().err.splitlines()[0]
    kind, _, message = first.partition(": ")
    assert kind == case.kind, first
    assert case.names in message and case.says in message, first
