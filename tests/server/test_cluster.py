"""Cluster: the tracker's I/O over the pubsub, with two nodes on one in-memory bus."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest

from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.core.presence import Diff
from talkex_widget.core.tracker import Tracker
from talkex_widget.server.cluster import Cluster


class Node:
    """A cluster link with what reached its members and a clock the test sets."""

    def __init__(self, name: str, bus: MemoryPubSub) -> None:
        self.now = 0.0
        self.diffs: list[tuple[str, Diff]] = []
        self.spawned: list[Coroutine[Any, Any, None]] = []
        self.cluster = Cluster(
            bus,
            Tracker(name),
            on_diff=lambda topic, diff: self.diffs.append((topic, diff)),
            spawn=self.spawned.append,
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
