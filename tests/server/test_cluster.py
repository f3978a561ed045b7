"""Cluster: the tracker's I/O over the pubsub, with two nodes on one in-memory bus."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import orjson
import pytest

from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.core.presence import Diff
from talkex_widget.core.tracker import Tracker
from talkex_widget.server.cluster import PRESENCE_CHANNEL, Cluster


class Node:
    """A cluster link with what reached its members and a clock the test sets."""

    def __init__(self, name: str, bus: MemoryPubSub, sync_interval: float = 1.0) -> None:
        self.now = 0.0
        self.diffs: list[tuple[str, Diff]] = []
        self.spawned: list[Coroutine[Any, Any, None]] = []
        self.cluster = Cluster(
            bus,
            Tracker(name),
            on_diff=lambda topic, diff: self.diffs.append((topic, diff)),
            spawn=self.spawned.append,
            sync_interval=sync_interval,
            clock=lambda: self.now,
        )

    async def run_spawned(self) -> None:
        while self.spawned:
            await self.spawned.pop(0)


async def test_room_frames_carry_the_node_so_a_node_skips_its_own() -> None:
    bus = MemoryPubSub()
    a, b = Node("a", bus), Node("b", bus)
    got: list[str] = []
    await bus.subscribe("room:lobby", lambda _channel, data: got.append(data))
    await a.cluster.publish_room("room:lobby", "[]")
    assert got == ["a\n[]"]
    assert a.cluster.room_text(got[0]) is None
    assert b.cluster.room_text(got[0]) == "[]"


async def test_a_presence_change_reaches_the_other_nodes_members() -> None:
    bus = MemoryPubSub()
    a, b = Node("a", bus), Node("b", bus)
    for node in (a, b):
        await node.cluster.start()
    try:
        await b.run_spawned()  # b asked a for its state on hearing its hello
        _ref, diff, delta = a.cluster.tracker.track("room:lobby", "ann", {"status": "online"})
        await a.cluster.publish_delta(delta)
        await a.run_spawned()
        await b.run_spawned()
        assert ("room:lobby", diff) in b.diffs
        assert set(b.cluster.tracker.state("room:lobby")) == {"ann"}
    finally:
        for node in (a, b):
            await node.cluster.close()


async def test_garbage_on_the_presence_channel_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = Node("a", MemoryPubSub())
    node.cluster.receive("talkex:presence", "{not json")
    assert node.diffs == [] and node.spawned == []
    assert "bad presence message" in caplog.text


async def test_a_failing_pubsub_never_raises_into_the_caller() -> None:
    class Down(MemoryPubSub):
        async def publish(self, channel: str, data: str) -> None:
            raise ConnectionError("redis is down")

    node = Node("a", Down())
    await node.cluster.publish_room("room:lobby", "[]")  # logged, not raised


async def test_a_flood_of_sync_requests_costs_one_state_publish_per_interval() -> None:
    """Every node hears a state publish, so one answers all the requests made meanwhile."""
    bus = MemoryPubSub()
    a = Node("a", bus, sync_interval=0.2)
    heard: list[dict[str, Any]] = []
    await bus.subscribe(PRESENCE_CHANNEL, lambda _channel, data: heard.append(orjson.loads(data)))

    def syncs() -> list[dict[str, Any]]:
        return [m for m in heard if m["type"] == "sync"]

    def ask(count: int, to: str = "a") -> None:
        for i in range(count):  # from many node names, as a forger would
            request = {"type": "sync_request", "node": f"n{i}", "to": to}
            a.cluster.receive(PRESENCE_CHANNEL, orjson.dumps(request).decode())

    a.cluster.tracker.track("room:lobby", "ann", {"status": "online"})
    ask(500)
    await a.run_spawned()
    assert len(syncs()) == 1  # the first is answered at once
    a.cluster.tracker.track("room:lobby", "bob", {"status": "online"})
    await asyncio.sleep(0.3)
    await a.run_spawned()
    assert len(syncs()) == 2  # the 499 others: one answer when the interval ended
    assert set(syncs()[1]["state"]["room:lobby"]) == {"ann", "bob"}  # the state then
    ask(100, to="b")  # for another node: not a's to answer
    await asyncio.sleep(0.3)
    await a.run_spawned()
    assert len(syncs()) == 2
    ask(1)
    a.spawned.clear()
    await a.cluster.close()  # a scheduled answer dies with the node
    await asyncio.sleep(0.3)
    assert a.spawned == []
