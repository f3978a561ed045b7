"""This node among the others on one pubsub: room frames, tracker deltas and heartbeats.

The presence tracker (:class:`~talkex_widget.core.tracker.Tracker`) is pure; this is its I/O:
deltas and heartbeats go out on :data:`PRESENCE_CHANNEL`, what the other nodes send comes back
into the tracker, and the diffs it yields reach local members through ``on_diff``. Room frames
for other nodes carry this node's name, so nobody receives its own broadcast twice. Publishing
never raises: when the pubsub is down, each node's rooms keep working on their own.

A node's full state goes out at most once per :data:`SYNC_ANSWER_INTERVAL`, however many sync
requests arrive: every node hears that one answer, so requests made meanwhile wait for the next
one instead of each costing a publish of everything (a flood of requests, forged or replayed,
stays a trickle).
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

__all__ = ["NODE_TIMEOUT", "PRESENCE_CHANNEL", "SYNC_ANSWER_INTERVAL", "Cluster"]

log = logging.getLogger("talkex.cluster")

PRESENCE_CHANNEL = "talkex:presence"
"""Pubsub channel for the trackers of all nodes: deltas, heartbeats, state syncs."""
NODE_TIMEOUT = 30.0
"""Seconds of silence after which a node is considered down and its users leave."""
SYNC_ANSWER_INTERVAL = 1.0
"""Shortest time between two publishes of this node's full state in answer to sync requests;
below the tracker's :data:`~talkex_widget.core.tracker.SYNC_RETRY`, so an asker is answered
before it asks again."""


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
        sync_interval: float = SYNC_ANSWER_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pubsub = pubsub
        self.tracker = tracker
        self.on_diff = on_diff
        self.spawn = spawn
        self.node_timeout = node_timeout
        self.sync_interval = sync_interval
        self.clock = clock
        self._heartbeat: asyncio.Task[None] | None = None
        self._synced_at: float | None = None
        """When this node's state last went out in answer to a sync request."""
        self._sync_later: asyncio.TimerHandle | None = None
        """The answer to sync requests that came too soon after the last one."""

    async def start(self) -> None:
        """Listen to the other trackers, say hello, and keep saying it."""
        await self.pubsub.subscribe(PRESENCE_CHANNEL, self.receive)
        await self._send_presence(self.tracker.heartbeat())
        self._heartbeat = asyncio.ensure_future(self._heartbeat_loop())

    async def close(self) -> None:
        """Stop the heartbeats; the others will time this node out unless it comes back."""
        if self._sync_later is not None:
            self._sync_later.cancel()
            self._sync_later = None
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
            if message.get("type") == "sync_request":
                if message.get("to") == self.tracker.node:
                    self._answer_sync()
                return
            deliveries, outgoing = self.tracker.receive(message, self.clock())
        except Exception:
            log.exception("bad presence message from the pubsub: %.200s", data)
            return
        for topic, diff in deliveries:
            self.on_diff(topic, diff)
        for reply in outgoing:
            self.spawn(self._send_presence(reply))

    def _answer_sync(self) -> None:
        """Publish this node's state now, or once when the interval since the last one ends."""
        if self._sync_later is not None:
            return  # the answer already scheduled will do
        wait = 0.0
        if self._synced_at is not None:
            wait = self._synced_at + self.sync_interval - self.clock()
        if wait > 0:
            self._sync_later = asyncio.get_running_loop().call_later(wait, self._send_sync)
        else:
            self._send_sync()

    def _send_sync(self) -> None:
        self._sync_later, self._synced_at = None, self.clock()
        self.spawn(self._send_presence(self.tracker.sync_message()))

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
