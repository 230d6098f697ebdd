"""The in-process channel layer of the embedded default (one process, no Redis).

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
from copy import deepcopy
from typing import Any

from channels.layers import InMemoryChannelLayer


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
