"""What only the Redis pubsub does: namespaces, outages, reconnection, and a missing driver."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from talkex_widget.backends.pubsub import redis as redis_pubsub
from talkex_widget.backends.pubsub.redis import RedisPubSub
from tests.helpers import eventually
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

Received = list[tuple[str, str]]
ROOT = Path(__file__).resolve().parents[3]


def recorder() -> tuple[Received, redis_pubsub.pubsub.Handler]:
    received: Received = []
    return received, lambda channel, data: received.append((channel, data))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis this test may kill, freeze and restart."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    if server.process is not None:
        server.thaw()
    server.kill()


@pytest.fixture
async def buses() -> AsyncIterator[list[RedisPubSub]]:
    """Collects started buses and closes them after the test."""
    started: list[RedisPubSub] = []
    yield started
    for bus in started:
        await bus.close()


async def start_bus(buses: list[RedisPubSub], url: str) -> RedisPubSub:
    bus = RedisPubSub(url)
    await bus.start()
    buses.append(bus)
    return bus


async def test_databases_are_separate_deployments(
    redis_server: RedisServer, buses: list[RedisPubSub]
) -> None:
    one, other = (
        await start_bus(buses, redis_server.url(1)),
        await start_bus(buses, redis_server.url(2)),
    )
    heard_by_one, on_one = recorder()
    heard_by_other, on_other = recorder()
    await one.subscribe("room:lobby", on_one)
    await other.subscribe("room:lobby", on_other)
    await other.publish("room:lobby", "for db 2")
    await one.publish("room:lobby", "for db 1")
    await eventually(lambda: heard_by_one and heard_by_other)
    assert heard_by_one == [("room:lobby", "for db 1")]
    assert heard_by_other == [("room:lobby", "for db 2")]


async def test_a_failing_handler_does_not_stop_delivery(
    redis_server: RedisServer, buses: list[RedisPubSub], caplog: pytest.LogCaptureFixture
) -> None:
    bus = await start_bus(buses, redis_server.url())
    received, handler = recorder()

    def broken(channel: str, data: str) -> None:
        raise RuntimeError("handler bug")

    await bus.subscribe("room:lobby", broken)
    await bus.subscribe("room:lobby", handler)
    await bus.publish("room:lobby", "one")
    await bus.publish("room:lobby", "two")
    await eventually(lambda: len(received) == 2, what="both messages despite the broken handler")
    assert bus.healthy
    assert "pubsub handler for room:lobby failed" in caplog.text


async def test_an_outage_degrades_then_everything_resumes(
    own_redis: RedisServer, buses: list[RedisPubSub], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="talkex.pubsub")
    publisher = await start_bus(buses, own_redis.url())
    subscriber = await start_bus(buses, own_redis.url())
    lobby, on_lobby = recorder()
    dev, on_dev = recorder()
    await subscriber.subscribe("room:lobby", on_lobby)

    own_redis.kill()
    await eventually(lambda: not publisher.healthy and not subscriber.healthy, what="degraded")
    began = time.monotonic()
    with pytest.raises(ConnectionError, match="unreachable"):
        await publisher.publish("room:lobby", "lost")
    assert time.monotonic() - began < 0.1  # fails at once: the node carries on locally
    await subscriber.subscribe("room:dev", on_dev)  # while down: remembered, not an error
    await subscriber.unsubscribe("room:lobby", on_lobby)
    await subscriber.subscribe("room:lobby", on_lobby)

    def retries() -> int:
        return sum("still unreachable" in r.getMessage() for r in caplog.records)

    await eventually(lambda: retries() >= 6, timeout=10, what="several reconnection attempts")
    own_redis.start()
    await eventually(lambda: publisher.healthy and subscriber.healthy, timeout=10, what="back")
    await publisher.publish("room:lobby", "after")
    await publisher.publish("room:dev", "subscribed while down")
    await eventually(lambda: lobby and dev, what="both channels after reconnection")
    assert lobby == [("room:lobby", "after")]
    assert dev == [("room:dev", "subscribed while down")]

    # One warning when lost and one line when back, per connection, however many retries.
    records = [r for r in caplog.records if r.name == "talkex.pubsub"]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    infos = [r for r in records if r.levelno == logging.INFO]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
    assert all("lost the connection to Redis" in r.getMessage() for r in warnings)
    assert len(infos) == 2, [r.getMessage() for r in infos]
    assert all("is back after" in r.getMessage() for r in infos)


async def test_starting_while_redis_is_down_retries_with_backoff_until_it_comes(
    tmp_path: Path, buses: list[RedisPubSub], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="talkex.pubsub")
    server = RedisServer(tmp_path / "redis")
    bus = await start_bus(buses, server.url())
    try:
        assert not bus.healthy
        assert "cannot reach Redis at 127.0.0.1:" in caplog.text
        received, handler = recorder()
        await bus.subscribe("room:lobby", handler)  # remembered until Redis answers

        def attempts() -> list[float]:
            return [r.created for r in caplog.records if "still unreachable" in r.getMessage()]

        await eventually(lambda: len(attempts()) >= 4, timeout=10, what="four more attempts")
        times = attempts()
        for i, (earlier, later) in enumerate(itertools.pairwise(times)):
            # 0.1 s after the first failure, then doubling: never sooner
            assert later - earlier >= 0.9 * redis_pubsub.RETRY_FIRST * 2 ** (i + 1)
        server.start()
        await eventually(lambda: bus.healthy, timeout=10, what="connected")
        await bus.publish("room:lobby", "hello")
        await eventually(lambda: received == [("room:lobby", "hello")])
    finally:
        server.kill()


async def test_a_frozen_redis_is_noticed_and_left_behind(
    own_redis: RedisServer, buses: list[RedisPubSub], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung server keeps its connections open: only the PING probe tells."""
    monkeypatch.setattr(redis_pubsub, "PING_AFTER", 0.2)
    bus = await start_bus(buses, own_redis.url())
    received, handler = recorder()
    await bus.subscribe("room:lobby", handler)
    own_redis.freeze()
    await eventually(lambda: not bus.healthy, timeout=3, what="the frozen server noticed")
    own_redis.thaw()
    await eventually(lambda: bus.healthy, timeout=15, what="reconnected")
    await bus.publish("room:lobby", "thawed")
    await eventually(lambda: received == [("room:lobby", "thawed")])


def test_without_the_driver_a_redis_url_is_a_usage_error_naming_the_extra() -> None:
    block = "import sys; sys.modules['redis'] = None;"
    checks = {
        "pubsub": "from talkex_widget.backends.pubsub import from_url; from_url('redis://127.0.0.1:1/0')",
        "history": "from talkex_widget.backends.history import from_url; from_url('redis://127.0.0.1:1/0')",
    }
    for what, code in checks.items():
        result = subprocess.run(
            [sys.executable, "-c", block + code], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode != 0, what
        assert "ValueError" in result.stderr, (what, result.stderr)
        assert 'pip install "talkex-widget[redis]"' in result.stderr, (what, result.stderr)
    cli = block + (
        "from talkex_widget.cli import main;"
        "sys.exit(main(['serve', '--port', '0', '--db', 'memory',"
        " '--pubsub', 'redis://127.0.0.1:1/0']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", cli], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert 'pip install "talkex-widget[redis]"' in result.stderr
    assert "Traceback" not in result.stderr
