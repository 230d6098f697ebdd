"""Names of what a test run creates on shared servers, chosen before Django reads its settings.

Loaded with ``-p tests.isolation`` (pyproject's ``addopts``), so that ``REDIS_KEY_PREFIX`` is set
before ``cordee.settings`` is evaluated. A run creates its own PostgreSQL test database
(``test_<name>_<run>``) and writes Redis keys under its own prefix; it never drops, flushes or
overwrites anything else. ``CORDEE_TEST_RUN`` (and ``REDIS_KEY_PREFIX``) may be given from outside.
"""

from __future__ import annotations

import os
import secrets

RUN = os.environ.setdefault("CORDEE_TEST_RUN", f"{os.getpid()}x{secrets.token_hex(3)}")
REDIS_PREFIX = os.environ.setdefault("REDIS_KEY_PREFIX", f"cordee-test-{RUN}")


def redis_keys_deleted(url: str, prefix: str = REDIS_PREFIX) -> int:
    """Delete this run's keys (and only them) from the Redis database at ``url``."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        deleted = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.delete(*batch)
                batch.clear()
        if batch:
            deleted += client.delete(*batch)
        return deleted
    finally:
        client.close()
