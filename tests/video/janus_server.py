"""Debian's Janus started on loopback for a test, with a configuration of the run (``janus.config_files``,
the operator's own), and a raw client of its HTTP API to check what Janus lets in."""

from __future__ import annotations

import io
import json
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management import call_command

from tests.conftest import free_port, require


def host_address() -> str | None:
    """This machine's own non-loopback IPv4 address, if it has one (``ip``; nothing is sent: the
    tests connect nowhere but this machine)."""
    try:
        shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True)  # noqa: S607
    except OSError:
        return None
    for line in shown.stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    return None


@contextmanager
def running_janus(directory: Path, settings: Any, *, ice_address: str = "lo") -> Iterator[Path]:
    """Janus with signed tokens, its VideoRoom plugin only, HTTP and WebSocket APIs on loopback
    ports of this run (configured by ``manage.py janus_config``); the settings that send large
    calls through it. Its media candidates are on ``ice_address`` (loopback by default; the relay
    test gives the host's address: Linux does not route a loopback source to another address, so
    coturn relaying from 127.0.0.1 could not reach it). Yields the log's path."""
    from cordee.video import janus

    binary = shutil.which("janus")
    require("Janus", binary is not None, "install Debian's janus package (make sfu-server)")
    assert binary is not None
    secret, admin_key = secrets.token_hex(16), secrets.token_hex(16)
    http_port, ws_port = free_port(), free_port()
    rtp_low = 20_000 + secrets.randbelow(400) * 100  # a block of this run (Janus binds a port per stream)
    settings.VIDEO_SFU = "janus"
    settings.VIDEO_JANUS_URL = f"http://127.0.0.1:{http_port}/janus"
    settings.VIDEO_JANUS_WS_URL = f"ws://127.0.0.1:{ws_port}"
    settings.VIDEO_JANUS_SECRET = secret
    settings.VIDEO_JANUS_ADMIN_KEY = admin_key
    # The operator's command writes the configuration (its HTTP port is VIDEO_JANUS_URL's).
    call_command(
        "janus_config",
        str(directory),
        "--ws-port",
        str(ws_port),
        "--rtp-ports",
        f"{rtp_low}-{rtp_low + 99}",
        stdout=io.StringIO(),
    )
    main = directory / "janus.jcfg"
    log_path = directory / "janus.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603  (Debian's janus with our own configuration)
        [binary, "-C", str(main), "-F", str(directory), "-o", "-d", "3", "-E", ice_address],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with janus.Session(timeout=1):
                    break
            except janus.JanusError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("Janus did not start: " + log_path.read_text()) from None
                time.sleep(0.1)
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class RawJanus:
    """A client of Janus's HTTP API as a browser would be (its own token), for the refusals."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token
        self.session: int | None = None
        self.handle: int | None = None

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body | {"transaction": secrets.token_hex(6), "token": self.token}).encode()
        request = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  (loopback Janus of the test)
            return dict(json.loads(response.read()))

    def open(self) -> dict[str, Any]:
        created = self.post("", {"janus": "create"})
        if created["janus"] != "success":
            return created
        self.session = created["data"]["id"]
        attached = self.post(f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        self.handle = attached["data"]["id"]
        return created

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A VideoRoom request whose answer comes as an event (join): the event's data."""
        sent = self.post(f"/{self.session}/{self.handle}", {"janus": "message", "body": body})
        if sent["janus"] == "error":
            return {"error_code": sent["error"]["code"], "error": sent["error"]["reason"]}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            token = urllib.request.quote(self.token)
            url = f"{self.url}/{self.session}?maxev=1&rid={int(time.time() * 1000)}&token={token}"
            with urllib.request.urlopen(url, timeout=35) as response:  # noqa: S310  (long poll, loopback)
                event = json.loads(response.read())
            if event.get("janus") == "event" and event.get("sender") == self.handle:
                return dict(event["plugindata"]["data"])
        raise AssertionError("no answer from Janus")
