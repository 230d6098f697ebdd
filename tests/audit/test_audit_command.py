"""``manage.py audit …``: one-line OK, non-zero exit with the problems named, clear errors on junk."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from cordee.audit import signing
from cordee.audit.models import AuditCheckpoint

from .conftest import TABLE, attacker, make_entries, sql

pytestmark = pytest.mark.django_db


def test_verify_prints_one_ok_line(capsys):
    make_entries(5)
    call_command("audit", "checkpoint")
    call_command("audit", "verify", "--chunk-size", "2")
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "OK: audit chain verified: 5 entries (#1..#5, 0 purged), 1 checkpoints, 0 purges"


def test_verify_fails_and_names_the_problem(capsys):
    make_entries(5)
    with attacker():
        sql(f"DELETE FROM {TABLE} WHERE seq = 3")  # noqa: S608
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    assert failure.value.returncode == 1
    assert "FAILED: 1 problem(s)" in str(failure.value)
    assert "removed: entry #3 is missing (removed)" in capsys.readouterr().err


def test_checkpoint_command(capsys):
    make_entries(3)
    call_command("audit", "checkpoint")
    assert "Checkpoint signed: entry #3 (3 new entries)" in capsys.readouterr().out
    call_command("audit", "checkpoint", "--if-due")
    assert "No checkpoint needed" in capsys.readouterr().out


def test_checkpoint_command_refuses_a_broken_chain():
    make_entries(3)
    with attacker():
        sql(f"UPDATE {TABLE} SET details = '{{}}' WHERE seq = 2")  # noqa: S608
    with pytest.raises(CommandError, match="no checkpoint signed: the chain does not verify: entry #2 was altered"):
        call_command("audit", "checkpoint")
    assert not AuditCheckpoint.objects.exists()


def test_export_to_standard_output(capsys):
    make_entries(2)
    call_command("audit", "checkpoint")
    capsys.readouterr()
    call_command("audit", "export-checkpoints", "--out", "-")
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["kind"], line["seq"], line["entry_count"]) == ("checkpoint", 2, 2)


def test_public_key(capsys):
    call_command("audit", "public-key")
    out = capsys.readouterr().out
    assert out.startswith("-----BEGIN PUBLIC KEY-----")
    assert f"key id (SHA-256 of the raw public key): {signing.key_id()}" in out


def test_verify_against_a_junk_copy_is_a_clear_error(tmp_path):
    copy = tmp_path / "copy.jsonl"
    copy.write_text("not json\n")
    with pytest.raises(CommandError, match="cannot read the exported checkpoints: copy.jsonl line 1"):
        call_command("audit", "verify", "--checkpoints", str(copy))
    with pytest.raises(CommandError, match="cannot read the exported checkpoints"):
        call_command("audit", "verify", "--checkpoints", str(tmp_path / "absent.jsonl"))
