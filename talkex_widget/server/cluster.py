"""This node among the others on one pubsub: room frames, tracker deltas and heartbeats.

The presence tracker (:class:`~talkex_widget.core.tracker.Tracker`) is pure; this is its I/O:
deltas and heartbeats go out on :data:`PRESENCE_CHANNEL`, what the other nodes send comes back
into the tracker, and the diffs it yields reach local members through ``on_diff``. Room frames
for other nodes carry this node's name, so nobody receives its own broadcast twice. Publishing
never raises: when the pubsub is down, each node's rooms keep working on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from talkex_widget.backends.pubsub import PubSub
from talkex_widget.core.presence import Diff
from talkex_widget.core.tracker import Tracker

__all__ = ["NODE_TIMEOUT", "PRESENCE_CHANNEL", "Cluster"]

log = logging.getLogger("talkex.cluster")

PRESENCE_CHANNEL = "talkex:presence"
"""Pubsub channel for the trackers of all nodes: deltas, heartbeats, state syncs."""
NODE_TIMEOUT = 30.0
"""Seconds of silence after which a node is considered down and its users leave."""


class Cluster:
    """The pubsub link of one node: ``start`` it, publish through it, ``close`` it.

    ``spawn`` runs a coroutine from a synchronous pubsub callback (the service keeps the task);
    ``clock`` is the monotonic clock the tracker's liveness is measured with.
    """

    def __init__(
        self,
        pubsub: PubSub,
        tracker: Tracker,
        *,
        on_diff: Callable[[str, Diff], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        node_timeout: float = NODE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pubsub = pubsub
        self.tracker = tracker
        self.on_diff = on_diff
        self.spawn = spawn
        self.node_timeout = node_timeout
        self.clock = clock
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen to the other trackers, say hello, and keep saying it."""
        await self.pubsub.subscribe(PRESENCE_CHANNEL, self.receive)
        await self._send_presence(self.tracker.heartbeat())
        self._heartbeat = asyncio.ensure_future(self._heartbeat_loop())

    async def close(self) -> None:
        """Stop the heartbeats; the others will time this node out unless it comes back."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    async def publish(self, channel: str, data: str) -> None:
        """Publish, logging instead of raising: local delivery must not wait on the pubsub."""
        try:
            await self.pubsub.publish(channel, data)
        except Exception as exc:  # the pubsub is down: local rooms carry on
            # A known outage was logged once by the pubsub: not one line per broadcast.
            level = logging.WARNING if self.pubsub.healthy else logging.DEBUG
            log.log(level, "pubsub publish on %s failed: %s", channel, exc)

    async def publish_room(self, topic: str, text: str) -> None:
        """A room frame for the other nodes, tagged with this node's name."""
        await self.publish(topic, f"{self.tracker.node}\n{text}")

    def room_text(self, data: str) -> str | None:
        """The frame text of a room message from the pubsub; ``None`` if this node sent it."""
        node, _, text = data.partition("\n")
        return None if node == self.tracker.node else text

    async def publish_delta(self, delta: dict[str, Any]) -> None:
        """A local presence change, for the other nodes' trackers."""
        await self._send_presence(delta)

    def receive(self, _channel: str, data: str) -> None:
        """A tracker message from another node (or this one: the tracker ignores its own)."""
        try:
            message = orjson.loads(data)
            deliveries, outgoing = self.tracker.receive(message, self.clock())
        except Exception:
            log.exception("bad presence message from the pubsub: %.200s", data)
            return
        for topic, diff in deliveries:
            self.on_diff(topic, diff)
        for reply in outgoing:
            self.spawn(self._send_presence(reply))

    async def _send_presence(self, message: dict[str, Any]) -> None:
        await self.publish(PRESENCE_CHANNEL, orjson.dumps(message).decode())

    async def _heartbeat_loop(self) -> None:
        interval = max(0.05, self.node_timeout / 3)
        while True:
            await asyncio.sleep(interval)
            for topic, diff in self.tracker.expire(self.clock(), self.node_timeout):
                log.warning("presence of a silent node removed from %s", topic)
                self.on_diff(topic, diff)
            await self._send_presence(self.tracker.heartbeat())
