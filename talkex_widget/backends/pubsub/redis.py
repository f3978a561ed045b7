"""Pubsub over Redis, for several server processes (nodes) sharing the same rooms.

Two connections. ``PUBLISH`` goes through an
:class:`~.redis_client.OrderedPipeline`, so a node's messages reach the others in
the order it sent them. One reader task owns the
subscriber connection: it dispatches each message to the handlers of its channel and confirms
each ``SUBSCRIBE``, so that :meth:`RedisPubSub.subscribe` returns once Redis delivers the
channel (a room that subscribes and then reads its history misses nothing in between).

When Redis goes away the reader logs one warning, reports the backend unhealthy (``/healthz``
says ``degraded``) and reconnects after 0.1 s, doubling up to 5 s between tries; once back it
subscribes every channel again and logs one line. Meanwhile :meth:`RedisPubSub.publish` fails
at once, so each node keeps serving its own sockets; the presence trackers notice what they
missed from the next heartbeats and ask each other for their state.

A connection that breaks is seen at once; one that hangs (a frozen server, a lost network) is
probed with ``PING`` after :data:`PING_AFTER` seconds of silence and dropped when no answer
follows within as long again.

Channels are named ``talkex:<db>:<channel>``: Redis pubsub ignores databases, and two Talkex
deployments sharing a Redis under different ``/db`` numbers must not hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from talkex_widget.backends import pubsub
from talkex_widget.backends.redis_client import (
    SOCKET_TIMEOUT,
    AbstractConnection,
    OrderedPipeline,
    RedisError,
    address,
    client,
)

__all__ = ["PING_AFTER", "RETRY_FIRST", "RETRY_MAX", "RedisPubSub"]

log = logging.getLogger("talkex.pubsub")

RETRY_FIRST = 0.1
"""Seconds before the first reconnection attempt; doubled after each failure."""
RETRY_MAX = 5.0
"""Longest wait between reconnection attempts."""
PING_AFTER = 3.0
"""Seconds of silence on the subscriber connection before checking it with ``PING``."""


class RedisPubSub(pubsub.PubSub):
    """A :class:`~talkex_widget.backends.pubsub.PubSub` on the Redis server at ``url``."""

    def __init__(self, url: str) -> None:
        self._redis = client(url)
        self._publisher = OrderedPipeline(self._redis)
        self._address = address(self._redis)
        self._prefix = f"talkex:{self._redis.connection_pool.connection_kwargs.get('db', 0)}:"
        self._handlers: dict[str, list[pubsub.Handler]] = {}
        self._acks: dict[str, deque[asyncio.Future[None]]] = {}
        """Per channel, one future per ``SUBSCRIBE`` sent and not yet confirmed, in order."""
        self._conn: AbstractConnection | None = None
        """The subscriber connection while it is up."""
        self._reader: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        return self._conn is not None

    async def start(self) -> None:
        """Start the reader; returns after the first connection attempt, successful or not.

        Redis being down at start-up is not fatal: the node serves its own sockets and joins
        the others once Redis answers, as after any other outage.
        """
        started = asyncio.get_running_loop().create_future()
        self._reader = asyncio.ensure_future(self._read_forever(started))
        await started

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._publisher.close()
        await self._redis.aclose()

    async def subscribe(self, channel: str, handler: pubsub.Handler) -> None:
        handlers = self._handlers.setdefault(channel, [])
        if handler in handlers:
            return
        handlers.append(handler)
        if len(handlers) == 1:
            await self._send_subscribe([channel])
        await self._confirmed(channel)

    async def unsubscribe(self, channel: str, handler: pubsub.Handler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return
        handlers.remove(handler)
        if not handlers:
            del self._handlers[channel]
            await self._send("UNSUBSCRIBE", channel)

    async def publish(self, channel: str, data: str) -> None:
        """Hand ``data`` to Redis; raises ``ConnectionError`` at once while Redis is away."""
        if self._conn is None:
            raise ConnectionError(f"Redis at {self._address} is unreachable; reconnecting")
        try:
            await self._publisher.call("PUBLISH", self._prefix + channel, data)
        except RedisError as exc:
            raise ConnectionError(f"publishing to Redis at {self._address} failed: {exc}") from exc

    # -- the subscriber connection ------------------------------------------------------------

    async def _send_subscribe(self, channels: list[str]) -> None:
        if self._conn is None:
            return  # the reader subscribes every channel when it reconnects
        loop = asyncio.get_running_loop()
        for channel in channels:
            self._acks.setdefault(channel, deque()).append(loop.create_future())
        await self._send("SUBSCRIBE", *channels)

    async def _send(self, verb: str, *channels: str) -> None:
        """Write a (un)subscription on the subscriber connection, if it is up.

        Errors are left to the reader task, which sees the broken connection, reconnects and
        subscribes every channel again.
        """
        conn = self._conn
        if conn is None or not conn.is_connected:
            return
        with contextlib.suppress(RedisError, OSError):
            await conn.send_command(verb, *(self._prefix + channel for channel in channels))

    async def _confirmed(self, channel: str) -> None:
        """Wait (briefly) until Redis confirmed the latest ``SUBSCRIBE`` of ``channel``."""
        acks = self._acks.get(channel)
        if acks:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(acks[-1]), SOCKET_TIMEOUT)

    async def _read_forever(self, started: asyncio.Future[None]) -> None:
        delay = RETRY_FIRST
        lost_at: float | None = None
        while True:
            conn = self._redis.connection_pool.make_connection()
            try:
                await conn.connect()
                channels = list(self._handlers)
                self._conn = conn
                if channels:
                    await self._send_subscribe(channels)
                if lost_at is not None:
                    log.info(
                        "Redis at %s is back after %.1f s: %d channel(s) subscribed again",
                        self._address,
                        time.monotonic() - lost_at,
                        len(self._handlers),
                    )
                    lost_at = None
                delay = RETRY_FIRST
                _settle(started)
                await self._read(conn)
            except Exception as exc:  # whatever broke, the cure is a fresh connection
                if lost_at is None:
                    lost_at = time.monotonic()
                    log.warning(
                        "%s Redis at %s (%s): rooms keep working on this node alone; "
                        "reconnecting in the background",
                        "lost the connection to" if self._conn is conn else "cannot reach",
                        self._address,
                        exc,
                    )
                else:
                    log.debug("Redis at %s still unreachable: %s", self._address, exc)
            finally:
                self._conn = None
                for acks in self._acks.values():
                    for ack in acks:
                        _settle(ack)
                self._acks.clear()
                await conn.disconnect(nowait=True)
            _settle(started)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _read(self, conn: AbstractConnection) -> None:
        """Dispatch what arrives until the connection breaks (then raise)."""
        pinged = False
        while True:
            reply = await conn.read_response(timeout=PING_AFTER)
            if reply is None:  # silence
                if pinged:
                    raise TimeoutError(f"no answer to PING within {PING_AFTER:g} s")
                await conn.send_command("PING")
                pinged = True
                continue
            pinged = False
            if isinstance(reply, list):
                self._dispatch(reply)

    def _dispatch(self, reply: list[str]) -> None:
        kind, wire_channel = reply[0], reply[1]
        channel = wire_channel[len(self._prefix) :]
        if kind == "message":
            for handler in tuple(self._handlers.get(channel, ())):
                try:
                    handler(channel, reply[2])
                except Exception:
                    log.exception("pubsub handler for %s failed", channel)
        elif kind == "subscribe":
            acks = self._acks.get(channel)
            if acks:
                _settle(acks.popleft())
                if not acks:
                    del self._acks[channel]


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
