"""The S3 backend against an S3-compatible server on loopback (moto's server: an emulator of S3's API,
not Amazon S3 itself; what it proves is the protocol path through django-storages and boto3)."""

from __future__ import annotations

import io
import os

import pytest

from cordee.vault import blobs
from cordee.vault.errors import BlobIncomplete, BlobTooLarge, DecryptionError
from cordee.vault.models import Blob

MIB = 1 << 20
BUCKET = "cordee-blobs"


@pytest.fixture(scope="module")
def s3_server():
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_server, tmp_path):
    import boto3

    settings.BLOB_BACKEND = "s3"
    settings.BLOB_DIR = tmp_path / "spool"
    settings.BLOB_S3_BUCKET = BUCKET
    settings.BLOB_S3_ENDPOINT_URL = s3_server
    settings.BLOB_S3_ACCESS_KEY = "test-access"
    settings.BLOB_S3_SECRET_KEY = "test-secret"  # noqa: S105  (the emulator accepts any)
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="test-access",
        aws_secret_access_key="test-secret",  # noqa: S106
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_round_trip_through_s3_stores_only_ciphertext(patient, s3):
    data = os.urandom(2 * MIB + 777)
    blob = blobs.store_blob(patient, io.BytesIO(data), max_bytes=8 * MIB)
    assert blob.backend == "s3" and _keys(s3) == [blob.name]
    stored = s3.get_object(Bucket=BUCKET, Key=blob.name)["Body"].read()
    assert len(stored) > len(data) and data[:64] not in stored
    with blobs.open_blob(blob) as stream:
        assert stream.read() == data


def test_oversized_or_cut_off_uploads_leave_no_object(patient, s3, settings):
    with pytest.raises(BlobTooLarge):
        blobs.store_blob(patient, io.BytesIO(b"a" * (2 * MIB)), max_bytes=MIB)

    def cut_off():
        yield b"b" * MIB
        raise OSError("client went away")

    with pytest.raises(BlobIncomplete):
        blobs.store_blob(patient, cut_off(), max_bytes=8 * MIB)
    assert _keys(s3) == [] and not Blob.objects.exists()
    spool = settings.BLOB_DIR / ".incoming"
    assert not spool.exists() or not any(spool.iterdir())


def test_object_altered_in_the_bucket_fails_closed(patient, s3):
    blob = blobs.store_blob(patient, io.BytesIO(b"resultats de biologie"), max_bytes=MIB)
    stored = bytearray(s3.get_object(Bucket=BUCKET, Key=blob.name)["Body"].read())
    stored[-5] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=blob.name, Body=bytes(stored))
    with pytest.raises(DecryptionError), blobs.open_blob(blob) as stream:
        stream.read()
