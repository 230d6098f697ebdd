"""The simulated clients of the messaging benchmark and the workloads (a)-(d).

Protocol-neutral as far as it goes: one socket per user, ``send`` frames with a client key,
``ack`` with ``id``/``seq``, ``message`` (full) or ``notice`` frames carrying the message ``id``
on the other members' sockets. Every wait is bounded in time.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import websockets

BODY = "x" * 256
_keys = itertools.count(1)
CSRF = "benchCsrfToken0123456789abcdefgh"  # 32 characters: the cookie and the header must match


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms) if ms else None,
    }


GAP_WAIT = 0.6  # what the web page waits for a missing number before catching up (conversation.js)


@dataclass
class Order:
    """Numbers of one conversation as one socket receives them, and what the web page would do.

    The page catches up (an audited ``open`` and a history page) when a number arrives past a gap:
    at once before issue 21 (``at_once``: one per out-of-order arrival), now only if the gap is still
    open ``GAP_WAIT`` later (``waiting``)."""

    cursor: int
    ahead: set[int] = field(default_factory=set)
    gap_since: float | None = None
    out_of_order: int = 0
    waiting: int = 0

    def see(self, number: int, now: float) -> None:
        self.expire(now)
        if number <= self.cursor:
            return
        if number > self.cursor + 1:
            self.out_of_order += 1
        self.ahead.add(number)
        while self.cursor + 1 in self.ahead:
            self.ahead.remove(self.cursor + 1)
            self.cursor += 1
        if not self.ahead:
            self.gap_since = None
        elif self.gap_since is None:
            self.gap_since = now

    def expire(self, now: float) -> None:
        if self.gap_since is not None and now - self.gap_since > GAP_WAIT:
            self.waiting += 1  # the page catches up from its cursor: everything up to now is known
            self.cursor, self.ahead, self.gap_since = max(self.ahead), set(), None


@dataclass
class Client:
    ws: Any
    acks: dict[str, asyncio.Future] = field(default_factory=dict)
    received: Counter = field(default_factory=Counter)  # message id → times received
    arrivals: dict[int, float] = field(default_factory=dict)  # message id → first arrival time
    waiters: dict[int, asyncio.Future] = field(default_factory=dict)
    errors: int = 0
    reader: asyncio.Task | None = None
    order: dict[int, Order] = field(default_factory=dict)  # conversation → numbers as received

    def _ordered(self, message: dict | None, now: float) -> None:
        if not message or "rev_seq" not in message or "conversation" not in message:
            return  # the baseline's frames carry no numbers
        state = self.order.get(message["conversation"])
        if state is None:
            self.order[message["conversation"]] = Order(cursor=message["rev_seq"])
        else:
            state.see(message["rev_seq"], now)

    async def read(self) -> None:
        try:
            async for text in self.ws:
                now = time.perf_counter()
                frame = json.loads(text)
                kind = frame.get("type")
                if kind in ("ack", "message"):
                    self._ordered(frame.get("message"), now)
                if kind == "ack":
                    future = self.acks.pop(frame.get("key"), None)
                    if future is not None and not future.done():
                        future.set_result((now, frame))
                elif kind in ("message", "notice"):
                    message_id = frame["message"]["id"] if kind == "message" else frame["id"]
                    self.received[message_id] += 1
                    self.arrivals.setdefault(message_id, now)
                    waiter = self.waiters.pop(message_id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(now)
                elif kind == "error":
                    self.errors += 1
                    future = self.acks.pop(frame.get("key"), None)
                    if future is not None and not future.done():
                        future.set_exception(RuntimeError(frame.get("code")))
        except websockets.ConnectionClosed:
            pass

    async def send(self, conversation: int, *, timeout: float = 10) -> tuple[float, float, dict]:
        """Send one message; return (sent at, acked at, ack frame)."""
        key = f"bench-{next(_keys):08d}"
        future = asyncio.get_running_loop().create_future()
        self.acks[key] = future
        sent = time.perf_counter()
        await self.ws.send(json.dumps({"type": "send", "conversation": conversation, "key": key, "body": BODY}))
        acked, frame = await asyncio.wait_for(future, timeout)
        return sent, acked, frame

    async def open(self, conversation: int) -> None:
        await self.ws.send(json.dumps({"type": "open", "conversation": conversation, "after": None}))


async def connect(port: int, cookie: str | None, *, user: int = 0) -> Client:
    headers = {"Cookie": cookie} if cookie else {}
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/messagerie/?user={user}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers=headers,
        max_queue=None,
        open_timeout=30,
        ping_interval=None,
    )
    ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert ready["type"] == "ready", ready
    client = Client(ws)
    client.reader = asyncio.create_task(client.read())
    return client


async def close_all(clients: list[Client]) -> None:
    await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
    for client in clients:
        if client.reader:
            client.reader.cancel()


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)  # let "open" frames be handled before measuring


# --- workloads -----------------------------------------------------------------------------
async def sequential(clients: list[Client], world: dict, sends: int) -> dict:
    """(a) one sender, one message at a time, send → ack."""
    times = []
    for _ in range(sends):
        sent, acked, _frame = await clients[0].send(world["directs"][0])
        times.append(acked - sent)
    return summary(times)


def _http_sequential(port: int, cookie: str | None, conversation: int, sends: int) -> list[float]:
    """POST each message to the JSON API on one keep-alive connection; the time to each answer."""
    headers = {"Content-Type": "application/json", "X-CSRFToken": CSRF}
    headers["Cookie"] = f"{cookie}; cordee_csrf={CSRF}" if cookie else f"cordee_csrf={CSRF}"
    path = f"/api/messaging/conversations/{conversation}/messages"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    try:
        for _ in range(sends):
            body = json.dumps({"key": f"bench-{next(_keys):08d}", "body": BODY})
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            times.append(time.perf_counter() - started)
            if response.status != 201:
                raise RuntimeError(f"HTTP send answered {response.status}: {answer[:200]!r}")
    finally:
        connection.close()
    return times


async def sequential_http(port: int, cookie: str | None, world: dict, sends: int) -> dict:
    """(a) over HTTP: one sender, one message at a time through the JSON API, request → response."""
    times = await asyncio.to_thread(_http_sequential, port, cookie, world["directs"][0], sends)
    return summary(times)


async def _e2e(sender: Client, receivers: list[Client], conversation: int, sends: int) -> list[float]:
    times = []
    for _ in range(sends):
        sent, _acked, frame = await sender.send(conversation)
        message_id = frame["id"]
        waits = []
        for receiver in receivers:
            if message_id in receiver.arrivals:
                times.append(receiver.arrivals[message_id] - sent)
                continue
            future = asyncio.get_running_loop().create_future()
            receiver.waiters[message_id] = future
            waits.append(future)
        arrived = await asyncio.wait_for(asyncio.gather(*waits), 10)
        times.extend(at - sent for at in arrived)
    return times


async def end_to_end(clients: list[Client], world: dict, sends: int) -> dict:
    """(b) send → receipt on the other members' sockets, direct and group."""
    await clients[1].open(world["directs"][0])
    group_receivers = clients[1 : world["group_size"]]
    for receiver in group_receivers:
        await receiver.open(world["group"])
    await settle()
    direct = await _e2e(clients[0], [clients[1]], world["directs"][0], sends)
    group = await _e2e(clients[0], group_receivers, world["group"], sends)
    return {"direct": summary(direct), "group": summary(group)}


async def throughput(clients: list[Client], world: dict, senders: int, seconds: float, window: int) -> dict:
    """(c) ``senders`` concurrent senders (each to its neighbour), ``window`` unacked each, for ``seconds``."""
    for number in range(1, senders + 1):
        await clients[number].open(world["directs"][number - 1])
    await settle()
    acked: list[list[int]] = [[] for _ in range(senders)]
    failed = Counter()
    deadline = time.perf_counter() + seconds

    async def one_lane(number: int) -> None:
        while time.perf_counter() < deadline:
            try:
                _sent, _at, frame = await clients[number].send(world["directs"][number])
                acked[number].append(frame["id"])
            except (RuntimeError, TimeoutError) as error:
                failed[str(error) or "timeout"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(one_lane(n) for n in range(senders) for _ in range(window)))
    elapsed = time.perf_counter() - start
    total = sum(len(ids) for ids in acked)
    drain_until = time.perf_counter() + 10
    lost = duplicated = 0
    for number in range(senders):
        receiver = clients[number + 1]
        while time.perf_counter() < drain_until and any(i not in receiver.received for i in acked[number]):
            await asyncio.sleep(0.05)
        lost += sum(1 for i in acked[number] if i not in receiver.received)
        duplicated += sum(1 for i in acked[number] if receiver.received[i] > 1)
    return {
        "senders": senders,
        "window": window,
        "seconds": elapsed,
        "accepted": total,
        "accepted_per_s": total / elapsed,
        "lost": lost,
        "duplicated": duplicated,
        "send_errors": dict(failed),
    }


async def busy_group(clients: list[Client], world: dict, seconds: float) -> dict:
    """(e) every member of the group sends to it at once for ``seconds``: arrivals out of number
    order per socket, and the catch-ups the web page would make, at once (before issue 21) or
    after waiting ``GAP_WAIT`` for the missing number (now)."""
    members = clients[: world["group_size"]]
    for member in members:
        await member.open(world["group"])
    await settle()
    for member in members:
        member.order.pop(world["group"], None)
    deadline = time.perf_counter() + seconds
    sent = failed = 0

    async def lane(member: Client) -> None:
        nonlocal sent, failed
        while time.perf_counter() < deadline:
            try:
                await member.send(world["group"])
                sent += 1
            except (RuntimeError, TimeoutError):
                failed += 1

    await asyncio.gather(*(lane(member) for member in members))
    await asyncio.sleep(GAP_WAIT + 0.5)  # the last frames arrive, a last gap's wait runs out
    now = time.perf_counter()
    states = [m.order[world["group"]] for m in members if world["group"] in m.order]
    for state in states:
        state.expire(now)
    arrivals = sent * max(0, len(members) - 1) + sent  # each member's copy, the sender's by its ack
    out_of_order = sum(state.out_of_order for state in states)
    return {
        "members": len(members),
        "messages": sent,
        "send_errors": failed,
        "arrivals": arrivals,
        "out_of_order": out_of_order,
        "catch_ups_at_once": out_of_order,
        "catch_ups_waiting": sum(state.waiting for state in states),
    }


def server_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


async def idle_sockets(clients: list[Client], world: dict, ports: list[int], pids: list[int], **counts: int) -> dict:
    """(d) ``idle`` more sockets connected: memory per connection, then e2e p99 (direct) while they are."""
    idle, sends = counts["idle"], counts["sends"]
    users = world["users"]
    before = server_rss_kib(pids)
    extra: list[Client] = []
    try:
        for start in range(0, idle, 100):
            batch = range(start, min(idle, start + 100))
            extra += await asyncio.gather(
                *(connect(ports[n % len(ports)], users[n % len(users)]["cookie"], user=n) for n in batch)
            )
        await settle(1.0)
        after = server_rss_kib(pids)
        times = await _e2e(clients[0], [clients[1]], world["directs"][0], sends)
    finally:
        await close_all(extra)
    result = {"idle_sockets": len(extra), "rss_before_kib": before, "rss_after_kib": after}
    result["kib_per_connection"] = (after - before) / max(1, len(extra))
    result["e2e_direct"] = summary(times)
    return result
