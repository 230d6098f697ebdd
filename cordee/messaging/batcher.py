"""Group commit for the socket's send path.

Every socket of the process hands its sends to the one ``SendBatcher`` of the event loop. While
a transaction is being committed, new sends wait in the queue; the next transaction takes them
all (up to ``MESSAGING_SEND_BATCH_MAX``). Under light load a batch is one send and nothing waits
for a timer; under heavy load one commit (and one fsync) serves many sends with the statements
of one (``sending.send_messages``). Each send is acknowledged only after the commit that stored
it. Its events are then published by the batcher's publisher, one batch after the other (so a
conversation's events keep their order), while the next batch is being stored: with Redis, the
round trips of publishing no longer hold back the database.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from cordee.messaging import events
from cordee.messaging.sending import SendError, SendRequest, SendResult, after_send, send_messages

logger = logging.getLogger(__name__)

Outcome = SendResult | SendError
PUBLISH_BACKLOG = 8  # batches stored but not yet published before storing waits for publishing


def _store(requests: list[SendRequest]) -> tuple[list[Outcome], list[events.Event]]:
    """One batch, in the database thread. The connection is kept from batch to batch on SQLite
    (an in-process file cannot go stale; reopening it costs its PRAGMAs at every batch); other
    databases follow ``CONN_MAX_AGE`` as ``database_sync_to_async`` would."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "sqlite":
        conn.close_if_unusable_or_obsolete()
    try:
        results = send_messages(requests)
        return results, after_send(results)
    except Exception:
        conn.close()  # whatever went wrong, the next batch starts on a fresh connection
        raise


class SendBatcher:
    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._queue: list[tuple[SendRequest, asyncio.Future[Outcome]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._outbox: deque[list[events.Event]] = deque()
        self._publishing: asyncio.Task[None] | None = None
        self.batches = 0  # counters, for the benchmark's report
        self.sends = 0

    async def send(self, request: SendRequest) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            try:
                results, to_publish = await sync_to_async(_store)([req for req, _ in batch])
            except Exception:
                logger.exception("messaging: a batch of %d send(s) failed", len(batch))
                results, to_publish = [SendError("conflict")] * len(batch), []
            self.batches += 1
            self.sends += len(batch)
            for (_req, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)  # committed: the sender may be told
            if to_publish:
                await self._hand_over(to_publish)

    async def _hand_over(self, to_publish: list[events.Event]) -> None:
        self._outbox.append(to_publish)
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.create_task(self._publish())
        elif len(self._outbox) > PUBLISH_BACKLOG:  # the layer is slower than the database: wait for it
            await asyncio.shield(self._publishing)

    async def _publish(self) -> None:
        while self._outbox:
            to_publish = self._outbox.popleft()
            try:
                await events.apublish(to_publish)
            except Exception:
                logger.exception("messaging: %d real-time event(s) not delivered", len(to_publish))

    async def idle(self) -> None:
        """Wait until every stored send is published (tests, shutdown)."""
        for task in (self._draining, self._publishing):
            if task is not None and not task.done():
                await asyncio.shield(task)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendBatcher] = weakref.WeakKeyDictionary()


def batcher() -> SendBatcher:
    """The batcher of the running event loop (one per process under uvicorn)."""
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        found = _batchers[loop] = SendBatcher(settings.MESSAGING_SEND_BATCH_MAX)
    return found
