"""The in-process channel layer: Channels' in-memory one without its per-event walks."""

from __future__ import annotations

import asyncio
import os

import pytest
from asgiref.sync import async_to_sync

from cordee.messaging.layers import LocalChannelLayer
from tests import isolation
from tests.conftest import postgres_run_only, require


def test_group_send_reaches_every_member_once_and_a_full_channel_drops():
    async def scenario():
        layer = LocalChannelLayer(capacity=2)
        names = [await layer.new_channel() for _ in range(3)]
        for name in names:
            await layer.group_add("msg.c.1", name)
        await layer.group_add("msg.c.2", names[0])
        for i in range(3):
            await layer.group_send("msg.c.1", {"type": "msg.message", "n": i})
        await layer.group_send("msg.c.3", {"type": "msg.message", "n": 99})  # nobody: nothing
        received = {name: [] for name in names}
        for name in names:
            while name in layer.channels:
                received[name].append((await layer.receive(name))["n"])
        assert all(got == [0, 1] for got in received.values())  # capacity 2: the third was dropped
        await layer.group_discard("msg.c.1", names[1])
        await layer.group_send("msg.c.1", {"type": "msg.message", "n": 3})
        assert (await asyncio.wait_for(layer.receive(names[0]), 1))["n"] == 3
        assert names[1] not in layer.channels

    async_to_sync(scenario)()


def test_a_receiver_cannot_change_what_the_sender_still_holds():
    async def scenario():
        layer = LocalChannelLayer()
        name = await layer.new_channel()
        await layer.group_add("msg.u.1", name)
        event = {"type": "msg.read", "seq": 1}
        await layer.group_send("msg.u.1", event)
        (await layer.receive(name))["seq"] = 2
        assert event["seq"] == 1

    async_to_sync(scenario)()


@pytest.mark.redis
@pytest.mark.django_db
def test_the_redis_pubsub_layer_drops_what_a_full_channel_cannot_take():
    """A socket that stops reading holds at most ``capacity`` events, however many are published."""
    postgres_run_only("the Redis publish/subscribe layer")  # the run that has REDIS_URL
    require("Redis", bool(os.environ.get("REDIS_URL")), "set REDIS_URL to a Redis server")
    from cordee.messaging.layers import BoundedRedisPubSubChannelLayer

    async def scenario():
        layer = BoundedRedisPubSubChannelLayer(
            hosts=[os.environ["REDIS_URL"]], prefix=f"{isolation.REDIS_PREFIX}-bounded", capacity=2
        )
        try:
            stuck, reading = await layer.new_channel(), await layer.new_channel()
            for name in (stuck, reading):
                await layer.group_add("msg.c.7", name)
            queue = layer._get_layer().channels[stuck]
            for n in range(2):
                await layer.group_send("msg.c.7", {"type": "msg.message", "n": n})
                assert (await asyncio.wait_for(layer.receive(reading), 5))["n"] == n
            await layer.group_send("msg.c.7", {"type": "msg.message", "n": 2})
            # Once the reading channel has it, the stuck one was offered it too (same dispatch).
            assert (await asyncio.wait_for(layer.receive(reading), 5))["n"] == 2
            assert queue.qsize() == 2
            assert [(await layer.receive(stuck))["n"] for _ in range(2)] == [0, 1]
        finally:
            await layer.flush()

    async_to_sync(scenario)()


@pytest.mark.redis
@pytest.mark.django_db
def test_the_redis_pubsub_layer_sends_a_batch_in_one_pipeline_in_order():
    postgres_run_only("the Redis publish/subscribe layer")
    require("Redis", bool(os.environ.get("REDIS_URL")), "set REDIS_URL to a Redis server")
    from cordee.messaging.layers import BoundedRedisPubSubChannelLayer

    async def scenario():
        layer = BoundedRedisPubSubChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix=f"{isolation.REDIS_PREFIX}-many")
        try:
            first, second = await layer.new_channel(), await layer.new_channel()
            await layer.group_add("msg.c.1", first)
            await layer.group_add("msg.c.2", second)
            await layer.group_add("msg.c.2", first)
            batch = [("msg.c.1", {"type": "msg.message", "n": 0}), ("msg.c.2", {"type": "msg.message", "n": 1})]
            batch += [("msg.c.1", {"type": "msg.message", "n": 2}), ("msg.c.3", {"type": "msg.message", "n": 3})]
            await layer.group_send_many(batch)
            got_first = [(await asyncio.wait_for(layer.receive(first), 5))["n"] for _ in range(3)]
            got_second = [(await asyncio.wait_for(layer.receive(second), 5))["n"] for _ in range(1)]
            assert (got_first, got_second) == ([0, 1, 2], [1])  # in order, each once, nobody in msg.c.3
        finally:
            await layer.flush()

    async_to_sync(scenario)()


@pytest.mark.redis
@pytest.mark.django_db
def test_the_redis_pubsub_layer_decodes_an_event_once_for_all_the_sockets_of_a_process():
    postgres_run_only("the Redis publish/subscribe layer")
    require("Redis", bool(os.environ.get("REDIS_URL")), "set REDIS_URL to a Redis server")
    from cordee.messaging.layers import BoundedRedisPubSubChannelLayer

    async def scenario():
        layer = BoundedRedisPubSubChannelLayer(
            hosts=[os.environ["REDIS_URL"]],
            prefix=f"{isolation.REDIS_PREFIX}-decode",
            symmetric_encryption_keys=["k" * 32],
        )
        try:
            names = [await layer.new_channel() for _ in range(3)]
            for name in names:
                await layer.group_add("msg.c.9", name)
            for n in range(2):
                await layer.group_send("msg.c.9", {"type": "msg.message", "n": n})
            got = [[await asyncio.wait_for(layer.receive(name), 5) for _ in range(2)] for name in names]
            assert [[event["n"] for event in events] for events in got] == [[0, 1]] * 3
            # Decrypted and decoded once, shared by the three sockets (which only read it).
            assert got[0][0] is got[1][0] is got[2][0] and got[0][1] is got[2][1]
            assert got[0][0] is not got[0][1]
        finally:
            await layer.flush()

    async_to_sync(scenario)()


def test_the_private_parts_of_channels_redis_that_layers_py_uses_are_there():
    """layers.py relies on channels-redis internals (pinned in pyproject.toml): an upgrade that
    renames them fails here, on every run, not only in the PostgreSQL + Redis pass."""
    import inspect

    from channels_redis import pubsub, utils

    assert callable(utils._wrap_close)
    assert callable(pubsub.RedisPubSubLoopLayer._get_shard)
    assert callable(pubsub.RedisPubSubLoopLayer._get_group_channel_name)
    assert callable(pubsub.RedisPubSubLoopLayer._subscribe_to_channel)
    shard_source = inspect.getsource(pubsub.RedisSingleShardConnection)
    for name in ("self._lock", "self._redis", "def _ensure_redis"):
        assert name in shard_source, name
    layer_source = inspect.getsource(pubsub.RedisPubSubChannelLayer)
    for name in ("self._layers", "self._args", "self._kwargs"):
        assert name in layer_source, name
