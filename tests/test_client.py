"""The Python client's reconnect, rejoin, catch-up and resend behaviour against a real server."""

from __future__ import annotations

import asyncio

from talkex_widget.client import RECONNECT_BACKOFF, RoomClient, socket_url
from talkex_widget.client.timing import RECONNECT_AFTER_LAST, backoff
from talkex_widget.server.app import TalkexServer

from .conftest import Connect, JoinRoom, drop_connections
from .helpers import eventually


def test_socket_url_and_backoff() -> None:
    url = socket_url("http://127.0.0.1:4000/", {"nickname": "a b", "token": "t"})
    assert url == "ws://127.0.0.1:4000/socket/websocket?nickname=a+b&token=t&vsn=2.0.0"
    assert socket_url("https://h/", {}).startswith("wss://h/socket/websocket")
    hub = socket_url("http://hub:8000/services/talkex/", {})
    assert hub.startswith("ws://hub:8000/services/talkex/socket/websocket?")
    assert 0.01 <= backoff(RECONNECT_BACKOFF, 1, RECONNECT_AFTER_LAST) <= 0.0125
    assert 5.0 <= backoff(RECONNECT_BACKOFF, 50, RECONNECT_AFTER_LAST) <= 6.25


async def test_reconnect_rejoins_and_catches_up_exactly_the_missed_messages(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    first = await alice.send("before the drop")
    await eventually(lambda: first in bob.messages)
    seen: list[int] = []
    bob.on_message.append(lambda m: seen.append(m["id"]))

    drop_connections(server, "bob")
    await eventually(lambda: "bob" not in alice.presence.statuses(), what="bob's leave")
    missed = [await alice.send(f"while bob was away {i}") for i in range(3)]
    await eventually(lambda: "bob" in alice.presence.statuses(), timeout=10, what="bob back")
    await eventually(lambda: all(i in bob.messages for i in missed), what="catch-up")
    assert sorted(seen) == missed  # each missed message delivered once, nothing twice
    assert [m["id"] for m in bob.ordered()] == [first, *missed]
    assert set(bob.presence.statuses()) == {"alice", "bob"}


async def test_messages_sent_while_disconnected_are_resent_once_after_rejoin(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    drop_connections(server, "bob")
    await eventually(lambda: not bob.socket.connected)
    send = asyncio.ensure_future(bob.send("typed on the train", client_id="c-1"))
    await asyncio.sleep(0)
    assert "c-1" in bob.pending
    message_id = await send
    await eventually(lambda: message_id in alice.messages)
    bodies = [m["body"] for m in alice.ordered()]
    assert bodies.count("typed on the train") == 1
    # A repeat of the same client_id is acknowledged with the original id, not stored again.
    assert await bob.send("typed on the train", client_id="c-1") == message_id
    await asyncio.sleep(0.1)
    assert [m["body"] for m in alice.ordered()].count("typed on the train") == 1


async def test_status_survives_a_rejoin(server: TalkexServer, join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    await bob.set_status("away")
    await eventually(lambda: alice.presence.statuses().get("bob") == "away")
    drop_connections(server, "bob")
    await eventually(lambda: "bob" not in alice.presence.statuses())
    await eventually(lambda: alice.presence.statuses().get("bob") == "away", timeout=10)


async def test_scroll_back_loads_older_pages(join_room: JoinRoom, connect: Connect) -> None:
    alice = await join_room("alice")
    for i in range(60):
        await alice.send(f"m{i}")
    reader = RoomClient(await connect("reader"), "lobby")
    await reader.join()
    assert [m["body"] for m in reader.ordered()] == [f"m{i}" for i in range(10, 60)]
    assert reader.has_more
    older = await reader.older(limit=8)
    assert [m["body"] for m in older] == [f"m{i}" for i in range(2, 10)]
    assert reader.has_more
    await reader.older(limit=8)
    assert not reader.has_more
    assert len(reader.messages) == 60


async def test_server_limits_come_from_the_join_reply(connect: Connect) -> None:
    client = RoomClient(await connect("alice"), "lobby")
    assert dict(client.server_limits) == {}  # nothing known before the server said so
    await client.join()
    assert "max_body" in client.server_limits
