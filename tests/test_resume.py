"""No lost messages, frame by frame: catch-up with ``last_seen_id``, paging, and dedupe.

The wire-level tests speak raw frames so the exact join and history replies are checked; the
client-level tests hold a :class:`RoomClient` offline (its reconnects are refused until the
test lets it back in) to check what it asks for and resends when it returns.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from talkex_widget.client import RoomClient
from talkex_widget.server.app import SocketHandler, TalkexServer
from talkex_widget.server.service import CATCH_UP_LIMIT

from .conftest import TOKEN, JoinRoom, Raw, drop_connections
from .helpers import RawSocket, eventually

TOPIC = "room:lobby"


async def joined(sock: RawSocket, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Join ``room:lobby`` with join_ref and ref "1"; return the ok reply's response."""
    sock.send(["1", "1", TOPIC, "phx_join", payload or {}])
    reply = await sock.reply_to("1")
    assert reply["status"] == "ok", reply
    return reply["response"]


async def post(sock: RawSocket, ref: str, body: str, client_id: str | None = None) -> int:
    """Push a ``new_msg`` on the channel joined by :func:`joined`; return the acked id."""
    payload: dict[str, Any] = {"body": body}
    if client_id is not None:
        payload["client_id"] = client_id
    sock.send(["1", ref, TOPIC, "new_msg", payload])
    reply = await sock.reply_to(ref)
    assert reply["status"] == "ok", reply
    return int(reply["response"]["id"])


async def post_many(sock: RawSocket, bodies: list[str]) -> list[int]:
    """Pipeline many pushes, then collect the replies in order."""
    for i, body in enumerate(bodies):
        sock.send(["1", f"m{i}", TOPIC, "new_msg", {"body": body}])
    return [int((await sock.reply_to(f"m{i}"))["response"]["id"]) for i in range(len(bodies))]


def ids(messages: list[dict[str, Any]]) -> list[int]:
    return [m["id"] for m in messages]


# -- catch-up on the wire ---------------------------------------------------------------------


async def test_rejoin_with_last_seen_id_replies_exactly_the_missed_messages(raw: Raw) -> None:
    alice = await raw("alice")
    await joined(alice)
    mine = [await post(alice, f"a{i}", f"alice {i}", client_id=f"ca{i}") for i in range(3)]
    assert mine == [1, 2, 3]
    alice.close()  # alice goes away having seen up to id 3

    bob = await raw("bob")
    await joined(bob)
    missed = [await post(bob, f"b{i}", f"bob {i}", client_id=f"cb{i}") for i in range(4)]
    assert missed == [4, 5, 6, 7]

    back = await raw("alice")
    response = await joined(back, {"last_seen_id": 3})
    assert response["has_more"] is False
    assert "reset" not in response
    assert ids(response["messages"]) == missed
    for i, message in enumerate(response["messages"]):
        assert message["body"] == f"bob {i}"
        assert message["author"] == "bob"
        assert message["client_id"] == f"cb{i}"
        assert message["sent_at"].endswith("Z")

    # Nothing missed, and an id from the future (a client of an older database): nothing.
    for last_seen_id in (7, 100):
        fresh = await raw("carol")
        response = await joined(fresh, {"last_seen_id": last_seen_id})
        assert (response["messages"], response["has_more"]) == ([], False)
    # last_seen_id 0 means "I have seen nothing": everything, not just the latest page.
    zero = await raw("dave")
    assert ids((await joined(zero, {"last_seen_id": 0}))["messages"]) == [*mine, *missed]


async def test_join_pages_and_history_pages(raw: Raw) -> None:
    writer = await raw("writer")
    await joined(writer)
    assert await post_many(writer, [f"m{i}" for i in range(1, 61)]) == list(range(1, 61))

    reader = await raw("reader")
    response = await joined(reader)
    assert ids(response["messages"]) == list(range(11, 61))
    assert response["has_more"] is True

    def history(ref: str, **payload: int) -> list[Any]:
        return ["1", ref, TOPIC, "history", payload]

    pages = [
        (history("h1", before_id=11, limit=8), list(range(3, 11)), True),
        (history("h2", before_id=3, limit=8), [1, 2], False),
        (history("h3", before_id=1), [], False),
        (history("h4"), list(range(11, 61)), True),
        (history("h5", limit=200), list(range(1, 61)), False),
        (history("h6", before_id=61, limit=60), list(range(1, 61)), False),
        (history("h7", before_id=61, limit=59), list(range(2, 61)), True),
    ]
    for frame, expected, has_more in pages:
        reader.send(frame)
        reply = await reader.reply_to(frame[1])
        assert reply["status"] == "ok", (frame, reply)
        assert ids(reply["response"]["messages"]) == expected, frame
        assert reply["response"]["has_more"] is has_more, frame
        assert [m["body"] for m in reply["response"]["messages"]] == [f"m{i}" for i in expected]

    for ref, payload in [("e1", {"before_id": 0}), ("e2", {"limit": 0}), ("e3", {"limit": "9"})]:
        reader.send(["1", ref, TOPIC, "history", payload])
        reply = await reader.reply_to(ref)
        assert reply["status"] == "error" and reply["response"]["reason"], (payload, reply)

    for ref, bad in [("j1", -1), ("j2", "3"), ("j3", True)]:
        sock = await raw("late")
        sock.send(["1", ref, TOPIC, "phx_join", {"last_seen_id": bad}])
        reply = await sock.reply_to(ref)
        assert reply["status"] == "error" and "last_seen_id" in reply["response"]["reason"]


async def test_too_far_behind_resets_to_the_latest_page(raw: Raw, join_room: JoinRoom) -> None:
    writer = await raw("writer")
    await joined(writer)
    total = CATCH_UP_LIMIT + 5
    await post_many(writer, [f"m{i}" for i in range(1, total + 1)])

    sock = await raw("sleepy")
    response = await joined(sock, {"last_seen_id": 4})  # exactly CATCH_UP_LIMIT + 1 missed
    assert response["reset"] is True
    assert response["has_more"] is True
    assert ids(response["messages"]) == list(range(total - 49, total + 1))
    just_enough = await raw("sleepy")
    response = await joined(just_enough, {"last_seen_id": 5})  # exactly CATCH_UP_LIMIT missed
    assert "reset" not in response and response["has_more"] is False
    assert ids(response["messages"]) == list(range(6, total + 1))


# -- dedupe by client_id ----------------------------------------------------------------------


async def test_a_repeated_client_id_is_acked_with_the_same_id_and_broadcast_once(raw: Raw) -> None:
    alice = await raw("alice")
    bob = await raw("bob")
    watcher = await raw("watcher")
    for sock in (alice, bob, watcher):
        await joined(sock)

    first = await post(alice, "r1", "hello", client_id="c-1")
    assert await post(alice, "r2", "hello", client_id="c-1") == first
    # Same client_id, other body: still the retry of the first message, not a new one.
    assert await post(alice, "r3", "hello edited", client_id="c-1") == first
    # A new socket (a reconnect) does not make the client_id new either.
    alice.close()
    again = await raw("alice")
    await joined(again)
    assert await post(again, "r4", "hello", client_id="c-1") == first
    # Another author's identical client_id is another message.
    theirs = await post(bob, "r5", "hello", client_id="c-1")
    assert theirs == first + 1
    marker = await post(bob, "r6", "marker")

    # The watcher saw: alice's message once, bob's once, then the marker. Nothing else.
    await watcher.until(lambda f: f[3] == "new_msg" and f[4]["id"] == marker)
    seen = [f[4] for f in watcher.received if f[3] == "new_msg"]
    assert [(m["id"], m["author"], m["body"]) for m in seen] == [
        (first, "alice", "hello"),
        (theirs, "bob", "hello"),
        (marker, "bob", "marker"),
    ]
    assert [m.get("client_id") for m in seen] == ["c-1", "c-1", None]
    # And the history holds each once.
    watcher.send(["1", "h", TOPIC, "history", {}])
    history = (await watcher.reply_to("h"))["response"]["messages"]
    assert [(m["id"], m["author"]) for m in history] == [
        (first, "alice"),
        (theirs, "bob"),
        (marker, "bob"),
    ]


async def test_messages_without_client_id_are_never_deduplicated(raw: Raw) -> None:
    alice = await raw("alice")
    await joined(alice)
    assert [await post(alice, f"r{i}", "same words") for i in range(3)] == [1, 2, 3]


# -- the Python client coming back ------------------------------------------------------------


class Offline:
    """Keep a client's socket out: its reconnects are refused until the block ends."""

    def __init__(self, server: TalkexServer, client: RoomClient) -> None:
        self.server = server
        self.client = client

    async def __aenter__(self) -> None:
        socket = self.client.socket
        socket.params["token"] = "wrong"  # every reconnect is now refused with a 403
        drop_connections(self.server, socket.params["nickname"])
        await eventually(lambda: not socket.connected, what="the drop")

    async def __aexit__(self, *exc: object) -> None:
        self.client.socket.params["token"] = TOKEN


async def test_a_client_that_joined_an_empty_room_catches_up_on_everything(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    """A join of an empty room is a complete view (nothing missed) even though no id was seen:
    the next rejoin must ask for everything after 0, not for the latest page only."""
    alice = await join_room("alice")
    bob = await join_room("bob")
    async with Offline(server, alice):
        sent = [await bob.send(f"m{i}") for i in range(60)]
    await eventually(lambda: len(alice.messages) == 60, timeout=10, what="full catch-up")
    assert ids(alice.ordered()) == sent
    assert not alice.has_more


async def test_another_authors_client_id_does_not_cancel_a_pending_message(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    """client_ids are per author on the server; the client must not treat someone else's
    message with the same client_id as the acknowledgement of its own pending one."""
    alice = await join_room("alice")
    bob = await join_room("bob")
    async with Offline(server, alice):
        with pytest.raises(asyncio.TimeoutError):
            await alice.send("alice's words", client_id="c-1", timeout=0.2)
        assert alice.pending == {"c-1": "alice's words"}
        await bob.send("bob's words", client_id="c-1")
    await eventually(lambda: not alice.pending, timeout=10, what="alice's resend")
    await eventually(lambda: len(bob.messages) == 2, what="bob sees both")
    await eventually(lambda: len(alice.messages) == 2, what="alice sees both")
    assert [(m["author"], m["body"]) for m in bob.ordered()] == [
        ("bob", "bob's words"),
        ("alice", "alice's words"),
    ]
    assert ids(alice.ordered()) == ids(bob.ordered())


async def test_pending_messages_are_resent_once_each_in_order_after_the_rejoin(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    before = await alice.send("before")
    async with Offline(server, alice):
        for i in range(5):
            with pytest.raises(asyncio.TimeoutError):
                await alice.send(f"offline {i}", client_id=f"off-{i}", timeout=0.05)
        meanwhile = await bob.send("meanwhile")
        assert list(alice.pending) == [f"off-{i}" for i in range(5)]
    await eventually(lambda: not alice.pending, timeout=10, what="resend")
    await eventually(lambda: len(bob.messages) == 7, what="bob sees all")
    await eventually(lambda: len(alice.messages) == 7, what="alice sees all")
    assert [m["body"] for m in bob.ordered()] == [
        "before",
        "meanwhile",
        *[f"offline {i}" for i in range(5)],
    ]
    assert ids(bob.ordered())[:2] == [before, meanwhile]
    assert ids(alice.ordered()) == ids(bob.ordered())


async def test_a_message_that_failed_while_an_old_resend_waited_is_resent_too(
    server: TalkexServer, join_room: JoinRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection dies right after the server acknowledged the first resent message, so
    the resend is left waiting to push the rest of its list. A message that fails meanwhile
    is not on that list: the next rejoin must resend it all the same."""
    alice = await join_room("alice")
    bob = await join_room("bob")
    async with Offline(server, alice):
        for name in ("A", "B"):
            with pytest.raises(asyncio.TimeoutError):
                await alice.send(name, client_id=name, timeout=0.05)

    send = SocketHandler.send
    cut: list[str] = []

    def send_then_cut(self: SocketHandler, text: str) -> None:
        send(self, text)
        if self.nickname == "alice" and '"phx_reply"' in text and '"id"' in text and not cut:
            cut.append(text)  # the ack of A is out: now the network goes, before B is pushed
            alice.socket.params["token"] = "wrong"
            self.close(1001, "test drop")

    monkeypatch.setattr(SocketHandler, "send", send_then_cut)
    await eventually(lambda: cut and not alice.socket.connected, what="cut after the ack of A")
    with pytest.raises((asyncio.TimeoutError, ConnectionError)):
        await alice.send("C", client_id="C", timeout=0.05)
    assert "C" in alice.pending
    alice.socket.params["token"] = TOKEN
    await eventually(lambda: not alice.pending, timeout=10, what=f"resend of {alice.pending}")
    await eventually(lambda: len(bob.messages) == 3, what="bob sees A, B and C")
    assert [m["body"] for m in bob.ordered()] == ["A", "B", "C"]


@pytest.mark.server_config()  # default limits, as in production
async def test_a_long_offline_backlog_is_not_lost_to_the_rate_limit(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    backlog = server.config.limits.messages_per_window + 5
    async with Offline(server, alice):
        for i in range(backlog):
            with pytest.raises(asyncio.TimeoutError):
                await alice.send(f"typed on the train {i}", client_id=f"t{i}", timeout=0.01)
    await eventually(lambda: not alice.pending, timeout=10, what="the resend")
    await eventually(lambda: len(bob.messages) == backlog, timeout=2, what="the whole backlog")
