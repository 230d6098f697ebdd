"""Where a messaging server spends its CPU under load: py-spy on the first server process during (c).

Run: ``.venv/bin/python bench/messaging/profile_server.py [--only sqlite-1] [--seconds 10]`` (root, or a
user allowed to ptrace). For each configuration, a fresh server as ``run.py`` starts it, the 50
senders of (c) for ``--seconds``, and ``py-spy record --gil`` on the first server process: only
the samples where a thread holds the GIL, i.e. where the process burns CPU. Writes, next to this
file, ``profile-<configuration>.txt`` (collapsed stacks, for speedscope or flamegraph.pl) and
``profile-<configuration>.md`` (the functions with the largest inclusive and own shares; the
stacks are left out of git, the summaries kept). The
sampling slows the server down: the rates of a profiled run are not reported anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import client as workload  # noqa: E402
import run  # noqa: E402

# The trunk of every stack (threads, the event loop, the server's start): not worth a line.
TRUNK = (
    "threading.py",
    "concurrent/futures/",
    "runpy",
    "click/",
    "uvicorn/main.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "asgiref/sync.py",
)


def _frame(raw: str) -> str:
    """``function (path:line)`` → ``function (file)``: lines apart, one entry per function."""
    name, _, where = raw.partition(" (")
    path = where.rsplit(":", 1)[0]
    short = path.split("site-packages/")[-1].replace(str(run.ROOT) + "/", "")
    return f"{name} ({short})" if where else name


def summarise(stacks: Path, top: int = 30) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = [_frame(f) for f in stack.split(";")]
        for frame in set(frames):
            if not any(part in frame for part in TRUNK):
                inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"# {stacks.stem}", "", f"{total} samples with the GIL held (py-spy --gil).", ""]
    for title, counter in (("Inclusive (the function and what it calls)", inclusive), ("Own time", own)):
        lines += [f"## {title}", "", "| share | function |", "|---|---|"]
        lines += [f"| {n / max(1, total):.1%} | `{frame}` |" for frame, n in counter.most_common(top)]
        lines.append("")
    return "\n".join(lines)


async def _load(servers: run.Servers, seconds: float, out: Path) -> None:
    world = servers.world
    clients = [
        await workload.connect(servers.ports[n % len(servers.ports)], user["cookie"], user=n)
        for n, user in enumerate(world["users"])
    ]
    try:
        await workload.sequential(clients, world, 50)  # warm up
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--pid", str(servers.processes[0].pid), "--duration", str(int(seconds))]
        command += ["--rate", "100", "--format", "raw", "--gil", "--nonblocking", "--output", str(out)]
        recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await workload.throughput(clients, world, 50, seconds, 1)
        _, error = await asyncio.to_thread(recorder.communicate)
        if recorder.returncode != 0:
            raise RuntimeError(f"py-spy failed: {error.decode(errors='replace')[-500:]}")
    finally:
        await workload.close_all(clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="configuration (repeatable); default: all but the baseline")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        sys.exit("py-spy is missing: make install-dev installs it")
    for config in run.CONFIGS:
        if config["app"] == "baseline" or (args.only and config["name"] not in args.only):
            continue
        reason = run._skip_reason(config)
        if reason:
            print(f"skipped {config['name']}: {reason}", file=sys.stderr)
            continue
        out = HERE / f"profile-{config['name']}.txt"
        with run.Servers(config, run.FULL) as servers:
            asyncio.run(_load(servers, args.seconds, out))
        out.with_suffix(".md").write_text(summarise(out) + "\n")
        print(f"{config['name']}: {out.with_suffix('.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
