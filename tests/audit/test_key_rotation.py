"""Rotating the audit signing key: the ring of retired keys, and what verification accepts and refuses."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.management import CommandError, call_command
from django.utils import timezone

from cordee.audit import checkpoints, copies, keyring, retention, rotation, signing
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.statements import ROTATION_TYPE, checkpoint_statement
from cordee.audit.verify import verify_chain

from .conftest import make_entries

pytestmark = pytest.mark.django_db


def _old_private_key(path) -> Ed25519PrivateKey:
    """The current private key, as a thief who copied the key file would have it."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _forge(key: Ed25519PrivateKey, seq: int, entry_count: int, created_at: dt.datetime) -> AuditCheckpoint:
    checkpoint = AuditCheckpoint(
        seq=seq,
        entry_hash=AuditEntry.objects.get(seq=seq).entry_hash,
        entry_count=entry_count,
        created_at=created_at,
        key_id=signing.key_id(key.public_key()),
    )
    checkpoint.signature = base64.b64encode(key.sign(checkpoint_statement(checkpoint))).decode()
    checkpoint.save()
    return checkpoint


def _ring_document() -> dict:
    return json.loads(keyring.ring_path().read_text())


def _write_ring(document: dict) -> None:
    keyring.ring_path().write_text(json.dumps(document))


def test_rotation_keeps_old_and_new_checkpoints_verifiable(signing_key, capsys):
    make_entries(4)
    first = checkpoints.make_checkpoint()
    old_id = signing.key_id()
    call_command("audit", "rotate-signing-key")
    out = capsys.readouterr().out
    new_id = signing.key_id()
    assert new_id != old_id
    assert f"new key id {new_id}" in out and "Checkpoints: #4 (old key), #5 (new key)" in out
    # The rotation is an entry of its own, sealed by the new key's first checkpoint.
    entry = AuditEntry.objects.get(action=rotation.ROTATED)
    assert entry.seq == 5
    assert entry.details["old_key_id"] == old_id and entry.details["new_key_id"] == new_id
    assert entry.details["sealed_before"] == 4 and entry.details["retired_keys"] == 1
    make_entries(3)
    checkpoints.make_checkpoint()
    assert list(AuditCheckpoint.objects.values_list("seq", "key_id")) == [(4, old_id), (5, new_id), (8, new_id)]
    assert first.key_id == old_id
    result = verify_chain()
    assert result.ok, result.problems
    assert result.checkpoints == 3
    # The ring sits beside the key, outside the database, mode 0600 like the key.
    ring_file = keyring.ring_path()
    assert ring_file == signing_key.with_name("audit-ed25519.ring.json")
    assert stat.S_IMODE(ring_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(signing_key.stat().st_mode) == 0o600
    assert not signing_key.with_name("audit-ed25519.pem.new").exists()
    (retired,) = _ring_document()["retired"]
    assert (retired["key_id"], retired["successor_key_id"]) == (old_id, new_id)
    assert dt.datetime.fromisoformat(retired["retired_at"]) == keyring.load().retired[0].retired_at
    call_command("audit", "verify")
    assert capsys.readouterr().out.startswith("OK: audit chain verified: 8 entries (#1..#8, 0 purged), 3 checkpoints")


def test_two_rotations_chain_up_and_public_key_lists_the_retired_keys(capsys):
    ids = []
    for _ in range(3):
        make_entries(2)
        checkpoints.make_checkpoint()
        ids.append(signing.key_id())
        if len(ids) < 3:
            rotation.rotate()
    ring = keyring.load()
    assert [key.key_id for key in ring.keys] == ids
    assert ring.retired[0].retired_at < ring.retired[1].retired_at
    assert ring.keys[1].in_service_from == ring.retired[0].retired_at
    assert verify_chain().ok
    call_command("audit", "public-key")
    out = capsys.readouterr().out
    assert f"key id (SHA-256 of the raw public key): {ids[2]}" in out
    assert f"retired key id {ids[0]}: in service until" in out and f"retired key id {ids[1]}" in out


def test_an_export_after_rotation_verifies_from_the_first_public_key_alone(tmp_path, capsys):
    make_entries(3)
    checkpoints.make_checkpoint()
    first_public = signing.public_key()
    rotation.rotate()
    make_entries(2)
    checkpoints.make_checkpoint()
    out = tmp_path / "export.jsonl"
    call_command("audit", "export-checkpoints", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["key-rotation", "checkpoint", "checkpoint", "checkpoint"]
    # A third party trusts only the first public key and follows the handovers.
    trusted = {signing.key_id(first_public): (first_public, None)}
    for line in lines:
        statement = json.loads(line["statement"])
        signer = statement.get("retired_key_id") or statement["key_id"]
        public_key, retired_at = trusted[signer]
        assert base64.b64decode(line["public_key"]) == signing.raw_public_key(public_key)
        public_key.verify(base64.b64decode(line["signature"]), line["statement"].encode())
        if statement["type"] == ROTATION_TYPE:
            trusted[signer] = (public_key, statement["retired_at"])
            successor = Ed25519PublicKey.from_public_bytes(base64.b64decode(lines[2]["public_key"]))
            assert signing.key_id(successor) == statement["successor_key_id"]
            trusted[statement["successor_key_id"]] = (successor, None)
        elif retired_at is not None:
            assert statement["created_at"] < retired_at
    # And Cordée's own check of the export passes.
    call_command("audit", "verify", "--checkpoints", str(out))
    assert "6 checkpoints" in capsys.readouterr().out  # (3 stored, 3 exported)


def test_the_copy_carries_each_checkpoint_with_its_own_key(settings, tmp_path, django_capture_on_commit_callbacks):
    copy_file = tmp_path / "elsewhere" / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_COPY = str(copy_file)
    make_entries(3)
    with django_capture_on_commit_callbacks(execute=True):
        checkpoints.make_checkpoint()
    old_id = signing.key_id()
    with django_capture_on_commit_callbacks(execute=True):
        rotation.rotate()
    with django_capture_on_commit_callbacks(execute=True):
        checkpoints.make_checkpoint()  # (the rotation's own checkpoint is made after its commit)
    lines = [json.loads(line) for line in copy_file.read_text().splitlines()]
    assert [(line["seq"], line["key_id"]) for line in lines] == [(3, old_id), (4, signing.key_id())]
    for line in lines:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(line["public_key"]))
        assert signing.key_id(key) == line["key_id"]
        key.verify(base64.b64decode(line["signature"]), line["statement"].encode())
    result = verify_chain(copied=copies.FileCopy(copy_file).read())
    assert result.ok, result.problems
    assert result.copied == 2


def test_a_purge_signed_before_the_rotation_still_verifies():
    make_entries(3)
    purge = retention.purge()
    old_id = signing.key_id()
    rotation.rotate()
    assert purge.key_id == old_id
    later = retention.purge()
    assert later.key_id == signing.key_id() != old_id
    result = verify_chain()
    assert result.ok, result.problems
    assert result.purges == 2


def test_a_checkpoint_forged_with_the_retired_key_after_its_retirement_is_refused(signing_key):
    make_entries(3)
    checkpoints.make_checkpoint()
    stolen = _old_private_key(signing_key)
    rotation.rotate()
    retired_at = keyring.load().retired[0].retired_at
    make_entries(2)
    forged = _forge(stolen, 6, 2, timezone.now())
    assert verify_chain().first_problem.message == (
        f"{forged}: signed by the key {keyring.short(forged.key_id)} after its retirement "
        f"({retired_at.astimezone(dt.UTC).isoformat(timespec='microseconds')})"
    )


def test_a_retired_key_backdated_after_its_successor_signed_is_out_of_order(signing_key):
    make_entries(3)
    checkpoints.make_checkpoint()
    stolen = _old_private_key(signing_key)
    before = timezone.now()
    rotation.rotate()  # checkpoint #4 by the new key
    make_entries(2)
    forged = _forge(stolen, 6, 2, before)  # dated within the old key's service
    problems = [problem.message for problem in verify_chain().problems]
    assert problems == [
        f"{forged} is signed by the retired key {keyring.short(forged.key_id)} although checkpoint #4 before "
        f"it is signed by a later key (out of order)"
    ]


def test_a_checkpoint_by_the_new_key_dated_before_its_service_is_refused():
    make_entries(3)
    checkpoints.make_checkpoint()
    rotation.rotate()
    in_service = keyring.load().current.in_service_from
    make_entries(2)
    checkpoint = AuditCheckpoint(
        seq=6,
        entry_hash=AuditEntry.objects.get(seq=6).entry_hash,
        entry_count=2,
        created_at=in_service - dt.timedelta(days=1),
        key_id=signing.key_id(),
    )
    checkpoint.signature = signing.sign(checkpoint_statement(checkpoint))[1]
    checkpoint.save()
    assert "before it came into service" in verify_chain().first_problem.message


def test_an_unknown_key_id_after_rotation_is_named():
    make_entries(3)
    rotation.rotate()
    intruder = Ed25519PrivateKey.generate()
    make_entries(1)
    _forge(intruder, 5, 1, timezone.now())
    assert verify_chain().first_problem.message == (
        f"checkpoint #5: signed by a key that is not in the audit key ring "
        f"(key id {signing.key_id(intruder.public_key())[:16]}…)"
    )


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            # An attacker swaps the retired public key for his own, with the matching key id.
            lambda entry, intruder: entry.update(
                public_key=base64.b64encode(signing.raw_public_key(intruder.public_key())).decode(),
                key_id=signing.key_id(intruder.public_key()),
            ),
            "its handover signature does not verify: the ring was altered",
        ),
        (
            # ... or moves the retirement later, to pass off what he signs with a stolen key.
            lambda entry, intruder: entry.update(retired_at="2099-01-01T00:00:00.000000+00:00"),
            "its handover signature does not verify: the ring was altered",
        ),
        (
            lambda entry, intruder: entry.update(key_id="ab" * 32),
            "its key id abababababababab… is not its public key's",
        ),
        (lambda entry, intruder: entry.pop("retired_at"), "lacks retired_at"),
        (lambda entry, intruder: entry.update(public_key="not base64!"), "is not 32 bytes of base64"),
    ],
)
def test_a_tampered_ring_fails_verification_clearly(tamper, message):
    make_entries(3)
    checkpoints.make_checkpoint()
    rotation.rotate()
    document = _ring_document()
    tamper(document["retired"][0], Ed25519PrivateKey.generate())
    _write_ring(document)
    result = verify_chain()
    assert not result.ok
    assert result.problems[0].kind == "keyring"
    assert result.problems[0].message.startswith("the audit key ring is not trusted, only the current key is: ")
    assert message in result.problems[0].message
    # Trusting the current key alone, the old key's checkpoint is named too.
    assert "checkpoint #3: signed by a key that is not in the audit key ring" in result.problems[1].message
    with pytest.raises(rotation.RotationRefused, match="the key ring is not sound, nothing was rotated"):
        rotation.rotate()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"format": "something else"}', "is not an audit key ring"),
        ('{"format": "cordee-audit-key-ring", "version": 7, "retired": []}', "has version 7; 1 expected"),
    ],
)
def test_a_malformed_ring_is_named(content, message):
    make_entries(2)
    keyring.ring_path().write_text(content)
    problem = verify_chain().first_problem
    assert problem.kind == "keyring" and message in problem.message
    with pytest.raises(CommandError, match="the key ring is not sound"):
        call_command("audit", "public-key")


def test_a_ring_that_lost_its_last_key_does_not_join_up():
    make_entries(2)
    rotation.rotate()
    rotation.rotate()
    document = _ring_document()
    document["retired"].pop()
    _write_ring(document)
    assert "does not join up with the current key" in verify_chain().first_problem.message


def test_an_interrupted_rotation_is_refused_and_explained(signing_key):
    make_entries(2)
    pending = signing_key.with_name(signing_key.name + ".new")
    pending.write_bytes(b"left by a crash")
    with pytest.raises(rotation.RotationRefused, match="an earlier rotation was interrupted"):
        rotation.rotate()
    assert not AuditEntry.objects.filter(action=rotation.ROTATED).exists()
    assert not keyring.ring_path().exists()
    pending.unlink()
    # A crash after the ring was written but before the key was moved: the ring names the current key.
    old = signing_key.read_bytes()
    rotation.rotate()
    signing_key.write_bytes(old)
    problem = verify_chain().first_problem
    assert "is listed as retired" in problem.message and "an interrupted rotation?" in problem.message


def test_a_broken_chain_does_not_stop_the_rotation():
    from .conftest import TABLE, attacker, sql

    make_entries(4)
    with attacker():
        sql(f"UPDATE {TABLE} SET action = 'changed' WHERE seq = 2")  # noqa: S608
    old_id = signing.key_id()
    done = rotation.rotate()
    assert done.old_key_id == old_id != signing.key_id()
    assert "entry #2 was altered" in done.chain_problem
    assert done.sealed_before is None and done.sealed_after is None
    entry = AuditEntry.objects.get(action=rotation.ROTATED)
    assert "entry #2 was altered" in entry.details["chain_problem"]


def test_checkpoints_waiting_for_a_rotation_are_dated_after_it():
    """A checkpoint takes its time under the lock: never in the old key's service but signed by the new."""
    make_entries(2)
    rotation.rotate()
    make_entries(1)
    made = checkpoints.make_checkpoint()
    assert made.created_at >= keyring.load().current.in_service_from


def test_the_deploy_check_names_an_unsound_ring():
    from cordee.audit.checks import signing_key_ring

    assert signing_key_ring() == []
    keyring.ring_path().write_text("[]")
    (message,) = signing_key_ring()
    assert message.id == "audit.E001" and "is not an audit key ring" in message.msg


def test_a_record_without_key_id_verifies_with_the_key_in_service_at_its_time():
    """None is written so (every statement names its key), but such a row would still verify."""
    make_entries(3)
    checkpoint = AuditCheckpoint(
        seq=3, entry_hash=AuditEntry.objects.get(seq=3).entry_hash, entry_count=3, created_at=timezone.now(), key_id=""
    )
    checkpoint.signature = signing.sign(checkpoint_statement(checkpoint))[1]
    checkpoint.save()
    assert verify_chain().ok
    rotation.rotate()
    result = verify_chain()
    assert result.ok, result.problems


def test_a_retired_key_backdated_over_entries_after_its_retirement_is_refused(signing_key):
    """The thief also removes the new key's checkpoints: the sealed entry's own time gives him away."""
    from .conftest import attacker, sql

    make_entries(3)
    checkpoints.make_checkpoint()
    stolen = _old_private_key(signing_key)
    before = timezone.now()
    rotation.rotate()  # entry #4, sealed by the new key's checkpoint #4
    make_entries(2)
    with attacker():
        sql("DELETE FROM audit_auditcheckpoint WHERE seq = 4")
    forged = _forge(stolen, 6, 3, before)  # joins up with #3, dated within the old key's service
    assert [problem.message for problem in verify_chain().problems] == [
        f"{forged} is signed by the key {keyring.short(forged.key_id)}, retired before entry #6"
    ]
