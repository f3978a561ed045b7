"""What the Redis pubsub and the Redis history share: the optional driver, how to connect, and
an ordered pipeline.

The driver is an extra. Importing this module without it raises ``ValueError`` naming the
extra to install: the backends are imported only when a ``redis://`` URL asks for them, and
``ValueError`` is what a bad ``--pubsub`` or ``--db`` URL raises, which the CLI turns into a
usage error (exit status 2) carrying this message.

Connections use short timeouts and no automatic retries, so a Redis that went away costs a
caller at most a couple of seconds and never stalls a room; the backends decide what to do
about a failure (the pubsub reconnects in the background, the history reports the error).
All connections speak RESP2, whose plain array replies are what the pubsub reader expects.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

INSTALL_HINT = 'pip install "talkex-widget[redis]"'

try:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError:
    raise ValueError(
        f"redis:// URLs need the Redis driver, which is not installed: {INSTALL_HINT}"
    ) from None

__all__ = [
    "CONNECT_TIMEOUT",
    "INSTALL_HINT",
    "SOCKET_TIMEOUT",
    "AbstractConnection",
    "OrderedPipeline",
    "RedisError",
    "address",
    "client",
]

CONNECT_TIMEOUT = 1.0
"""Seconds to open a connection: Redis on the same network answers in milliseconds."""
SOCKET_TIMEOUT = 2.0
"""Seconds to wait for a reply before giving up on the connection."""


def client(url: str) -> Redis:
    """A client for ``url`` (``ValueError`` if the URL is malformed)."""
    return Redis.from_url(
        url,
        decode_responses=True,
        protocol=2,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )


def address(redis: Redis) -> str:
    """``host:port/db`` for log lines and errors: the URL without its password."""
    kwargs = redis.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"{where}/{kwargs.get('db', 0)}"


class OrderedPipeline:
    """Runs commands in the order they were submitted, over one connection, in batches.

    Whatever queues up while a batch is in flight goes out as the next pipeline: a burst of N
    commands costs a few round trips, not N, and the order is kept (history ids follow the
    order of ``append`` calls and a read sees every append made before it; a node's presence
    deltas reach the other nodes in sequence). Redis runs commands one at a time anyway, so
    one busy connection serves a node as well as many, without a pool growing under load.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def call(self, *command: Any) -> Any:
        """Run one command; its reply, or the error that kept it from running."""
        if self._closing:
            raise RuntimeError("the Redis pipeline is closed")
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((command, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Send what is already queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._queue or not self._closing:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if batch:
                await self._send(batch)

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        results: list[Any]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for command, _ in batch:
                    pipe.execute_command(*command)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed: any of the batch may or may not have run
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
