"""Group commit for the socket's send path.

Every socket of the process hands its sends to the one ``SendBatcher`` of the event loop. While
a transaction is being committed, new sends wait in the queue; the next transaction takes them
all (up to ``MESSAGING_SEND_BATCH_MAX``). Under light load a batch is one send and nothing waits
for a timer; under heavy load one commit (and one fsync) serves many sends with the statements
of one (``sending.send_messages``). A committed batch goes to the batcher's publisher, which
publishes its events (one batch after the other, so a conversation's events keep their order)
and then acknowledges its sends, while the next batch is already being stored: with Redis, the
round trips of publishing do not hold back the database, and a sender still gets its ack only
once the other members' sockets have been sent the message.
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
from cordee.messaging.services.sending import SendError, SendRequest, SendResult, after_send, send_messages

logger = logging.getLogger(__name__)

Outcome = SendResult | SendError
PUBLISH_BACKLOG = 8  # batches stored but not yet published before storing waits for publishing


def _store(requests: list[SendRequest]) -> tuple[list[Outcome], list[events.Event]]:
    """One batch, in the database thread. The connection follows ``CONN_MAX_AGE`` as
    ``database_sync_to_async`` would: kept from batch to batch on SQLite (its settings keep
    connections open), given back to the pool with PostgreSQL."""
    conn = connections[DEFAULT_DB_ALIAS]
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
        self._outbox: deque[tuple[list[events.Event], list[tuple[asyncio.Future[Outcome], Outcome]]]] = deque()
        self._publishing: asyncio.Task[None] | None = None
        self.batches = 0  # counters (tests, diagnostics)
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
            outcomes = [(future, result) for (_req, future), result in zip(batch, results, strict=True)]
            await self._hand_over(to_publish, outcomes)

    async def _hand_over(
        self, to_publish: list[events.Event], outcomes: list[tuple[asyncio.Future[Outcome], Outcome]]
    ) -> None:
        self._outbox.append((to_publish, outcomes))
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.create_task(self._publish())
        elif len(self._outbox) > PUBLISH_BACKLOG:  # the layer is slower than the database: wait for it
            await asyncio.shield(self._publishing)

    async def _publish(self) -> None:
        while self._outbox:
            to_publish, outcomes = self._outbox.popleft()
            try:
                await events.apublish(to_publish)
            except Exception:  # committed all the same: the clients catch up by number
                logger.exception("messaging: %d real-time event(s) not delivered", len(to_publish))
            for future, outcome in outcomes:
                if not future.done():
                    future.set_result(outcome)

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
