"""Fixtures of the API tests: the demo conversations, and Cordée served for real (for schemathesis)."""

from tests.browser.conftest import cordee_server  # noqa: F401  (uvicorn in a thread, on the test database)
from tests.messaging.conftest import threads  # noqa: F401  (Alice↔Bob, Paula's care team, Alice↔Paula)
