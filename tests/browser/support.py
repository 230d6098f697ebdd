"""Helpers for the browser tests: ORM calls beside Playwright, TOTP codes, sign-in, screenshots."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from allauth.mfa import app_settings as mfa_settings
from django.db import connections

from cordee.accounts import demo

T = TypeVar("T")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def orm(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """Run ORM code while Playwright is started.

    Playwright's sync API marks an asyncio loop as running in the test's thread, so Django
    refuses the ORM there (SynchronousOnlyOperation). A short-lived worker thread has no loop;
    it opens its own connection to the test database and closes it when done.
    """

    def work() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def fresh_totp(code_for: Callable[[float], str] = lambda at: demo.totp_now(at=at), *, margin: float = 3) -> str:
    """A TOTP code that stays valid for at least ``margin`` seconds (allauth has no tolerance)."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 0.05)
    return code_for(time.time())


def sign_in(page, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    """Fill allauth's login form; the page then shows the next step (second factor, set-up or home)."""
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()


def sign_out(page) -> None:
    """Sign out from the user menu of the shell (a form in the menu's panel)."""
    page.locator("details.user-menu summary").click()
    page.locator("details.user-menu form[action$='/logout/'] button").click()


def enter_totp(page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.locator("form:has(input[name=code]) button[type=submit]").first.click()


def shoot(page, name: str) -> Path:
    """A full-page screenshot kept in test-artifacts/screenshots/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
