"""A signed pubsub hears only its cluster: forged, tampered and replayed-elsewhere messages are
dropped and counted, with a warning a minute at most (the contract suite runs it too)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from talkex_widget.backends.pubsub import from_url
from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.backends.pubsub.signed import WARN_EVERY, SignedPubSub
from tests.helpers import eventually
from tests.redis_server import RedisServer

from .conftest import CLUSTER_SECRET

Received = list[tuple[str, str]]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def listening(bus: SignedPubSub, channel: str = "room:lobby") -> Received:
    received: Received = []
    await bus.subscribe(channel, lambda channel, data: received.append((channel, data)))
    return received


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_nodes_with_the_same_secret_hear_each_other_and_nobody_else() -> None:
    bus = MemoryPubSub()
    a, b = SignedPubSub(bus, CLUSTER_SECRET), SignedPubSub(bus, CLUSTER_SECRET)
    other = SignedPubSub(bus, "another-" + "x" * 32)
    received = await listening(b)
    raw: Received = []
    await bus.subscribe("room:lobby", lambda channel, data: raw.append((channel, data)))
    await a.publish("room:lobby", "a\nhello")
    assert received == [("room:lobby", "a\nhello")]
    assert raw[0][1].startswith("v1.") and raw[0][1].endswith(".a\nhello")
    await other.publish("room:lobby", "x\nfrom another cluster")
    await bus.publish("room:lobby", "x\nunsigned")
    assert received == [("room:lobby", "a\nhello")]
    assert (a.rejected, b.rejected) == (0, 2)  # only b listens


@pytest.mark.parametrize(
    "forge",
    [
        lambda signed: signed.split(".", 2)[2],  # the signature taken off
        lambda signed: signed[:-1] + "X",  # the data changed
        lambda signed: signed[:10] + "0" + signed[11:],  # the signature changed
        lambda signed: "v2" + signed[2:],  # another version
        lambda signed: "v1." + "é" * 64 + "." + signed.split(".", 2)[2],  # not hex, not ASCII
        lambda signed: "v1.",
        lambda signed: "",
    ],
)
async def test_forged_or_tampered_messages_are_dropped_and_counted(
    forge: Callable[[str], str],
) -> None:
    bus = MemoryPubSub()
    node = SignedPubSub(bus, CLUSTER_SECRET)
    received = await listening(node)
    sent: list[str] = []
    await bus.subscribe("room:lobby", lambda _channel, data: sent.append(data))
    await node.publish("room:lobby", "a\nhello")
    await bus.publish("room:lobby", forge(sent[0]))
    assert received == [("room:lobby", "a\nhello")]
    assert node.rejected == 1


async def test_a_message_replayed_on_another_channel_is_dropped() -> None:
    """The MAC covers the channel: a room's message cannot be moved to another room."""
    bus = MemoryPubSub()
    node = SignedPubSub(bus, CLUSTER_SECRET)
    sent: list[str] = []
    await bus.subscribe("room:secret", lambda _channel, data: sent.append(data))
    dev = await listening(node, "room:dev")
    await node.publish("room:secret", "a\nfor the secret room only")
    await bus.publish("room:dev", sent[0])
    assert dev == [] and node.rejected == 1


async def test_one_warning_a_minute_however_many_are_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    bus = MemoryPubSub()
    node = SignedPubSub(bus, CLUSTER_SECRET, clock=clock)
    await listening(node)
    for _ in range(500):
        await bus.publish("room:lobby", "forged")
    assert node.rejected == 500
    assert len(warnings(caplog)) == 1
    assert "dropped 1 message(s)" in warnings(caplog)[0]
    assert "forged" not in caplog.text  # what an attacker sent is not copied into the log
    clock.now = WARN_EVERY - 1
    await bus.publish("room:lobby", "forged")
    assert len(warnings(caplog)) == 1
    clock.now = WARN_EVERY
    await bus.publish("room:lobby", "forged")
    assert len(warnings(caplog)) == 2
    assert "dropped 501 message(s) on the pubsub" in warnings(caplog)[1]
    assert "502 in all" in warnings(caplog)[1]


async def test_unsubscribing_stops_delivery() -> None:
    bus = MemoryPubSub()
    node = SignedPubSub(bus, CLUSTER_SECRET)
    received: Received = []

    def handler(channel: str, data: str) -> None:
        received.append((channel, data))

    await node.subscribe("room:lobby", handler)
    await node.subscribe("room:lobby", handler)  # twice: one delivery
    await node.publish("room:lobby", "one")
    await node.unsubscribe("room:lobby", handler)
    await node.publish("room:lobby", "two")
    assert received == [("room:lobby", "one")]


def test_a_short_cluster_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        from_url("memory://", secret="too short")


def test_a_redis_pubsub_without_a_secret_warns_and_with_one_is_signed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from_url("redis://127.0.0.1:1/0")
    assert "the Redis pubsub is not signed" in caplog.text
    caplog.clear()
    assert isinstance(from_url("redis://127.0.0.1:1/0", secret=CLUSTER_SECRET), SignedPubSub)
    assert isinstance(from_url("memory://"), MemoryPubSub)
    assert caplog.text == ""


@pytest.mark.redis
async def test_a_raw_redis_client_cannot_inject_messages(redis_server: RedisServer) -> None:
    """What anyone with access to Redis can do: ``PUBLISH`` on the channel the nodes use."""
    redis_server.flush()
    node = from_url(redis_server.url(), secret=CLUSTER_SECRET)
    await node.start()
    attacker = Redis.from_url(redis_server.url(), decode_responses=True)
    try:
        received = await listening(node)  # type: ignore[arg-type]
        forged = 'evil\n[null,null,"room:lobby","new_msg",{"body":"from the admin"}]'
        assert await attacker.publish("talkex:0:room:lobby", forged) == 1
        assert await attacker.publish("talkex:0:room:lobby", "v1." + "0" * 64 + "." + forged)
        await node.publish("room:lobby", "marker")  # delivered in order after the forgeries
        await eventually(lambda: received, what="the marker")
        assert received == [("room:lobby", "marker")]
        assert node.rejected == 2
    finally:
        await attacker.aclose()
        await node.close()
