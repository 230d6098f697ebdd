"""Backup benchmark (issue 18, measure): restic against tar + the same class of encryption, and the
recovery time of a full installation.

Run: ``.venv/bin/python bench/backup/run.py`` (1 GiB of blobs, demo + 100,000 messages + 1 GiB of
files), or ``--quick`` (128 MiB, 10,000 messages, 128 MiB). Everything happens in a temporary data
directory (SQLite), removed afterwards.

1. **Throughput**, on a blob directory of ``--blob-mib`` MiB (random bytes: blobs are ciphertext,
   so neither side can compress or deduplicate them), in the same run:
   - baseline ``tar``: ``tar -c`` piped into AES-256-GCM in 1 MiB segments (``cryptography``, the
     AEAD Cordée's vault and escrow use; restic itself uses AES-256-CTR + Poly1305-AES), written to
     one file and fsynced (restic fsyncs each pack: both are measured until the backup is on
     disk); restore: decrypt, piped into ``tar -x`` (neither side fsyncs a restore);
   - ``restic backup`` into a new repository, ``restic restore`` into a new directory.
   MB/s = MiB of blobs / seconds; ratio = restic / tar (aim ≥ 50 %). Then 1 % new blobs and a
   second restic backup (the nightly case: restic reads and uploads only what is new).
2. **Recovery**: the demo data, ``--messages`` encrypted messages (bulk-inserted), ``--files-mib`` MiB
   of real encrypted blobs (``vault.blobs.store_blob``), then ``restore_drill``: backup → restore
   into a new directory → every self-check (counts, audit verify, decryption of a sample).

Reports: bench/backup/report.json and report.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MIB = 1 << 20
PASSWORD = "bench-repository-password-not-secret"  # noqa: S105  (a throw-away repository of the bench)


def _setup(work: Path) -> None:
    os.environ.update(
        DEBUG="1",
        CORDEE_DATA_DIR=str(work / "data"),
        AUDIT_CHECKPOINT_COPY="",
        BACKUP_REPOSITORY=str(work / "repo-drill"),
        BACKUP_PASSWORD=PASSWORD,
        DJANGO_SETTINGS_MODULE="cordee.settings",
        TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def _random_tree(directory: Path, mib: int) -> None:
    sizes = [256 * 1024, MIB, 4 * MIB, 8 * MIB]
    written, index = 0, 0
    while written < mib * MIB:
        size = min(sizes[index % len(sizes)], mib * MIB - written)
        sub = directory / f"{index % 256:02x}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / uuid.uuid4().hex).write_bytes(os.urandom(size))
        written += size
        index += 1


def _tar_encrypt(source: Path, out: Path, key: bytes) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    tar = subprocess.Popen(["tar", "-C", str(source.parent), "-cf", "-", source.name], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    with out.open("wb") as handle:
        counter = 0
        while chunk := tar.stdout.read(MIB):
            sealed = aead.encrypt(counter.to_bytes(12, "big"), chunk, None)
            handle.write(len(sealed).to_bytes(4, "big") + sealed)
            counter += 1
        # On disk before it counts as a backup: restic fsyncs every pack it writes (72 fsyncs for
        # 512 MiB, seen with strace), so the baseline does the same for its one archive.
        handle.flush()
        os.fsync(handle.fileno())
    assert tar.wait() == 0


def _tar_decrypt(archive: Path, target: Path, key: bytes) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    target.mkdir(parents=True)
    tar = subprocess.Popen(["tar", "-C", str(target), "-xf", "-"], stdin=subprocess.PIPE)
    assert tar.stdin is not None
    with archive.open("rb") as handle:
        counter = 0
        while header := handle.read(4):
            sealed = handle.read(int.from_bytes(header, "big"))
            tar.stdin.write(aead.decrypt(counter.to_bytes(12, "big"), sealed, None))
            counter += 1
    tar.stdin.close()
    assert tar.wait() == 0


def _timed(function: Any, *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def throughput(work: Path, mib: int) -> dict[str, Any]:
    from cordee.backups import restic

    blobs = work / "throughput" / "blobs"
    _random_tree(blobs, mib)
    key = os.urandom(32)
    tar_backup = _timed(_tar_encrypt, blobs, work / "throughput" / "archive.enc", key)
    tar_restore = _timed(_tar_decrypt, work / "throughput" / "archive.enc", work / "throughput" / "tar-out", key)
    (work / "throughput" / "archive.enc").unlink()
    shutil.rmtree(work / "throughput" / "tar-out")
    repository = restic.Repository(str(work / "throughput" / "repo"), PASSWORD)
    repository.init_if_needed()
    # What every restic command pays before reading a byte: opening the repository derives its key
    # from the password with scrypt (parameters restic sets at init, ~0.5 s of CPU here) and reads
    # its index. Measured alone (``restic cat config``, best of 3), to report the rate past it too.
    opening = min(_timed(repository.run, "cat", "config") for _ in range(3))
    restic_backup = _timed(repository.backup, ["blobs"], cwd=work / "throughput", tags=["bench"])
    restic_restore = _timed(repository.restore, "latest", work / "throughput" / "restic-out")
    # The next night: 1 % new blobs. restic reads only the new files (the others are unchanged by
    # size, mtime and inode) and uploads only them; tar + encryption would redo the whole directory.
    _random_tree(blobs / "new", max(mib // 100, 1))
    restic_next = _timed(repository.backup, ["blobs"], cwd=work / "throughput", tags=["bench"])
    shutil.rmtree(work / "throughput")

    def rate(seconds: float) -> float:
        return round(mib / seconds, 1)

    return {
        "mib": mib,
        "tar_aesgcm": {"backup_mb_s": rate(tar_backup), "restore_mb_s": rate(tar_restore)},
        "restic": {"backup_mb_s": rate(restic_backup), "restore_mb_s": rate(restic_restore)},
        "ratio_backup": round(tar_backup / restic_backup, 2),
        "restic_opening_seconds": round(opening, 2),
        "restic_backup_mb_s_past_opening": rate(restic_backup - opening),
        "ratio_backup_past_opening": round(tar_backup / (restic_backup - opening), 2),
        "ratio_restore": round(tar_restore / restic_restore, 2),
        "restic_next_backup_seconds": round(restic_next, 2),
        "tar_next_backup_seconds_estimate": round(tar_backup * 1.01, 2),
    }


def _messages(count: int) -> float:
    from cordee.messaging.models import Conversation, Message

    started = time.perf_counter()
    conversation = Conversation.objects.order_by("pk").first()
    assert conversation is not None
    member = conversation.members.first()
    sender = member.user if member else None
    base = max(Message.objects.filter(conversation=conversation).values_list("seq", flat=True), default=0)
    batch = []
    for n in range(1, count + 1):
        batch.append(
            Message(
                conversation=conversation,
                seq=base + n,
                rev_seq=base + n,
                sender=sender,
                body=f"Bench message {n}: tension 13/8, à revoir dans 15 jours.",
                client_key=uuid.uuid4().hex,
            )
        )
        if len(batch) == 2000:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)
    return time.perf_counter() - started


def _files(mib: int) -> float:
    from cordee.accounts.models import Patient
    from cordee.vault.blobs import store_blob

    started = time.perf_counter()
    patient = Patient.objects.order_by("pk").first()
    for _ in range(max(mib // 4, 1)):
        store_blob(patient, io.BytesIO(os.urandom(4 * MIB)), max_bytes=8 * MIB)
    return time.perf_counter() - started


def recovery(work: Path, messages: int, files_mib: int) -> dict[str, Any]:
    from cordee import demo
    from cordee.backups import drill
    from cordee.messaging.models import Message
    from cordee.vault.models import Blob

    demo.seed(with_mfa=False, with_documents=True)
    fill = {"messages_seconds": round(_messages(messages), 1), "files_seconds": round(_files(files_mib), 1)}
    report = drill.run(work_dir=work / "drill")
    return {
        "messages": Message.objects.count(),
        "blobs": Blob.objects.count(),
        "fill": fill,
        "ok": report["ok"],
        "failures": report.get("failures", []),
        "backup_seconds": report.get("backup", {}).get("seconds"),
        "restore_seconds": report.get("restore_seconds"),
        "checks_seconds": report.get("checks_seconds"),
        "drill_seconds": report.get("seconds"),
        "checks": report.get("checks", {}),
    }


def _markdown(report: dict[str, Any]) -> str:
    t, r = report["throughput"], report["recovery"]
    return "\n".join(
        [
            "# bench/backup",
            "",
            f"{report['when']} on {report['machine']} (load {report['load']}); args: `{report['args']}`",
            "",
            f"## Throughput ({t['mib']} MiB of blobs, same run)",
            "",
            "| | backup MB/s | restore MB/s |",
            "|---|---|---|",
            f"| tar + AES-256-GCM | {t['tar_aesgcm']['backup_mb_s']} | {t['tar_aesgcm']['restore_mb_s']} |",
            f"| restic | {t['restic']['backup_mb_s']} | {t['restic']['restore_mb_s']} |",
            f"| ratio restic / tar | {t['ratio_backup']} | {t['ratio_restore']} |",
            "",
            f"restic opens the repository in {t['restic_opening_seconds']} s (scrypt key derivation, index) "
            f"before each command; past that, its backup runs at {t['restic_backup_mb_s_past_opening']} MB/s "
            f"(ratio {t['ratio_backup_past_opening']}). The headline ratio above counts the whole command.",
            "",
            f"Next backup with 1 % new blobs: restic {t['restic_next_backup_seconds']} s "
            f"(tar + encryption redoes everything: ~{t['tar_next_backup_seconds_estimate']} s).",
            "",
            f"## Recovery (demo + {r['messages']} messages + {r['blobs']} blobs, SQLite)",
            "",
            f"drill ok: {r['ok']}; backup {r['backup_seconds']} s, restore {r['restore_seconds']} s, "
            f"checks {r['checks_seconds']} s, whole drill {r['drill_seconds']} s",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="128 MiB, 10,000 messages, 128 MiB of files")
    parser.add_argument("--blob-mib", type=int)
    parser.add_argument("--messages", type=int)
    parser.add_argument("--files-mib", type=int)
    args = parser.parse_args()
    blob_mib = args.blob_mib or (128 if args.quick else 1024)
    messages = args.messages or (10_000 if args.quick else 100_000)
    files_mib = args.files_mib or (128 if args.quick else 1024)
    work = Path(tempfile.mkdtemp(prefix="cordee-bench-backup-"))
    try:
        _setup(work)
        report = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load": round(os.getloadavg()[0], 1),
            "args": " ".join(sys.argv[1:]) or "(full)",
            "throughput": throughput(work, blob_mib),
            "recovery": recovery(work, messages, files_mib),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "report.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
