"""Fixtures of the video tests: messaging's demo threads and socket helpers (calls ride its socket)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from tests.messaging.conftest import communicator, in_memory_layer, receive_type, threads  # noqa: F401  (fixtures used here)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Each test counts its call starts from zero (the rate-limit cache is process-wide)."""
    from django.core.cache import caches

    caches["ratelimit"].clear()


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


async def connected(cookie):
    comm = communicator(cookie)
    ok, _code = await comm.connect()
    assert ok
    await receive_type(comm, "ready")
    return comm


async def frames_until(comm, kind, *, timeout=3):
    return await receive_type(comm, kind, timeout=timeout)
