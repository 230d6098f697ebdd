"""The published API schema is true: schemathesis against Cordée served for real (issue 23).

A live server of the test run (uvicorn in a thread, on the test database with the personas), the
schema it publishes (``/api/openapi.json``), and schemathesis' command line run twice — signed in
as Alice (session cookie and CSRF token), and anonymous — with the checks not_a_server_error,
status_code_conformance, content_type_conformance, response_schema_conformance and
negative_data_rejection, over its coverage, fuzzing and stateful phases. Zero failures. Bounded:
``SCHEMATHESIS_MAX_EXAMPLES`` cases per operation (default 12), a fixed seed, so the run stays well
under a minute per identity. A new endpoint is covered by its schema alone.

``--generation-with-security-parameters false``: the session travels as a fixed header here, so
schemathesis must not expect a rejection from "removing" the cookie it cannot remove.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import login_as

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
CSRF = "s" * 32


def _schemathesis(url: str, headers: list[str], report_dir: Path) -> dict:
    st = Path(sys.executable).parent / "st"
    command = [str(st), "run", f"{url}/api/openapi.json", "--checks", CHECKS, "--workers", "1", "--no-color"]
    command += ["--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"), "--seed", "23"]
    command += ["--phases", "coverage,fuzzing,stateful", "--generation-with-security-parameters", "false"]
    command += ["--generation-database", "none", "--request-timeout", "30"]
    command += ["--report", "json", "--report-dir", str(report_dir)]
    for header in headers:
        command += ["-H", header]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)  # noqa: S603
    (report,) = glob.glob(str(report_dir / "*.json"))
    result = json.loads(Path(report).read_text())
    result["output"] = completed.stdout[-6000:] + completed.stderr[-2000:]
    result["returncode"] = completed.returncode
    return result


def _assert_clean(result: dict) -> None:
    assert result["test_cases"]["generated"] > 100, result["output"]
    assert result["failures"] == [] and result["errors"] == [], result["output"]
    assert result["returncode"] == 0, result["output"]


def test_the_api_keeps_its_schema_signed_in(cordee_server, personas, tmp_path):
    client = Client()
    login_as(client, personas["alice"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    headers = [f"Cookie: {settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={CSRF}"]
    headers.append(f"X-CSRFToken: {CSRF}")
    _assert_clean(_schemathesis(cordee_server.url, headers, tmp_path / "alice"))


def test_the_api_keeps_its_schema_anonymous(cordee_server, personas, tmp_path):
    headers = [f"Cookie: {settings.CSRF_COOKIE_NAME}={CSRF}", f"X-CSRFToken: {CSRF}"]
    result = _schemathesis(cordee_server.url, headers, tmp_path / "anonymous")
    _assert_clean(result)
