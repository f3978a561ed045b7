"""The benchmarks. Each takes a running server's port and returns plain figures (JSON-ready).

Load comes from this process over loopback through :mod:`benchmarks.wsclient`; the server runs
in its own process (see :mod:`benchmarks.servers`). Every wait has a deadline, so a server that
cannot keep up yields a "timeout" figure instead of a benchmark that never ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .servers import BenchServer, MachineCpu, own_cpu_seconds
from .wsclient import NEW_MSG, TOPIC, Buffer, Client, FrameHandler, connect_many

__all__ = [
    "Counters",
    "Room",
    "View",
    "fanout",
    "history",
    "idle_heartbeats",
    "join_all",
    "join_storm",
    "latency",
    "open_room",
    "quantile",
    "settle",
    "timed",
]

BODY = "benchmark message with a body of a typical chat length......"


@dataclass
class Counters:
    """What all sockets of a benchmark received, tallied by the frame handler."""

    new_msg: int = 0
    latencies: list[float] = field(default_factory=list)
    sent_at: dict[int, float] = field(default_factory=dict)

    def count(self, _client: Client, data: Buffer, start: int, _end: int) -> None:
        if data.startswith(NEW_MSG, start):
            self.new_msg += 1

    def timed(self, _client: Client, data: Buffer, start: int, end: int) -> None:
        """Latency from the body ``t<seq> ...`` that :func:`latency` sends."""
        if data.startswith(NEW_MSG, start):
            now = time.perf_counter()
            self.new_msg += 1
            at = data.find(b'"body":"t', start, end)
            if at >= 0:
                seq = int(data[at + 9 : data.index(b" ", at + 9, end)])
                self.latencies.append(now - self.sent_at[seq])


def total_frames(clients: list[Client]) -> int:
    return sum(c.frames for c in clients)


async def join_all(clients: list[Client], timeout: float, concurrency: int = 200) -> float:
    """Join every client to the benchmark room; returns the seconds it took."""
    start = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(client: Client) -> None:
        async with gate:
            reply = await client.join()
            if reply.get("status") != "ok":
                raise RuntimeError(f"join refused: {reply}")

    await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients)), timeout)
    return time.perf_counter() - start


async def settle(clients: list[Client], quiet: float = 1.0, timeout: float = 60.0) -> float:
    """Wait until no socket received anything for ``quiet`` seconds (presence has settled)."""
    start = time.perf_counter()
    last = -1
    while time.perf_counter() - start < timeout:
        now = total_frames(clients)
        if now == last:
            return time.perf_counter() - start
        last = now
        await asyncio.sleep(quiet)
    raise asyncio.TimeoutError(f"still receiving after {timeout:.0f} s")


@dataclass
class Room:
    """N joined members of one room; ``clients[0]`` is the sender."""

    clients: list[Client] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    join_seconds: float = 0.0
    handler: FrameHandler | None = None
    """What each benchmark does with the frames; swapped between benchmarks."""

    @property
    def sender(self) -> Client:
        return self.clients[0]

    def dispatch(self, client: Client, data: Buffer, start: int, end: int) -> None:
        if self.handler is not None:
            self.handler(client, data, start, end)

    def close(self) -> None:
        for client in self.clients:
            client.close()


async def open_room(port: int, members: int, *, join_timeout: float, prefix: str = "m") -> Room:
    """Connect and join ``members`` sockets, then wait for their presence traffic to end."""
    room = Room()
    room.handler = room.counters.count
    room.clients = await connect_many("127.0.0.1", port, members, room.dispatch, prefix=prefix)
    room.join_seconds = await join_all(room.clients, join_timeout)
    await settle(room.clients, timeout=join_timeout)
    return room


async def _pump(sender: Client, stop_at: float, window: int, body: str) -> int:
    """Push ``new_msg`` with ``window`` pushes in flight until ``stop_at``; returns acks."""
    acks = 0

    async def lane() -> None:
        nonlocal acks
        while time.perf_counter() < stop_at:
            reply = await sender.push(TOPIC, "new_msg", {"body": body})
            if reply.get("status") != "ok":
                raise RuntimeError(f"push refused: {reply}")
            acks += 1

    await asyncio.gather(*(lane() for _ in range(window)))
    return acks


async def fanout(
    room: Room, server: BenchServer, *, seconds: float, warmup: float = 1.0, window: int = 4
) -> dict:
    """Deliveries per second of one sender's messages to every member (the sender included).

    ``window`` pushes stay in flight so the server always has the next message to hand; the
    CPU shares say which side was the bottleneck (1.0 is one core).
    """
    counters = room.counters
    room.handler = counters.count
    start = time.perf_counter()
    pump = asyncio.ensure_future(_pump(room.sender, start + warmup + seconds, window, BODY))
    await asyncio.sleep(warmup)
    first, t0 = counters.new_msg, time.perf_counter()
    cpu0, server0, machine = own_cpu_seconds(), server.cpu_seconds(), MachineCpu()
    await asyncio.sleep(seconds)
    last, t1 = counters.new_msg, time.perf_counter()
    cpu1, server1 = own_cpu_seconds(), server.cpu_seconds()
    neighbours = machine.since(t1 - t0, (cpu1 - cpu0) + (server1 - server0))
    sent = await pump
    with contextlib.suppress(asyncio.TimeoutError):
        await settle(room.clients, quiet=0.5, timeout=30)
    return {
        "members": len(room.clients),
        "deliveries_per_s": round((last - first) / (t1 - t0)),
        "messages_sent": sent,
        "server_cpu": round((server1 - server0) / (t1 - t0), 2),
        "load_generator_cpu": round((cpu1 - cpu0) / (t1 - t0), 2),
        **neighbours,
    }


async def latency(
    room: Room, server: BenchServer, *, rate: float, seconds: float, own_only: bool = False
) -> dict:
    """Publish-to-receipt times at a steady rate, measured in this process's clock: at every
    member, or with ``own_only`` the sender's round trip (post, then its own broadcast)."""
    counters = room.counters
    counters.latencies = []
    counters.sent_at = {}
    sender = room.sender
    room.handler = counters.timed
    if own_only:

        def own(client: Client, data: Buffer, start: int, end: int) -> None:
            if client is sender:
                counters.timed(client, data, start, end)

        room.handler = own
    count = max(1, round(rate * seconds))
    start = time.perf_counter()
    cpu0, server0, machine = own_cpu_seconds(), server.cpu_seconds(), MachineCpu()
    pending = []
    for seq in range(count):
        delay = start + seq / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        counters.sent_at[seq] = time.perf_counter()
        pending.append(sender.push(TOPIC, "new_msg", {"body": f"t{seq} {BODY}"}))
    await asyncio.gather(*pending)
    expected = count * (1 if own_only else len(room.clients))
    deadline = time.perf_counter() + 30
    while len(counters.latencies) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - start
    ours = own_cpu_seconds() - cpu0 + server.cpu_seconds() - server0
    neighbours = machine.since(elapsed, ours)
    samples = sorted(counters.latencies)
    room.handler = counters.count
    if not samples:
        return {"members": len(room.clients), "rate": rate, "received": 0}
    return {
        "members": len(room.clients),
        "rate_per_s": rate,
        "messages": count,
        "received": len(samples),
        "expected": expected,
        "p50_ms": round(quantile(samples, 0.50) * 1000, 1),
        "p99_ms": round(quantile(samples, 0.99) * 1000, 1),
        "max_ms": round(samples[-1] * 1000, 1),
        **neighbours,
    }


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def idle_heartbeats(
    room: Room, server: BenchServer, *, seconds: float, interval: float = 30.0
) -> dict:
    """Server CPU of idle sockets: first silent, then each sending phoenix.js's heartbeat every
    ``interval`` s, spread evenly. The cost per heartbeat is what comes on top of silence."""
    quiet = max(2.0, seconds / 3)
    cpu0, t0 = server.cpu_seconds(), time.perf_counter()
    await asyncio.sleep(quiet)
    silent = (server.cpu_seconds() - cpu0) / (time.perf_counter() - t0)
    clients = room.clients
    tick = 0.05
    per_tick = len(clients) * tick / interval
    due = 0.0
    sent = 0
    cpu0, t0 = server.cpu_seconds(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        due += per_tick
        while sent < due:
            clients[sent % len(clients)].heartbeat()
            sent += 1
        await asyncio.sleep(tick)
    await asyncio.sleep(0.2)  # the last replies
    busy = server.cpu_seconds() - cpu0
    elapsed = time.perf_counter() - t0
    return {
        "sockets": len(clients),
        "heartbeat_interval_s": interval,
        "heartbeats": sent,
        "server_cpu_percent_silent": round(100 * silent, 2),
        "server_cpu_percent": round(100 * busy / elapsed, 2),
        "cpu_us_per_heartbeat": round(1e6 * max(0.0, busy - silent * elapsed) / max(1, sent), 1),
    }


Refs = frozenset[str]
Parsed = dict[str, Refs]
"""A presence payload boiled down to ``{key: phx_refs}``: all that a view needs."""


def _refs(state: dict[str, Any]) -> Parsed:
    return {key: frozenset(m["phx_ref"] for m in p["metas"]) for key, p in state.items()}


@dataclass
class View:
    """A client's presence view with phoenix.js's ordering: diffs wait for the state.

    Keys and refs only, in frozensets shared with the parse cache: a storm's views must not
    cost the load generator more than the server."""

    state: dict[str, Refs] = field(default_factory=dict)
    pending: list[tuple[Parsed, Parsed]] = field(default_factory=list)
    synced: bool = False

    def on_state(self, state: Parsed) -> None:
        self.state = dict(state)
        self.synced = True
        for joins, leaves in self.pending:
            self.on_diff(joins, leaves)
        self.pending = []

    def on_diff(self, joins: Parsed, leaves: Parsed) -> None:
        if not self.synced:
            self.pending.append((joins, leaves))
            return
        state = self.state
        for key, refs in joins.items():
            held = state.get(key)
            state[key] = refs if held is None else held | refs
        for key, refs in leaves.items():
            held = state.get(key)
            if held is not None:
                held = held - refs
                if held:
                    state[key] = held
                else:
                    del state[key]


async def join_storm(port: int, members: int, *, spread: float, timeout: float) -> dict:
    """``members`` clients join one room within ``spread`` s; when do all views hold all?"""
    frames = 0
    size = 0
    converged = 0
    done = asyncio.get_running_loop().create_future()
    finished_at: list[float] = []
    # Every member of a flush gets the same diff, and the joiners of a flush the same state
    # but for the join_ref: parse each distinct payload once.
    diffs: dict[bytes, tuple[Parsed, Parsed]] = {}
    states: dict[bytes, Parsed] = {}

    def on_frame(client: Client, data: Buffer, start: int, end: int) -> None:
        nonlocal frames, size, converged
        at = data.find(b'"presence_', start, start + 80)
        if at < 0:
            return
        frames += 1
        size += end - start
        payload = bytes(data[data.index(b",", at) + 1 : end - 1])
        view: View = client.user
        was = len(view.state) >= members
        if data.startswith(b'"presence_diff",', at):
            diff = diffs.get(payload)
            if diff is None:
                loaded = orjson.loads(payload)
                diff = diffs[payload] = (_refs(loaded["joins"]), _refs(loaded["leaves"]))
            view.on_diff(*diff)
        else:
            state = states.get(payload)
            if state is None:
                state = states[payload] = _refs(orjson.loads(payload))
            view.on_state(state)
        now = len(view.state) >= members
        if now != was:
            converged += 1 if now else -1
            if converged == members and not done.done():
                finished_at.append(time.perf_counter())
                done.set_result(None)

    clients = await connect_many("127.0.0.1", port, members, on_frame, prefix="s")
    for client in clients:
        client.user = View()
    gc.collect()
    start = time.perf_counter()
    joins = []
    for i, client in enumerate(clients):
        delay = start + spread * i / members - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        joins.append(client.join())
    last_join = time.perf_counter()
    result: dict[str, Any] = {
        "members": members,
        "join_spread_s": round(last_join - start, 2),
        "naive_diff_deliveries": members * members // 2,
    }
    try:
        await asyncio.wait_for(asyncio.gather(*joins), timeout)
        await asyncio.wait_for(done, max(1.0, timeout - (time.perf_counter() - start)))
        result["converged_after_last_join_s"] = round(finished_at[0] - last_join, 2)
    except asyncio.TimeoutError:
        result["converged_after_last_join_s"] = None
        result["converged_clients"] = converged
    result["presence_frames"] = frames
    result["presence_bytes"] = size
    result["frames_vs_naive"] = round(frames / result["naive_diff_deliveries"], 4)
    for client in clients:
        client.close()
    diffs.clear()
    states.clear()
    return result


async def history(port: int, *, senders: int, seconds: float, window: int = 8) -> dict:
    """Acknowledged ``new_msg`` per second, each sender in its own room (SQLite on)."""
    clients = await connect_many("127.0.0.1", port, senders, lambda *_: None, prefix="h")
    await asyncio.gather(*(c.join(f"room:h{i}") for i, c in enumerate(clients)))
    acks = 0
    stop_at = time.perf_counter() + seconds

    async def lane(i: int, client: Client) -> None:
        nonlocal acks
        while time.perf_counter() < stop_at:
            reply = await client.push(f"room:h{i}", "new_msg", {"body": BODY})
            if reply.get("status") != "ok":
                raise RuntimeError(f"push refused: {reply}")
            acks += 1

    start = time.perf_counter()
    await asyncio.gather(*(lane(i, c) for i, c in enumerate(clients) for _ in range(window)))
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    return {
        "senders": senders,
        "in_flight_per_sender": window,
        "acked_per_s": round(acks / elapsed),
    }


async def timed(work: Awaitable[dict], timeout: float) -> dict:
    try:
        return await asyncio.wait_for(work, timeout)
    except asyncio.TimeoutError:
        return {"timeout_s": timeout}
