"""Cordée's channel layers: the in-process one of the embedded default, and Redis publish/subscribe.

The in-process layer (one process, no Redis):

Channels' ``InMemoryChannelLayer`` walks every channel and every group membership of the process
at each ``receive`` and each ``group_send`` (to expire old messages), and a ``group_send`` starts
one task and makes one deep copy per member. With a thousand sockets connected, each event
delivered to each socket then costs a walk over all of them. This layer is the same, except that:

- the sweep of expired messages and memberships runs at most once a second;
- a ``group_send`` copies the message once and queues it for each member directly.

Receivers share that one copy: consumers must not change the events they receive (ours do not).
A full channel drops the event, as in Channels (the messaging client then catches up by number).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from copy import deepcopy
from typing import Any

from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close


class LocalChannelLayer(InMemoryChannelLayer):
    sweep_every = 1.0  # seconds

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_every
        super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"  # noqa: S101  (Channels' own contract check)
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        item = (time.time() + self.expiry, deepcopy(message))
        for channel in list(members):
            queue = self.channels.get(channel)
            if queue is None:
                queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                pass


class _DroppingQueue(asyncio.Queue):
    """A channel's queue that drops what comes once it is full (``put_nowait`` never raises)."""

    def put_nowait(self, item: Any) -> None:
        if not self.full():
            super().put_nowait(item)


class _BoundedLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, capacity: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.capacity = capacity

    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = _DroppingQueue(maxsize=self.capacity)
        await self._get_shard(channel).subscribe(channel)

    async def group_send_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Several group sends in one Redis round trip per shard (the pipeline keeps their order)."""
        by_shard: dict[Any, list[tuple[str, bytes]]] = {}
        for group, message in items:
            name = self._get_group_channel_name(group)
            by_shard.setdefault(self._get_shard(name), []).append((name, self.channel_layer.serialize(message)))
        for shard, publications in by_shard.items():
            async with shard._lock:  # as the shard's own publish does
                shard._ensure_redis()
                async with shard._redis.pipeline(transaction=False) as pipe:
                    for name, data in publications:
                        pipe.publish(name, data)
                    await pipe.execute()


class BoundedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis' publish/subscribe layer with a ``capacity`` per channel, as its core layer has.

    Redis publish/subscribe costs one PUBLISH per event, fanned out in each process subscribed to
    the group, where the core layer keeps a Redis list per socket (several round trips and a
    script per event). The stock pub/sub layer queues without bound what a socket has not taken
    yet: a client that stops reading would make its server's memory grow until the socket is cut.
    Here a full channel drops the event, as the other layers do (the client catches up by number).
    The per-loop layer is built as in channels-redis 4 (``_get_layer``), with the bounded queues.
    """

    DECODED_KEPT = 256  # events kept decoded, for the other sockets of the process that receive them

    def __init__(self, *args: Any, capacity: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._capacity = capacity
        self._decoded: OrderedDict[bytes, dict[str, Any]] = OrderedDict()

    def deserialize(self, message: bytes) -> dict[str, Any]:
        """Decrypt and decode an event once per process, however many of its sockets receive it.

        They share the one dict, as with the in-process layer: consumers must not change events.
        Each encrypted event is unique (Fernet's random IV), so no two events share an entry.
        """
        decoded = self._decoded.get(message)
        if decoded is None:
            decoded = self._decoded[message] = super().deserialize(message)
            if len(self._decoded) > self.DECODED_KEPT:
                self._decoded.popitem(last=False)
        return decoded

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _BoundedLoopLayer(*self._args, **self._kwargs, capacity=self._capacity, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
