"""Fixtures for the pubsub tests: a publisher and a subscriber per backend, so the contract runs
on each. Over memory both are the same bus; over Redis they are two nodes' connections. Each
runs plain and signed with a cluster secret (:mod:`~talkex_widget.backends.pubsub.signed`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from talkex_widget.backends.pubsub import PubSub, from_url
from tests.redis_server import RedisServer, redis_server

__all__ = ["CLUSTER_SECRET", "redis_server"]  # the session fixture, registered for this folder

CLUSTER_SECRET = "cluster-" + "c" * 32


@pytest.fixture(
    params=[
        "memory",
        "signed-memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("signed-redis", marks=pytest.mark.redis),
    ]
)
async def nodes(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[PubSub, PubSub]]:
    """``(publisher, subscriber)``."""
    secret = CLUSTER_SECRET if request.param.startswith("signed-") else None
    if request.param.endswith("memory"):
        bus = from_url("memory://", secret=secret)
        await bus.start()
        yield bus, bus
        await bus.close()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    publisher = from_url(server.url(), secret=secret)
    subscriber = from_url(server.url(), secret=secret)
    for bus in (publisher, subscriber):
        await bus.start()
    yield publisher, subscriber
    for bus in (publisher, subscriber):
        await bus.close()
