"""Signed checkpoints: made every N entries or M minutes, verified, exported for a third party."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils import timezone

from cordee.audit import checkpoints, exports, services, signing
from cordee.audit.models import AuditCheckpoint
from cordee.audit.statements import checkpoint_statement
from cordee.audit.verify import verify_chain

from .conftest import TABLE, attacker, make_entries, sql

pytestmark = pytest.mark.django_db


def _raw_update_checkpoint(seq: int, **changes: str) -> None:
    assignments = ", ".join(f"{name} = %s" for name in changes)
    with attacker():
        sql(f"UPDATE audit_auditcheckpoint SET {assignments} WHERE seq = %s", [*changes.values(), seq])  # noqa: S608


def test_a_checkpoint_seals_the_head_and_joins_the_previous_one():
    make_entries(5)
    first = checkpoints.make_checkpoint()
    assert (first.seq, first.entry_count) == (5, 5)
    assert checkpoints.make_checkpoint() is None  # nothing new to seal
    make_entries(3)
    second = checkpoints.make_checkpoint()
    assert (second.seq, second.entry_count) == (8, 3)
    assert second.entry_hash == services.AuditEntry.objects.get(seq=8).entry_hash
    assert second.key_id == signing.key_id()
    result = verify_chain()
    assert result.ok, result.problems
    assert result.checkpoints == 2


def test_if_due_waits_for_n_entries_or_m_seconds(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 10
    settings.AUDIT_CHECKPOINT_SECONDS = 30
    make_entries(2)
    now = timezone.now()
    assert checkpoints.make_checkpoint(if_due=True, now=now) is not None  # the first one is always due
    make_entries(2)
    assert checkpoints.make_checkpoint(if_due=True, now=now + dt.timedelta(seconds=20)) is None
    assert checkpoints.make_checkpoint(if_due=True, now=now + dt.timedelta(seconds=31)).seq == 4
    make_entries(10)
    assert checkpoints.make_checkpoint(if_due=True, now=now + dt.timedelta(seconds=32)).seq == 14


def _append_and_commit(count: int, capture) -> list[int]:
    """Append ``count`` entries, each in its own transaction; how many callbacks each commit ran."""
    fired = []
    for _ in range(count):
        with capture(execute=True) as callbacks:
            make_entries(1)
        fired.append(len(callbacks))
    return fired


def test_every_nth_append_enqueues_a_checkpoint_after_commit(settings, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_EVERY = 4
    fired = _append_and_commit(9, django_capture_on_commit_callbacks)
    assert fired == [0, 0, 0, 1, 0, 0, 0, 1, 0]  # the immediate task backend runs the task at once
    assert list(AuditCheckpoint.objects.values_list("seq", "entry_count")) == [(4, 4), (8, 4)]


def test_no_checkpoint_is_signed_over_a_broken_chain():
    make_entries(6)
    checkpoints.make_checkpoint()
    make_entries(3)
    with attacker():
        sql(f"UPDATE {TABLE} SET action = 'x' WHERE seq = 8")  # noqa: S608
    with pytest.raises(checkpoints.ChainBroken, match="entry #8 was altered"):
        checkpoints.make_checkpoint()
    assert AuditCheckpoint.objects.count() == 1


def test_a_forged_signature_is_named():
    make_entries(4)
    checkpoint = checkpoints.make_checkpoint()
    forged = base64.b64encode(b"\x01" * 64).decode()
    _raw_update_checkpoint(checkpoint.seq, signature=forged)
    result = verify_chain()
    assert [(p.kind, p.seq, p.message) for p in result.problems] == [("checkpoint", 4, "checkpoint #4: bad signature")]


def test_a_checkpoint_edited_after_signing_is_named():
    make_entries(4)
    checkpoints.make_checkpoint()
    _raw_update_checkpoint(4, entry_hash="a" * 64)
    assert verify_chain().first_problem.message == "checkpoint #4: bad signature"


def test_a_checkpoint_signed_by_another_key_is_named():
    make_entries(4)
    intruder = Ed25519PrivateKey.generate()
    checkpoint = AuditCheckpoint(
        seq=4,
        entry_hash=services.AuditEntry.objects.get(seq=4).entry_hash,
        entry_count=4,
        created_at=timezone.now(),
        key_id=signing.key_id(intruder.public_key()),
    )
    checkpoint.signature = base64.b64encode(intruder.sign(checkpoint_statement(checkpoint))).decode()
    checkpoint.save()
    intruder_id = signing.key_id(intruder.public_key())[:16]
    assert verify_chain().first_problem.message == (
        f"checkpoint #4: signed by a key that is not in the audit key ring (key id {intruder_id}…)"
    )
    # The same signature claiming our key id is simply a bad signature.
    _raw_update_checkpoint(4, key_id=signing.key_id())
    assert verify_chain().first_problem.message == "checkpoint #4: bad signature"


def test_a_signed_checkpoint_over_a_hash_that_does_not_match_is_named():
    make_entries(4)
    checkpoint = AuditCheckpoint(
        seq=3, entry_hash="b" * 64, entry_count=3, created_at=timezone.now(), key_id=signing.key_id()
    )
    checkpoint.signature = signing.sign(checkpoint_statement(checkpoint))[1]
    checkpoint.save()
    result = verify_chain()
    assert not result.chain_problems
    assert [(p.kind, p.seq, p.message) for p in result.checkpoint_problems] == [
        ("checkpoint", 3, "checkpoint #3 does not match entry #3's hash")
    ]


def test_a_checkpoint_removed_between_two_others_is_named():
    for _ in range(3):
        make_entries(2)
        checkpoints.make_checkpoint()
    with attacker():
        sql("DELETE FROM audit_auditcheckpoint WHERE seq = 4")
    result = verify_chain()
    assert [p.message for p in result.problems] == [
        "checkpoints are missing before checkpoint #6 (the previous one seals #2)"
    ]


def _export(tmp_path):
    out = tmp_path / "checkpoints.jsonl"
    from django.core.management import call_command

    call_command("audit", "export-checkpoints", "--out", str(out))
    return out, [json.loads(line) for line in out.read_text().splitlines()]


def test_an_exported_checkpoint_verifies_with_the_public_key_alone(tmp_path):
    make_entries(5)
    checkpoints.make_checkpoint()
    _, lines = _export(tmp_path)
    (line,) = lines
    # A third party: only the line itself (or the public key it was given beforehand).
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(line["public_key"]))
    public_key.verify(base64.b64decode(line["signature"]), line["statement"].encode())
    statement = json.loads(line["statement"])
    assert statement["type"] == "cordee-audit-checkpoint/1"
    assert (statement["seq"], statement["entry_hash"]) == (5, services.AuditEntry.objects.get(seq=5).entry_hash)
    assert statement["key_id"] == signing.key_id(public_key)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_an_exported_checkpoint_verifies_with_openssl(tmp_path, capsys):
    from django.core.management import call_command

    make_entries(3)
    checkpoints.make_checkpoint()
    _, (line,) = _export(tmp_path)
    call_command("audit", "public-key")
    printed = capsys.readouterr().out
    (tmp_path / "public.pem").write_text(printed[: printed.index("-----END PUBLIC KEY-----") + 24] + "\n")
    (tmp_path / "statement.txt").write_bytes(line["statement"].encode())
    (tmp_path / "signature.bin").write_bytes(base64.b64decode(line["signature"]))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public.pem", "-rawin"]
    command += ["-in", "statement.txt", "-sigfile", "signature.bin"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert "Signature Verified Successfully" in result.stdout, result.stderr
    (tmp_path / "statement.txt").write_bytes(line["statement"].replace('"seq":3', '"seq":4').encode())
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0


def test_an_exported_copy_catches_what_was_removed_from_the_database(tmp_path):
    make_entries(4)
    checkpoints.make_checkpoint()
    make_entries(4)
    checkpoints.make_checkpoint()
    out, _ = _export(tmp_path)
    # The attacker removes the last checkpoint and the entries it sealed: the table alone agrees.
    with attacker():
        sql("DELETE FROM audit_auditcheckpoint WHERE seq = 8")
        sql(f"DELETE FROM {TABLE} WHERE seq > 5")  # noqa: S608
    assert verify_chain().ok
    with out.open() as lines:
        exported = exports.read_exported_checkpoints(lines, out.name)
    result = verify_chain(exported=exported)
    messages = [p.message for p in result.problems]
    assert "entries #6..#8 are missing (removed from the end; a checkpoint seals them)" in messages
    assert "checkpoint #8 (checkpoints.jsonl line 2) is missing from the database" in messages


def test_a_junk_export_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="copy.jsonl line 1 is not an exported checkpoint"):
        exports.read_exported_checkpoints(['{"statement": "nope"}'], "copy.jsonl")
