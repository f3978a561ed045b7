"""Read positions on the wire: ``read {id}`` forward only, ``read_id`` in the join reply, and
the person's other connections told, so another device clears its unread too."""

from __future__ import annotations

from typing import Any

import pytest

from talkex_widget.backends.history.memory import MemoryHistory
from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.server.reads import ReadMoved
from talkex_widget.server.service import ChatService
from tests.conftest import Raw

from .fakes import FakeClock, FakePeer


async def joined(raw: Raw, nickname: str) -> tuple[Any, dict[str, Any]]:
    sock = await raw(nickname)
    reply = await sock.join()
    return sock, reply["response"]


async def test_a_read_moves_forward_reaches_the_other_devices_and_survives_a_rejoin(
    raw: Raw,
) -> None:
    phone, first = await joined(raw, "ann")
    assert first["read_id"] == 0
    laptop, _ = await joined(raw, "ann")
    bob, _ = await joined(raw, "bob")
    for i in range(3):
        bob.send(["1", f"m{i}", "room:lobby", "new_msg", {"body": f"hi {i}"}])
        await bob.reply_to(f"m{i}")

    phone.send(["1", "2", "room:lobby", "read", {"id": 2}])
    assert (await phone.reply_to("2"))["response"] == {"read_id": 2}
    told = await laptop.until(lambda f: f[3] == "read")
    assert told == [None, None, "room:lobby", "read", {"read_id": 2}]

    laptop.send(["1", "3", "room:lobby", "read", {"id": 1}])  # behind: nothing moves
    assert (await laptop.reply_to("3"))["response"] == {"read_id": 2}
    laptop.send(["1", "4", "room:lobby", "read", {"id": 99}])  # held at the latest message
    assert (await laptop.reply_to("4"))["response"] == {"read_id": 3}
    await phone.until(lambda f: f[3] == "read" and f[4] == {"read_id": 3})

    _, again = await joined(raw, "ann")
    assert again["read_id"] == 3
    _, bobs = await joined(raw, "bob")
    assert bobs["read_id"] == 0  # per person


async def test_a_read_without_an_id_is_refused_with_a_reason(raw: Raw) -> None:
    sock, _ = await joined(raw, "ann")
    for ref, payload in (("2", {}), ("3", {"id": "x"}), ("4", {"id": -1})):
        sock.send(["1", ref, "room:lobby", "read", payload])
        reply = await sock.reply_to(ref)
        assert reply["status"] == "error" and reply["response"]["reason"]


async def test_a_read_reaches_the_persons_connections_on_other_nodes() -> None:
    bus, history = MemoryPubSub(), MemoryHistory()
    here = ChatService(history, bus, node="here", scheduler=FakeClock())
    there = ChatService(history, bus, node="there", scheduler=FakeClock())
    for service in (here, there):
        await service.start()
    try:
        phone_peer, laptop_peer, bob_peer = FakePeer("ann"), FakePeer("ann"), FakePeer("bob")
        phone, _ = await here.join(phone_peer, "lobby", "1", {})
        laptop, _ = await there.join(laptop_peer, "lobby", "1", {})
        bob, _ = await there.join(bob_peer, "lobby", "1", {})
        for member in (phone, laptop, bob):
            member.buffer = None  # as after their presence_state
        await history.append("lobby", "bob", "hi", "2026-11-29T15:40:01.123Z")

        assert await here.mark_read(phone, {"id": 1}) == 1
        assert [f[3:] for f in laptop_peer.frames()] == [["read", {"read_id": 1}]]
        assert phone_peer.frames() == []  # it has its reply
        assert bob_peer.frames() == []  # someone else's position
        assert await there.mark_read(laptop, {"id": 1}) == 1  # nothing moved: nobody told
        assert phone_peer.frames() == []
    finally:
        for service in (here, there):
            await service.close()


@pytest.mark.parametrize(
    "data", ["", "[]", '["n", "lobby", "ann"]', '["n", "lobby", "ann", "1"]', "[1, 2, 3, 4]"]
)
def test_a_malformed_read_event_from_the_bus_is_ignored(data: str) -> None:
    assert ReadMoved.decode(data) is None
    assert ReadMoved.decode(ReadMoved("n", "lobby", "ann", 3).encode()) == ("n", "lobby", "ann", 3)
