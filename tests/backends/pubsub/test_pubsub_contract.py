"""The contract every pubsub backend keeps; runs once per backend (see ``conftest.nodes``).

Delivery may be asynchronous (Redis), so tests wait on conditions. To show that something
was *not* delivered, the publisher then publishes a marker on a channel that is still heard:
delivery keeps each publisher's order, so once the marker is in, anything published before
it would be in too.
"""

from __future__ import annotations

import asyncio

from talkex_widget.backends.pubsub import Handler, PubSub
from tests.helpers import eventually

Received = list[tuple[str, str]]
Nodes = tuple[PubSub, PubSub]


def recorder() -> tuple[Received, Handler]:
    received: Received = []

    def handler(channel: str, data: str) -> None:
        received.append((channel, data))

    return received, handler


async def test_a_subscriber_gets_what_is_published_on_its_channel(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    received, handler = recorder()
    await subscriber.subscribe("room:lobby", handler)
    await publisher.publish("room:lobby", 'node-a\n[null,null,"room:lobby","new_msg",{}]')
    await eventually(lambda: received, what="the message")
    assert received == [("room:lobby", 'node-a\n[null,null,"room:lobby","new_msg",{}]')]


async def test_data_round_trips_unchanged(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    received, handler = recorder()
    await subscriber.subscribe("room:lobby", handler)
    texts = ["", " ", "line one\nline two\r\n", "héllo 👋 — ünïcode", "x" * 100_000]
    for text in texts:
        await publisher.publish("room:lobby", text)
    await eventually(lambda: len(received) == len(texts), what="every text")
    assert [data for _, data in received] == texts


async def test_only_subscribed_channels_are_delivered(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    lobby, on_lobby = recorder()
    await subscriber.subscribe("room:lobby", on_lobby)
    await publisher.publish("room:dev", "not for the lobby")
    await publisher.publish("room:lobby", "marker")
    await eventually(lambda: lobby, what="the marker")
    assert lobby == [("room:lobby", "marker")]


async def test_order_of_one_publisher_is_kept(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    received, handler = recorder()
    await subscriber.subscribe("talkex:presence", handler)
    await subscriber.subscribe("room:lobby", handler)
    for i in range(100):  # one after the other, across two channels
        await publisher.publish("talkex:presence" if i % 3 else "room:lobby", str(i))
    # and as a node does it: concurrent tasks, each publishing when its turn comes
    await asyncio.gather(*(publisher.publish("room:lobby", str(i)) for i in range(100, 300)))
    await eventually(lambda: len(received) == 300, what="all 300 messages")
    assert [int(data) for _, data in received] == list(range(300))


async def test_several_handlers_each_get_every_message_once(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    first, on_first = recorder()
    second, on_second = recorder()
    await subscriber.subscribe("room:lobby", on_first)
    await subscriber.subscribe("room:lobby", on_second)
    await subscriber.subscribe("room:lobby", on_second)  # twice: still one delivery
    for text in ("one", "two"):
        await publisher.publish("room:lobby", text)
    await eventually(lambda: len(first) == 2 and len(second) == 2, what="both handlers")
    await publisher.publish("room:lobby", "marker")
    await eventually(lambda: len(first) == 3, what="the marker")
    expected = [("room:lobby", t) for t in ("one", "two", "marker")]
    await eventually(lambda: second == expected)
    assert first == expected


async def test_an_unsubscribed_handler_gets_nothing(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    gone, on_gone = recorder()
    kept, on_kept = recorder()
    await subscriber.subscribe("room:lobby", on_gone)
    await subscriber.subscribe("room:lobby", on_kept)
    await publisher.publish("room:lobby", "before")
    await eventually(lambda: len(gone) == 1 and len(kept) == 1, what="the first message")
    await subscriber.unsubscribe("room:lobby", on_gone)
    await subscriber.unsubscribe("room:lobby", on_gone)  # twice: harmless
    await publisher.publish("room:lobby", "after")
    await eventually(lambda: len(kept) == 2, what="the second message")
    assert gone == [("room:lobby", "before")]


async def test_a_channel_without_handlers_is_silent_and_can_be_heard_again(nodes: Nodes) -> None:
    publisher, subscriber = nodes
    lobby, on_lobby = recorder()
    marker, on_marker = recorder()
    await subscriber.subscribe("room:marker", on_marker)
    await subscriber.subscribe("room:lobby", on_lobby)
    await subscriber.unsubscribe("room:lobby", on_lobby)
    await subscriber.unsubscribe("room:never", on_lobby)  # never subscribed: harmless
    await publisher.publish("room:lobby", "nobody listens")
    await publisher.publish("room:marker", "1")
    await eventually(lambda: marker, what="the marker")
    assert lobby == []
    await subscriber.subscribe("room:lobby", on_lobby)
    await publisher.publish("room:lobby", "heard again")
    await eventually(lambda: lobby, what="the message after subscribing again")
    assert lobby == [("room:lobby", "heard again")]


async def test_publishing_where_nobody_listens_is_fine(nodes: Nodes) -> None:
    publisher, _subscriber = nodes
    await publisher.publish("room:empty", "into the void")
    assert publisher.healthy
