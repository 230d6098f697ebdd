"""The second, append-only copy of the checkpoints (a file, or S3 with Object Lock), checked by ``verify``."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from cordee.audit import checkpoints, copies, signing
from cordee.audit.models import AuditCheckpoint
from cordee.audit.verify import verify_chain

from .conftest import TABLE, attacker, make_entries, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def copy_file(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_COPY = str(tmp_path / "elsewhere" / "checkpoints.jsonl")
    return tmp_path / "elsewhere" / "checkpoints.jsonl"


def _seal(capture) -> AuditCheckpoint | None:
    """A checkpoint, committed: the copy is written after the commit."""
    with capture(execute=True):
        return checkpoints.make_checkpoint()


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_checkpoint_is_appended_to_the_copy_after_its_commit(copy_file, django_capture_on_commit_callbacks):
    make_entries(3)
    with django_capture_on_commit_callbacks() as callbacks:
        checkpoints.make_checkpoint()
    assert not copy_file.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    make_entries(2)
    _seal(django_capture_on_commit_callbacks)
    lines = _lines(copy_file)
    assert [(line["kind"], line["seq"], line["entry_count"]) for line in lines] == [
        ("checkpoint", 3, 3),
        ("checkpoint", 5, 2),
    ]
    # The export's format: the exact statement signed, its signature, the public key.
    assert lines[0]["statement"] == json.loads(json.dumps(lines[0]))["statement"]
    assert signing.signature_problem(lines[1]["statement"].encode(), lines[1]["signature"], lines[1]["key_id"]) == ""
    result = verify_chain(copied=copies.FileCopy(copy_file).read())
    assert result.ok, result.problems
    assert result.copied == 2


def test_a_copy_configured_late_receives_the_earlier_checkpoints_once(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    for _ in range(3):
        make_entries(2)
        checkpoints.make_checkpoint()  # no copy configured yet
    settings.AUDIT_CHECKPOINT_COPY = str(tmp_path / "late.jsonl")
    assert copies.catch_up() == 3
    assert copies.catch_up() == 0  # idempotent: the copy's last line says where it stands
    make_entries(1)
    _seal(django_capture_on_commit_callbacks)
    assert [line["seq"] for line in _lines(tmp_path / "late.jsonl")] == [2, 4, 6, 7]


def test_two_writers_never_copy_a_checkpoint_twice(copy_file):
    make_entries(2)
    checkpoints.make_checkpoint()
    first, second = copies.FileCopy(copy_file), copies.FileCopy(copy_file)
    assert copies.catch_up(first) == 1
    # The second writer read an older state: under the file's lock it re-reads the last line.
    line = _lines(copy_file)[0]
    assert second.append([line]) == 0
    assert len(_lines(copy_file)) == 1


def test_an_unreachable_copy_is_logged_and_made_up_for_later(
    settings, tmp_path, caplog, django_capture_on_commit_callbacks
):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings.AUDIT_CHECKPOINT_COPY = str(blocked / "checkpoints.jsonl")
    make_entries(2)
    with caplog.at_level(logging.ERROR, logger="cordee.audit"):
        _seal(django_capture_on_commit_callbacks)  # the checkpoint itself is made
    assert AuditCheckpoint.objects.count() == 1
    assert "audit checkpoints could not be copied" in caplog.text
    settings.AUDIT_CHECKPOINT_COPY = str(tmp_path / "checkpoints.jsonl")
    assert copies.catch_up() == 1


def test_a_checkpoint_that_does_not_verify_is_never_copied(copy_file, caplog):
    make_entries(2)
    checkpoints.make_checkpoint()
    with attacker():
        sql("UPDATE audit_auditcheckpoint SET entry_hash = %s", ["a" * 64])
    with caplog.at_level(logging.ERROR, logger="cordee.audit"):
        assert copies.catch_up() == 0
    assert "audit checkpoint #2 is not copied" in caplog.text and "bad signature" in caplog.text


def test_verify_names_checkpoints_removed_from_the_database_with_their_entries(copy_file, capsys):
    make_entries(4)
    checkpoints.make_checkpoint()
    make_entries(4)
    checkpoints.make_checkpoint()
    copies.catch_up()
    with attacker():  # the table alone agrees with itself afterwards
        sql("DELETE FROM audit_auditcheckpoint WHERE seq = 8")
        sql(f"DELETE FROM {TABLE} WHERE seq > 5")  # noqa: S608
    assert verify_chain().ok
    with pytest.raises(CommandError):
        call_command("audit", "verify")  # no flag: the configured copy is read
    err = capsys.readouterr().err
    assert "removed: entries #6..#8 are missing (removed from the end; a checkpoint seals them)" in err
    assert "checkpoint: checkpoint #8 (copy checkpoints.jsonl line 2) is missing from the database" in err


def test_verify_names_checkpoints_missing_from_the_copy(copy_file):
    make_entries(2)
    checkpoints.make_checkpoint()
    copies.catch_up()
    make_entries(2)
    checkpoints.make_checkpoint()  # #4: not copied (the copy was down, or the line was removed)
    now = dt.datetime.now(dt.UTC)
    copied = copies.FileCopy(copy_file).read()
    assert verify_chain(copied=copied, now=now).ok  # just made: the worker copies it at its next tick
    result = verify_chain(copied=copied, now=now + dt.timedelta(minutes=5))
    assert [(p.kind, p.seq, p.message) for p in result.problems] == [
        ("copy", 4, f"checkpoint #4 is missing from the copy ({copy_file})")
    ]


def test_verify_refuses_an_unreadable_copy(copy_file):
    copy_file.parent.mkdir()
    copy_file.write_text("not json\n")
    with pytest.raises(
        CommandError, match="cannot read the checkpoint copy .AUDIT_CHECKPOINT_COPY.: copy checkpoints.jsonl line 1"
    ):
        call_command("audit", "verify")


def test_verify_reports_what_the_copy_holds(copy_file, capsys, django_capture_on_commit_callbacks):
    make_entries(3)
    _seal(django_capture_on_commit_callbacks)
    call_command("audit", "verify")
    assert capsys.readouterr().out.strip().endswith("1 checkpoints (1 in the copy), 0 purges")


# --- S3 with Object Lock, against moto's S3 server on loopback (an emulator of the API) ---


@pytest.fixture(scope="module")
def s3_server():
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket():
    """A bucket per test: locked objects cannot be deleted, by design (the server goes with the module)."""
    import uuid

    return f"cordee-audit-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_copy(settings, s3_server, bucket):
    import boto3

    settings.AUDIT_CHECKPOINT_COPY = f"s3://{bucket}/cordee/"
    settings.AUDIT_COPY_S3_ENDPOINT_URL = s3_server
    settings.AUDIT_COPY_S3_ACCESS_KEY = "test-access"
    settings.AUDIT_COPY_S3_SECRET_KEY = "test-secret"  # noqa: S105  (the emulator accepts any)
    settings.AUDIT_COPY_S3_REGION = "us-east-1"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="test-access",
        aws_secret_access_key="test-secret",  # noqa: S106
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return client


def test_s3_copy_writes_one_locked_object_per_checkpoint(s3_copy, bucket, settings, django_capture_on_commit_callbacks):
    settings.AUDIT_COPY_RETENTION_DAYS = 1500
    make_entries(2)
    _seal(django_capture_on_commit_callbacks)
    make_entries(3)
    _seal(django_capture_on_commit_callbacks)
    keys = [item["Key"] for item in s3_copy.list_objects_v2(Bucket=bucket, Prefix="cordee/")["Contents"]]
    # Newest first, so that one LIST with MaxKeys=1 says where the copy stands.
    assert keys == [f"cordee/{10**19 - 1 - 5:019d}-seq-5.json", f"cordee/{10**19 - 1 - 2:019d}-seq-2.json"]
    assert copies.configured().last_seq() == 5
    head = s3_copy.head_object(Bucket=bucket, Key=keys[0])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retained = head["ObjectLockRetainUntilDate"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=1499) < retained <= dt.timedelta(days=1500)
    # COMPLIANCE: not even the bucket's owner deletes a locked version.
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="AccessDenied"):
        s3_copy.delete_object(Bucket=bucket, Key=keys[0], VersionId=head["VersionId"])
    result = verify_chain(copied=copies.configured().read())
    assert result.ok and result.copied == 2


def test_s3_copy_is_checked_by_verify(s3_copy, capsys, django_capture_on_commit_callbacks):
    make_entries(2)
    _seal(django_capture_on_commit_callbacks)
    make_entries(2)
    _seal(django_capture_on_commit_callbacks)
    with attacker():
        sql("DELETE FROM audit_auditcheckpoint WHERE seq = 4")
        sql(f"DELETE FROM {TABLE} WHERE seq > 2")  # noqa: S608
    with pytest.raises(CommandError):
        call_command("audit", "verify")
    err = capsys.readouterr().err
    assert f"checkpoint #4 (copy cordee/{10**19 - 1 - 4:019d}-seq-4.json line 1) is missing from the database" in err


def test_an_s3_bucket_without_object_lock_is_refused_loudly(s3_copy, settings, caplog):
    s3_copy.create_bucket(Bucket="no-lock")
    settings.AUDIT_CHECKPOINT_COPY = "s3://no-lock/x/"
    make_entries(1)
    checkpoints.make_checkpoint()
    with caplog.at_level(logging.ERROR, logger="cordee.audit"):
        assert copies.catch_up() == 0
    assert "cannot write to s3://no-lock/x/" in caplog.text and "ObjectLockConfiguration" in caplog.text


def test_the_deploy_check_warns_without_a_copy(settings):
    from django.core import checks

    settings.AUDIT_CHECKPOINT_COPY = ""
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "audit.W001" in [message.id for message in messages]
    settings.AUDIT_CHECKPOINT_COPY = "/srv/append-only/checkpoints.jsonl"
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "audit.W001" not in [message.id for message in messages]
