"""Video benchmark: call set-up time in real Chromium, and the server's CPU per signalling frame
against the messaging send path, in the same run.

Run: ``.venv/bin/python bench/video/run.py`` (``--quick`` for small counts). One configuration
(SQLite, one uvicorn process, production settings: messaging's bench ``Servers``), fresh data
seeded by messaging's ``seed.py``.

(a) **Set-up time 1:1**: Alice's browser opens the direct conversation and clicks "Appel vidéo";
    as soon as the call page's address is known Bob's browser opens it (a person would click the
    ringing banner: their reaction time is not Cordée's); measured from the click until both
    peer connections are ``connected``. Chromium with fake camera and microphone, loopback,
    no TURN. Each call is ended (by Alice) before the next. The same for a 4-party mesh: from the
    click until every one of the 4 browsers has its 3 connections ``connected``.
(b) **Server CPU per frame**: two sockets joined to one call; N ``call.ice`` frames relayed from
    one to the other (each checked against the database), then N messages sent in the same
    conversation (send → ack, received by the other), in alternation, 3 repetitions; CPU time
    of the uvicorn process (``/proc``) divided by N, and the ratio.
(c) **Set-up time through the SFU**: Janus (Debian's package) started on loopback with the
    configuration ``manage.py janus_config`` writes, Cordée with ``VIDEO_SFU=janus``; a meeting of
    five (a group larger than the mesh): from the click until each of the 5 browsers has its
    publisher and its 4 subscriptions ``connected``. Skipped when Janus is not installed.

Report: bench/video/report.json and report.md. On this shared 2-core machine the 4-party set-up
is dominated by four Chromium renderers each encoding three and decoding three fake video
streams: it measures the machine more than Cordée (whose part is a few signalling frames).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "messaging"))

import client as workload  # noqa: E402
import run as messaging_bench  # noqa: E402

CONFIG = {"name": "sqlite-1", "app": "cordee", "postgres": False, "processes": 1}
FULL = {"setups": 15, "mesh_setups": 3, "sfu_setups": 3, "frames": 1000, "repetitions": 3}
QUICK = {"setups": 3, "mesh_setups": 1, "sfu_setups": 1, "frames": 100, "repetitions": 1}
MEDIA_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
ALL_CONNECTED = """(peers) => window.cordeeCall && window.cordeeCall.peers.size === peers
  && [...window.cordeeCall.peers.values()].every((p) => p.pc && p.pc.connectionState === "connected")
  && (!window.cordeeCall.sfu.config || window.cordeeCall.sfu.publisher?.connectionState === "connected")"""
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}


def percentile(values: list[float], q: float) -> float | None:
    return workload.percentile(values, q)


def _ms(values: list[float]) -> dict[str, Any]:
    values = sorted(values)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1) if values else None,
        "p99_ms": round(percentile(values, 99) * 1000, 1) if values else None,
        "max_ms": round(values[-1] * 1000, 1) if values else None,
    }


# --- (a) set-up time in Chromium ----------------------------------------------------------------


def _cookie(header: str, port: int) -> dict[str, Any]:
    name, _eq, value = header.partition("=")
    return {"name": name, "value": value, "domain": "localhost", "path": "/", "secure": name.startswith("__")}


def setup_times(
    port: int, world: dict[str, Any], *, setups: int, mesh_setups: int, sfu_setups: int, meeting: int | None
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        return {"skipped": "chromium is not installed (make browser)"}
    base = f"http://localhost:{port}"
    users = world["users"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=MEDIA_ARGS)
        pages = []
        for user in users[:5]:
            context = browser.new_context(base_url=base, locale="fr-FR", permissions=["camera", "microphone"])
            context.add_cookies([_cookie(user["cookie"], port)])
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and print("console:", m.text, file=sys.stderr))
            page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr))
            pages.append(page)
        try:
            pair_loaded: list[float] = []
            mesh_loaded: list[float] = []
            sfu_loaded: list[float] = []
            pair = _calls(pages[:2], f"/messagerie/{world['directs'][0]}/", setups, pair_loaded)
            mesh = _calls(pages[:4], f"/messagerie/{world['group']}/", mesh_setups, mesh_loaded)
            sfu = _calls(pages, f"/messagerie/{meeting}/", sfu_setups, sfu_loaded) if meeting else []
        finally:
            browser.close()
    result = {
        "one_to_one": _ms(pair),
        "mesh_4": _ms(mesh),
        "pages_loaded": {"one_to_one": _ms(pair_loaded), "mesh_4": _ms(mesh_loaded), "sfu_5": _ms(sfu_loaded)},
    }
    result["sfu_5"] = _ms(sfu) if meeting else {"skipped": "Janus is not installed (make sfu-server)"}
    return result


def _calls(pages: list[Any], conversation_url: str, count: int, phases: list[float]) -> list[float]:
    """Set-up times; ``phases`` gets, for each, the time until every page was loaded (the rest is
    getUserMedia, signalling and ICE)."""
    caller, others = pages[0], pages[1:]
    times = []
    for _ in range(count):
        caller.goto(conversation_url)
        try:
            caller.wait_for_selector("[data-conn][data-state=online]")
        except Exception:
            raise RuntimeError(f"the conversation page did not connect: {caller.url}") from None
        start = caller.locator("[data-call-start]")
        started = time.perf_counter()
        start.click()
        caller.wait_for_url("**/visio/appels/*/")
        for page in others:
            page.goto(caller.url)
        loaded = time.perf_counter()
        for page in pages:
            page.wait_for_function(ALL_CONNECTED, arg=len(pages) - 1, polling=20)
        times.append(time.perf_counter() - started)
        phases.append(loaded - started)
        restarts = sum(page.evaluate("window.cordeeCall.counts.restarts") for page in pages)
        assert restarts == 0, f"{restarts} ICE restart(s) during a set-up on loopback"
        caller.locator("[data-end]").click()
        for page in pages:
            page.wait_for_selector("[data-call][data-over=true]")
    return times


# --- (c) Janus on loopback -----------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _janus(env: dict[str, str], directory: Path) -> Any:
    """Janus configured by ``manage.py janus_config`` on ports of this run; ``env`` gets the
    settings that send the meeting's calls through it. Yields False when Janus is not installed."""
    import secrets

    binary = shutil.which("janus")
    if binary is None:
        yield False
        return
    http_port, ws_port = _free_port(), _free_port()
    low = 20_000 + secrets.randbelow(400) * 100
    env |= {
        "VIDEO_SFU": "janus",
        "VIDEO_JANUS_URL": f"http://127.0.0.1:{http_port}/janus",
        "VIDEO_JANUS_WS_URL": f"ws://127.0.0.1:{ws_port}",
        "VIDEO_JANUS_SECRET": secrets.token_hex(16),
        "VIDEO_JANUS_ADMIN_KEY": secrets.token_hex(16),
    }
    command = [sys.executable, "manage.py", "janus_config", str(directory), "--ws-port", str(ws_port)]
    subprocess.run([*command, "--rtp-ports", f"{low}-{low + 99}"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = (directory / "janus.log").open("w")
    process = subprocess.Popen(  # noqa: S603  (Debian's janus, our configuration)
        [binary, "-C", str(directory / "janus.jcfg"), "-F", str(directory), "-o", "-d", "3"], stdout=log, stderr=log
    )
    try:
        time.sleep(1.5)  # Janus opens its ports within a second; the seed and servers start after
        if process.poll() is not None:
            raise RuntimeError("Janus did not start: " + (directory / "janus.log").read_text())
        yield True
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


# --- (b) CPU per signalling frame vs per message --------------------------------------------------


async def _frames(port: int, world: dict[str, Any], call: int, frames: int, repetitions: int, pid: int) -> dict:
    users = world["users"]
    first = await workload.connect(port, users[0]["cookie"])
    second = await workload.connect(port, users[1]["cookie"])
    relayed = asyncio.Queue()

    async def listen(ws: Any) -> None:
        async for text in ws:
            if '"call.ice"' in text:
                relayed.put_nowait(text)

    for client in (first, second):  # this measure reads the sockets itself until the call is joined
        client.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await client.reader
    try:
        for client in (first, second):
            await client.ws.send(json.dumps({"type": "call.join", "call": call}))
            while json.loads(await client.ws.recv())["type"] != "call.joined":
                pass
        second_reader = asyncio.create_task(listen(second.ws))
        first.reader = asyncio.create_task(first.read())  # for acks of the sends
        signal_cpu, message_cpu, signal_rtt, send_rtt = [], [], [], []
        frame = json.dumps({"type": "call.ice", "call": call, "to": users[1]["id"], "candidate": CANDIDATE})
        for _ in range(repetitions):
            before = messaging_bench._cpu_seconds([pid])
            for _n in range(frames):
                sent = time.perf_counter()
                await first.ws.send(frame)
                await asyncio.wait_for(relayed.get(), 10)
                signal_rtt.append(time.perf_counter() - sent)
            signal_cpu.append((messaging_bench._cpu_seconds([pid]) - before) / frames * 1000)
            before = messaging_bench._cpu_seconds([pid])
            for _n in range(frames):
                sent, acked, _ack = await first.send(world["directs"][0])
                send_rtt.append(acked - sent)
            message_cpu.append((messaging_bench._cpu_seconds([pid]) - before) / frames * 1000)
        second_reader.cancel()
    finally:
        await workload.close_all([first, second])
    signal, message = statistics.median(signal_cpu), statistics.median(message_cpu)
    return {
        "frames_per_repetition": frames,
        "repetitions": repetitions,
        "server_cpu_ms_per_signal_frame": {"median": round(signal, 3), "all": [round(v, 3) for v in signal_cpu]},
        "server_cpu_ms_per_message_send": {"median": round(message, 3), "all": [round(v, 3) for v in message_cpu]},
        "ratio_signal_to_message": round(signal / message, 3) if message else None,
        "signal_relay_round_trip": _ms(signal_rtt),
        "message_send_to_ack": _ms(send_rtt),
    }


def _make(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run make_call.py (a call, or a meeting group) against the bench's database: its JSON line."""
    command = [sys.executable, str(HERE / "make_call.py"), *args]
    made = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(made.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    counts = QUICK if args.quick else FULL
    servers = messaging_bench.Servers(CONFIG, {"users": 5, "group": 4})
    servers.env["VIDEO_CALL_START_RATE"] = ""  # the bench starts calls back to back: no limit
    # WhiteNoise serves the collected files when DEBUG is off (as in production): collect them.
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    subprocess.run(collect, cwd=ROOT, env=servers.env, check=True, capture_output=True)
    import tempfile

    with (
        tempfile.TemporaryDirectory(prefix="cordee-bench-janus-") as janus_dir,
        _janus(servers.env, Path(janus_dir)) as has_janus,
        servers,
    ):
        port, pid = servers.ports[0], servers.processes[0].pid
        world = servers.world
        call = _make(servers.env, str(world["directs"][0]), str(world["users"][0]["id"]))["call"]
        result: dict[str, Any] = {
            "signalling": asyncio.run(_frames(port, world, call, counts["frames"], counts["repetitions"], pid))
        }
        subprocess.run(  # the call of (b) ends, so that (a) starts fresh ones
            [
                sys.executable,
                "-c",
                "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','cordee.settings');"
                "django.setup();from cordee.video.models import Call;Call.objects.update(state='ended')",
            ],
            cwd=ROOT,
            env=servers.env,
            check=True,
            capture_output=True,
        )
        meeting = None
        if has_janus:  # a group of the five users: more than the mesh's four, so through the SFU
            meeting = _make(servers.env, "meeting", *[str(u["id"]) for u in world["users"][:5]])["meeting"]
        result["setup"] = setup_times(
            port,
            world,
            setups=counts["setups"],
            mesh_setups=counts["mesh_setups"],
            sfu_setups=counts["sfu_setups"],
            meeting=meeting,
        )
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "configuration": CONFIG | {"quick": args.quick},
        **result,
    }
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "report.md").write_text(_markdown(report))
    print(json.dumps(report, indent=2))


def _markdown(report: dict[str, Any]) -> str:
    s, setup = report["signalling"], report["setup"]
    lines = [
        "# Video benchmark",
        "",
        f"{report['date']} · SQLite, one uvicorn process · {report['machine']['cpus']} CPUs (shared) · "
        f"quick={report['configuration']['quick']}",
        "",
        "| measure | p50 | p99 | n |",
        "|---|---|---|---|",
    ]
    if "skipped" in setup:
        lines.append(f"| call set-up | skipped: {setup['skipped']} | | |")
    else:
        for key, label in (
            ("one_to_one", "call set-up 1:1 (click → both connected)"),
            ("mesh_4", "call set-up, 4-party mesh"),
            ("sfu_5", "call set-up, 5 through Janus (click → all connected)"),
        ):
            m, loaded = setup[key], setup["pages_loaded"][key]
            if "skipped" in m:
                lines.append(f"| {label} | skipped: {m['skipped']} | | |")
                continue
            lines.append(f"| {label} | {m['p50_ms']} ms | {m['p99_ms']} ms | {m['n']} |")
            lines.append(
                f"| … of which until every call page is loaded | {loaded['p50_ms']} ms | {loaded['p99_ms']} ms | |"
            )
    for key, label in (
        ("signal_relay_round_trip", "call.ice relayed to the peer"),
        ("message_send_to_ack", "message send → ack"),
    ):
        m = s[key]
        lines.append(f"| {label} | {m['p50_ms']} ms | {m['p99_ms']} ms | {m['n']} |")
    lines += [
        "",
        f"Server CPU per signalling frame: {s['server_cpu_ms_per_signal_frame']['median']} ms; per message sent: "
        f"{s['server_cpu_ms_per_message_send']['median']} ms (ratio {s['ratio_signal_to_message']}; medians of "
        f"{s['repetitions']} × {s['frames_per_repetition']}).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
