"""Fixtures for the pubsub tests: a publisher and a subscriber per backend, so the contract runs
on each. Over memory both are the same bus; over Redis they are two nodes' connections."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from talkex_widget.backends.pubsub import PubSub, from_url
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # the session fixture, registered for this folder


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nodes(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[PubSub, PubSub]]:
    """``(publisher, subscriber)``."""
    if request.param == "memory":
        bus = from_url("memory://")
        await bus.start()
        yield bus, bus
        await bus.close()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    publisher, subscriber = from_url(server.url()), from_url(server.url())
    for bus in (publisher, subscriber):
        await bus.start()
    yield publisher, subscriber
    for bus in (publisher, subscriber):
        await bus.close()
