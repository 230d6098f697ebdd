"""Encrypted blob store benchmark: store and read MB/s of a file against the same bytes unencrypted and raw AES-GCM.

Run: ``.venv/bin/python bench/vault/run.py`` (``--mib N`` per file, default 20). For each database
that holds the ``Blob`` rows (a SQLite file, and PostgreSQL if reachable, else skipped with a
message), a child process migrates a fresh database and measures, 7 times, in the same run, on the
same bytes (N distinct random MiB, fed 1 MiB at a time), interleaved with the order alternated:

- ``blob``: ``store_blob()`` to the local blob directory (Tink's AES256-GCM-HKDF streaming format,
  1 MiB segments, written and read by ``vault.streaming``; temporary file, fsync, rename, directory
  fsync, Blob row) and ``iter_blob()`` (what a download streams);
- ``tink`` (before, decision 0012): the same store and read through Tink's own Python streaming classes,
  as ``blobs.py`` did until then (an unbuffered file behind a write-through sink; 256 KiB reads);
- ``plain`` (the same storage, unencrypted): the same bytes through the store's own temporary file,
  fsync, rename and directory fsync, and read back 1 MiB at a time: no encryption, no Blob row;
- ``raw`` (the baseline issue 13 names): ``cryptography``'s AESGCM encrypting / decrypting the same
  1 MiB chunks in memory, no I/O at all.

MB/s are MiB/s of clear data. Report: median, min, max of the repetitions, and the median of the
ratios within each repetition, in bench/vault/report.json and bench/vault/report.md. Aim: ≥ 50 % of
the same-run baselines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REPETITIONS = 7
MIB = 1 << 20
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cordee_bench_vault"
MEASURES = (
    "blob_write",
    "tink_write",
    "plain_write",
    "raw_encrypt",
    "blob_read",
    "tink_read",
    "plain_read",
    "raw_decrypt",
)


# --- child: one database ---------------------------------------------------------------------
def _timed(function, mib: int) -> float:
    os.sync()  # start each measurement with no earlier write-back pending
    start = time.perf_counter()
    function()
    return mib / (time.perf_counter() - start)


def _raw(data: list[bytes]) -> dict[str, float]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    nonces = [os.urandom(12) for _ in data]
    sealed = [aead.encrypt(nonces[i], chunk, None) for i, chunk in enumerate(data)]

    def encrypt() -> None:
        for index, chunk in enumerate(data):
            aead.encrypt(nonces[index], chunk, None)

    def decrypt() -> None:
        for index, chunk in enumerate(sealed):
            aead.decrypt(nonces[index], chunk, None)

    return {"raw_encrypt": _timed(encrypt, len(data)), "raw_decrypt": _timed(decrypt, len(data))}


def _plain(data: list[bytes]) -> dict[str, float]:
    from cordee.vault import blobs

    store = blobs.get_store()
    name = os.urandom(16).hex()

    def write() -> None:
        incoming = store.incoming()
        for chunk in data:
            incoming[0].write(chunk)
        store.commit(incoming, name)

    def read() -> None:
        with open(store.path(name), "rb") as handle:
            while handle.read(MIB):
                pass

    result = {"plain_write": _timed(write, len(data)), "plain_read": _timed(read, len(data))}
    store.delete(name)
    return result


def _blob(data: list[bytes], owner: Any) -> dict[str, float]:
    from cordee.vault import blobs

    stored: list[Any] = []
    size = len(data) * MIB
    write = _timed(lambda: stored.append(blobs.store_blob(owner, iter(data), max_bytes=size)), len(data))

    def read() -> None:
        for _chunk in blobs.iter_blob(stored[0]):
            pass

    result = {"blob_write": write, "blob_read": _timed(read, len(data))}
    blobs.get_store().delete(stored[0].name)
    return result


class _Sink(io.RawIOBase):
    """The write-through sink ``blobs.py`` put between Tink and the file (Tink closes its destination)."""

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._raw = raw

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        written = self._raw.write(data)
        return len(data) if written is None else written

    def close(self) -> None:
        if not self.closed:
            self._raw.flush()
        super().close()


def _tink(data: list[bytes], owner: Any) -> dict[str, float]:
    """The blob store before decision 0012: Tink's streaming classes, as ``blobs.py`` used them."""
    from cordee.vault import blobs, services
    from cordee.vault.models import Blob

    store = blobs.get_store()
    reference = services.ref(owner)
    stored: list[Any] = []

    def write() -> None:
        streaming = services.streaming_aead_for(owner)
        blob = Blob(owner_type=reference.owner_type, owner_id=reference.owner_id, backend=store.kind, size=0)
        incoming = store.incoming()
        stream = streaming.new_encrypting_stream(_Sink(incoming[0]), blobs._aad(blob))
        for chunk in data:
            blob.size += len(chunk)
            stream.write(chunk)
        stream.close()
        store.commit(incoming, blob.name)
        blob.save(force_insert=True)
        stored.append(blob)

    def read() -> None:
        blob = stored[0]
        streaming = services.streaming_aead_for(services.OwnerRef(blob.owner_type, blob.owner_id), create=False)
        with streaming.new_decrypting_stream(store.open(blob.name), blobs._aad(blob)) as stream:
            while stream.read(256 << 10):
                pass

    result = {"tink_write": _timed(write, len(data)), "tink_read": _timed(read, len(data))}
    store.delete(stored[0].name)
    return result


def child(mib: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no query logging while timing
    call_command("migrate", "vault", verbosity=0)  # Blob and DataKey rows; the owner is a bare reference
    from cordee.vault.services import OwnerRef

    owner = OwnerRef("bench.owner", "00000000-0000-4000-8000-00000000be0c")
    data = [os.urandom(MIB) for _ in range(mib)]  # the file's bytes: held by the benchmark, not the store
    Path(settings.BLOB_DIR).mkdir(parents=True, exist_ok=True)
    steps = [lambda: _blob(data, owner), lambda: _tink(data, owner), lambda: _plain(data), lambda: _raw(data)]
    runs = []
    for repetition in range(REPETITIONS):  # interleaved, order alternated: noise hits every side
        run: dict[str, float] = {}
        for step in steps if repetition % 2 == 0 else reversed(steps):
            run.update(step())
        runs.append(run)
    sys.stdout.write(json.dumps(runs) + "\n")


# --- parent: databases, report -----------------------------------------------------------------
def _postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
            admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    except Exception as exc:  # noqa: BLE001  (any failure: no PostgreSQL here)
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB


def _run_child(mib: int, database_url: str | None, workdir: Path) -> list[dict[str, float]]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        DEBUG="1",
        CORDEE_DATA_DIR=str(workdir),
        BLOB_BACKEND="local",
        BLOB_DIR=str(workdir / "blobs"),
        TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
    )
    if database_url:
        environment["DATABASE_URL"] = database_url
    completed = subprocess.run(
        [sys.executable, __file__, "--child", "--mib", str(mib)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for measure in MEASURES:
        values = [run[measure] for run in runs]
        median = statistics.median(values)
        summary[measure] = {
            "median": round(median, 1),
            "min": round(min(values), 1),
            "max": round(max(values), 1),
            "spread_pct": round(100 * (max(values) - min(values)) / median, 1),
        }

    def ratio(subject: str, baseline: str) -> float:
        """Median of the ratios within each repetition: both sides measured seconds apart, so a load that
        comes and goes on this shared machine hits them together."""
        return round(statistics.median(run[subject] / run[baseline] for run in runs), 3)

    summary["ratios"] = {
        "write_vs_plain_file": ratio("blob_write", "plain_write"),
        "write_vs_raw_aes_gcm": ratio("blob_write", "raw_encrypt"),
        "read_vs_plain_file": ratio("blob_read", "plain_read"),
        "read_vs_raw_aes_gcm": ratio("blob_read", "raw_decrypt"),
        "before_write_vs_plain_file": ratio("tink_write", "plain_write"),
        "before_write_vs_raw_aes_gcm": ratio("tink_write", "raw_encrypt"),
        "before_read_vs_plain_file": ratio("tink_read", "plain_read"),
        "before_read_vs_raw_aes_gcm": ratio("tink_read", "raw_decrypt"),
        "write_speed_up": ratio("blob_write", "tink_write"),
        "read_speed_up": ratio("blob_read", "tink_read"),
    }
    return summary


def _cell(entry: dict[str, float]) -> str:
    return f"{entry['median']:.0f} ({entry['min']:.0f}–{entry['max']:.0f})"


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Encrypted blob store benchmark",
        "",
        f"{report['date']} · Python {report['python']} · {report['machine']} · {report['mib']} MiB file × "
        f"{report['repetitions']} repetitions · MiB/s of clear data, median (min–max); ratios: median of the "
        "ratios within each repetition · local blob directory",
        "",
    ]
    for action, verb in (("write", "store"), ("read", "read")):
        raw = "raw_encrypt" if action == "write" else "raw_decrypt"
        lines += [
            f"## {verb.capitalize()}",
            "",
            f"| database | Cordée {verb} | before (Tink) | plain file | raw AES-GCM | Cordée / plain | Cordée / raw "
            "| before / plain | before / raw | speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, summary in report["databases"].items():
            r = summary["ratios"]
            lines.append(
                f"| {name} | {_cell(summary[f'blob_{action}'])} | {_cell(summary[f'tink_{action}'])} | "
                f"{_cell(summary[f'plain_{action}'])} | {_cell(summary[raw])} | "
                f"{r[f'{action}_vs_plain_file']:.0%} | {r[f'{action}_vs_raw_aes_gcm']:.0%} | "
                f"{r[f'before_{action}_vs_plain_file']:.0%} | {r[f'before_{action}_vs_raw_aes_gcm']:.0%} | "
                f"×{r[f'{action}_speed_up']:.1f} |"
            )
        lines.append("")
    lines += [report["aim"], "", report["note"], ""]
    return "\n".join(lines)


def parent(mib: int) -> None:
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "mib": mib,
        "repetitions": REPETITIONS,
        "aim": "Aim (issue 13): the blob store at ≥ 50 % of the same-run baselines for a 20 MiB file.",
        "note": (
            "Cordée: vault.streaming (Tink's format, cryptography's AES-GCM, a segment at a time in reused "
            "buffers, local blobs mapped for reading); before: Tink's Python streaming classes, as blobs.py used "
            "them until decision 0012. Plain file: the same bytes through the store's temporary file, fsync, "
            "rename and directory fsync, unencrypted. Storing is bound by the disk: the fsync that makes a "
            "blob durable costs the plain file as much, so no store that syncs can approach raw AES-GCM in "
            "memory (the plain file itself does not). Reads come from the page cache (just written): an unencrypted "
            "read is a copy, already faster than raw AES-GCM decrypting the same bytes in memory, so a read that "
            "must decrypt and authenticate every byte stays under 50 % of it on one core. Raw AES-GCM runs OpenSSL "
            "on the same bytes in memory, no I/O, nothing to check or stream. This machine (2 "
            "CPUs) is shared and noisy: see min–max."
        ),
        "databases": {},
    }
    databases = {"sqlite": None, "postgresql": _postgres_url()}
    for name, url in databases.items():
        if name == "postgresql" and url is None:
            continue
        with tempfile.TemporaryDirectory(prefix=f"cordee-bench-vault-{name}-") as workdir:
            report["databases"][name] = _summary(_run_child(mib, url, Path(workdir)))
        print(f"{name}: {json.dumps(report['databases'][name]['ratios'])}")
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (HERE / "report.md").write_text(_markdown(report), encoding="utf-8")
    print((HERE / "report.md").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=20, help="size of the file, in MiB (default 20)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    (child if arguments.child else parent)(arguments.mib)


if __name__ == "__main__":
    main()
