"""The socket's store path (``batcher._store``) driven inside this process, without a server.

    .venv/bin/python bench/messaging/inprocess.py [--postgres] [--batch 25] [-n 40] [--rounds 7] [--profile]

The world of ``run.py`` (its seed and production environment, 100 users); each round stores
``n`` batches of ``batch`` sends, user *i* to user *i+1* as in (c), through the function the
socket's batcher runs in its database thread: checks, the transaction, encryption, audit entries
and the events' frames (not their publishing). Prints the CPU per message (this process's, best
and median of 7 rounds), and the whole machine's (``/proc/stat``: with PostgreSQL, its server's
work too); ``--profile`` adds cProfile's top functions. A tool for finding where a
send's time goes; the figures to report are ``run.py``'s. On a noisy machine, count instructions
instead of CPU time: ``valgrind --tool=callgrind`` with ``--rounds 1 -n 40`` and ``--rounds 0``,
the difference being what 40 batches cost (deterministic, comparable across code versions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import run as messaging_run  # noqa: E402


def _busy_seconds() -> float:
    """CPU time of the whole machine (every process: PostgreSQL's too), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, *_ = (int(f) for f in fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis (default: SQLite)")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("-n", type=int, default=40, help="batches per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    name = "postgres-redis" if args.postgres else "sqlite"
    servers = messaging_run.Servers({"name": f"{name}-inproc", "postgres": args.postgres, "app": "cordee"}, {})
    try:
        world = servers.seed_here(100, 20)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
        import django

        django.setup()
        from cordee.accounts.models import User
        from cordee.messaging import batcher
        from cordee.messaging.services.sending import SendError, SendRequest

        users = list(User.objects.filter(pk__in=[u["id"] for u in world["users"]]).order_by("pk"))
        directs = world["directs"]
        counter = iter(range(10**9))

        def one_batch() -> None:
            requests = []
            for slot in range(args.batch):
                i = (next(counter) + slot) % len(directs)
                key = f"inproc-{next(counter):012d}"
                requests.append(
                    SendRequest(user=users[i], conversation_id=directs[i], body="Bonjour " * 8, client_key=key)
                )
            results, _events = batcher._store(requests)
            refused = [r for r in results if isinstance(r, SendError)]
            if refused:
                raise SystemExit(f"refused: {refused[0].code}")

        for _ in range(10):
            one_batch()
        cpu, machine = [], []
        for _ in range(args.rounds):
            start, busy = time.process_time(), _busy_seconds()
            for _ in range(args.n):
                one_batch()
            cpu.append((time.process_time() - start) * 1000 / (args.n * args.batch))
            machine.append((_busy_seconds() - busy) * 1000 / (args.n * args.batch))
        if cpu:
            own, whole = (min(cpu), statistics.median(cpu)), (min(machine), statistics.median(machine))
            print(
                f"{name} batch {args.batch}: CPU ms/message best {own[0]:.3f} median {own[1]:.3f}; "
                f"the whole machine's (database server included) best {whole[0]:.3f} median {whole[1]:.3f}"
            )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.n):
                one_batch()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(70)
            stats.sort_stats("tottime").print_stats(35)
            print(out.getvalue())
    finally:
        servers.__exit__()


if __name__ == "__main__":
    main()
