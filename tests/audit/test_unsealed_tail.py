"""``verify`` warns when entries wait unsealed (no checkpoint, or a stale one); ``--strict`` fails on it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from cordee.audit import checkpoints
from cordee.audit.verify import verify_chain

from .conftest import make_entries

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _warnings(**arguments) -> list[tuple[str, int | None]]:
    return [(warning.kind, warning.seq) for warning in verify_chain(**arguments).warnings]


def test_no_warning_on_an_empty_trail_or_a_sealed_one():
    assert _warnings() == []
    make_entries(3)
    checkpoints.make_checkpoint()
    assert _warnings() == []


def test_entries_without_any_checkpoint_are_warned(capsys):
    make_entries(3)
    result = verify_chain()
    assert result.ok  # not tampering: exposure
    assert [(w.kind, w.seq, w.message) for w in result.warnings] == [
        (
            "unsealed",
            1,
            "no checkpoint seals the audit trail: entries #1..#3 can be cut from its end unseen; "
            "is the worker running (manage.py worker)?",
        )
    ]
    call_command("audit", "verify")  # a warning, exit code 0
    captured = capsys.readouterr()
    assert captured.out.startswith("OK: audit chain verified")
    assert "warning: no checkpoint seals the audit trail" in captured.err
    with pytest.raises(CommandError, match="--strict: 1 warning") as failure:
        call_command("audit", "verify", "--strict")
    assert failure.value.returncode == 3


def test_a_stale_last_checkpoint_is_warned(settings):
    settings.AUDIT_CHECKPOINT_STALE_SECONDS = 180
    make_entries(2, start=NOW - dt.timedelta(minutes=30))
    checkpoints.make_checkpoint()
    make_entries(2, start=NOW - dt.timedelta(minutes=10))  # #3, #4: after the last checkpoint
    assert _warnings(now=NOW - dt.timedelta(minutes=10) + dt.timedelta(seconds=170)) == []
    result = verify_chain(now=NOW)
    assert [(w.kind, w.seq) for w in result.warnings] == [("unsealed", 3)]
    assert result.warnings[0].message.startswith(
        "the last checkpoint (#2) is stale: entries #3..#4 have waited unsealed for 600 s "
        "(more than AUDIT_CHECKPOINT_STALE_SECONDS=180)"
    )
    checkpoints.make_checkpoint()
    assert _warnings(now=NOW) == []


def test_strict_passes_when_the_tail_is_sealed(capsys):
    make_entries(2)
    checkpoints.make_checkpoint()
    call_command("audit", "verify", "--strict")
    assert capsys.readouterr().err == ""
