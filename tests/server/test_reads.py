"""Read positions on the wire: ``read {id}`` forward only, ``read_id`` in the join reply, and
the person's other connections told, so another device clears its unread too."""

from __future__ import annotations

from typing import Any

from tests.conftest import Raw


async def joined(raw: Raw, nickname: str) -> tuple[Any, dict[str, Any]]:
    sock = await raw(nickname)
    sock.send(["1", "1", "room:lobby", "phx_join", {}])
    reply = await sock.reply_to("1")
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
