"""Browser fixtures: Cordée served for real by uvicorn, driven by Debian's Chromium.

``cordee_server`` runs the production ASGI application (``cordee.asgi:application``) under
uvicorn, in a background thread of the test process, on 127.0.0.1 and a free port. Why a
thread rather than a ``uvicorn`` subprocess:

- It shares the test database as it is, on both engines: the server's request threads open
  their own connections to it (on SQLite the test database is a file, see
  ``tests/conftest.py``), and ``transactional_db`` makes what the test writes committed, hence
  visible to them, as it would be to another process.
- The server sees the test's settings (the fast password hasher the personas were hashed
  with, the locmem e-mail backend whose ``mail.outbox`` a test can read), with no start-up cost.

uvicorn leaves signal handlers alone outside the main thread (``Server.capture_signals``), so
stopping is ``should_exit = True`` and a join. Pages are visited at ``http://localhost:PORT``,
not the IP: WebAuthn refuses IP addresses as relying-party ids.

Playwright's sync API keeps an asyncio loop marked as running in the test's thread while it is
started, and Django rightly refuses ORM calls there. So Playwright starts after the database
fixtures (``page`` depends on ``personas``), stops before they are torn down, and a test that
needs the ORM meanwhile goes through ``support.orm`` (a worker thread).
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from django.db import connections

from tests.conftest import clear_cache, require

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Runs before any page script, on every document: CSP violations become console errors that
# name the directive, whatever Chromium itself prints.
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so that fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@dataclass
class LiveCordee:
    url: str  # http://localhost:PORT, no trailing slash
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def cordee_server(transactional_db, monkeypatch) -> Iterator[LiveCordee]:
    for alias in connections:
        # Request threads live for one request: close their connections when it ends.
        monkeypatch.setitem(connections.settings[alias], "CONN_MAX_AGE", 0)
    clear_cache()  # rate limits and used TOTP codes are cached, and the cache table is not flushed

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config("cordee.asgi:application", lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield LiveCordee(url=f"http://localhost:{port}", server=server, thread=thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class BrowserIssues:
    """What the browser complained about while a test ran."""

    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        text = f"{message.text} ({message.location.get('url', '')})"
        if message.text.startswith("CSP violation") or "Content Security Policy" in message.text:
            self.csp_violations.append(text)
        else:
            self.console_errors.append(text)

    def on_page_error(self, error) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def assert_clean(self) -> None:
        assert not self.csp_violations, self.csp_violations
        assert not self.console_errors, self.console_errors


@pytest.fixture
def browser_issues() -> BrowserIssues:
    return BrowserIssues()


@pytest.fixture
def chromium_executable() -> str:
    chromium = shutil.which("chromium")
    require("chromium", chromium is not None, "install Debian's chromium package (make browser)")
    assert chromium is not None
    return chromium


@pytest.fixture
def page(request, chromium_executable, cordee_server, personas, browser_issues):
    """A fresh French-speaking Chromium page whose relative URLs go to ``cordee_server``.

    ``chromium_executable`` comes first so that a missing browser skips before the server starts.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=cordee_server.url, locale="fr-FR", viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(10_000)
        context.add_init_script(_REPORT_CSP)
        page = context.new_page()
        page.on("console", browser_issues.on_console)
        page.on("pageerror", browser_issues.on_page_error)
        try:
            yield page
        finally:
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the real failure
                    print(f"no failure screenshot: {exc}")
            context.close()
            browser.close()
