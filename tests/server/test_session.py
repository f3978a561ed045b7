"""Session: routing, replies and cleanup per socket; directly with fake peers, then through
real sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from talkex_widget.client import PushError
from talkex_widget.core.limits import CloseCode, Limits
from talkex_widget.server.session import Session
from tests.conftest import JoinRoom, Raw

from .conftest import MakeService, flush
from .fakes import FakePeer


async def send(session: Session, *frame: Any) -> None:
    await session.receive(json.dumps(list(frame)))


# -- directly, with fake peers --------------------------------------------------------------


async def test_a_join_is_answered_with_history_and_limits_then_presence(
    make_service: MakeService,
) -> None:
    service = await make_service()
    peer = FakePeer("ann")
    session = service.open_session(peer)
    await send(session, "1", "1", "room:lobby", "phx_join", {})
    reply = peer.take()
    assert reply[0][:4] == ["1", "1", "room:lobby", "phx_reply"]
    assert reply[0][4]["response"]["limits"]["max_body"] == service.rules.max_body
    flush(service)
    assert peer.events() == ["presence_state", "presence_diff"]


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ("not json", [None, None, "phoenix", "phx_error"]),
        ('["1", "5", "room:lobby", "phx_join", "no"]', ["1", "5", "room:lobby", "phx_reply"]),
        ('[null, "2", "room:lobby", "new_msg", {}]', [None, "2", "room:lobby", "phx_reply"]),
        ('["1", "3", "lobby", "phx_join", {}]', ["1", "3", "lobby", "phx_reply"]),
        ('[null, "4", "phoenix", "dance", {}]', [None, "4", "phoenix", "phx_reply"]),
    ],
)
async def test_bad_frames_are_answered_and_the_session_carries_on(
    make_service: MakeService, frame: str, answer: list[Any]
) -> None:
    service = await make_service()
    peer = FakePeer("ann")
    session = service.open_session(peer)
    await session.receive(frame)
    (got,) = peer.take()
    assert got[:4] == answer
    body = got[4] if got[3] == "phx_error" else got[4]["response"]
    assert got[3] == "phx_error" or got[4]["status"] == "error"
    assert body["reason"]
    await send(session, None, "9", "phoenix", "heartbeat", {})
    assert peer.take() == [[None, "9", "phoenix", "phx_reply", {"status": "ok", "response": {}}]]
    assert not session.closed and peer.closed is None


async def test_a_flood_closes_the_peer_and_the_session(make_service: MakeService) -> None:
    service = await make_service(limits=Limits(frames_per_window=3, frame_window=60))
    peer = FakePeer("ann")
    session = service.open_session(peer)
    await send(session, "1", "1", "room:lobby", "phx_join", {})
    for ref in ("2", "3", "4"):
        await send(session, None, ref, "phoenix", "heartbeat", {})
    assert peer.closed is not None and peer.closed[0] == CloseCode.POLICY
    assert session.closed and session not in service.sessions
    assert service.rooms == {}


async def test_too_many_messages_get_an_error_with_retry_after(make_service: MakeService) -> None:
    service = await make_service(limits=Limits(messages_per_window=1, message_window=60))
    peer = FakePeer("ann")
    session = service.open_session(peer)
    await send(session, "1", "1", "room:lobby", "phx_join", {})
    await send(session, "1", "2", "room:lobby", "new_msg", {"body": "one"})
    await send(session, "1", "3", "room:lobby", "new_msg", {"body": "two"})
    replies = {f[1]: f[4] for f in peer.frames() if f[3] == "phx_reply"}
    assert replies["2"]["status"] == "ok"
    assert replies["3"]["status"] == "error" and replies["3"]["response"]["retry_after"] > 0
    assert "too fast" in replies["3"]["response"]["reason"]


async def test_a_push_on_a_replaced_channel_is_ignored(make_service: MakeService) -> None:
    service = await make_service()
    peer = FakePeer("ann")
    session = service.open_session(peer)
    await send(session, "1", "1", "room:lobby", "phx_join", {})
    await send(session, "2", "2", "room:lobby", "phx_join", {})
    peer.take()
    await send(session, "1", "3", "room:lobby", "new_msg", {"body": "stale"})
    assert peer.take() == []
    assert len(service.rooms["lobby"].members) == 1


async def test_closing_leaves_every_room(make_service: MakeService) -> None:
    service = await make_service()
    watcher = service.open_session(FakePeer("watcher"))
    await send(watcher, "1", "1", "room:one", "phx_join", {})
    session = service.open_session(FakePeer("ann"))
    for i, room in enumerate(("one", "two")):
        await send(session, str(i), str(i), f"room:{room}", "phx_join", {})
    assert set(service.rooms) == {"one", "two"}
    await session.close()
    assert set(service.rooms) == {"one"}
    assert set(service.tracker.state("room:one")) == {"watcher"}
    await send(session, None, "9", "phoenix", "heartbeat", {})  # a closed session says nothing
    assert service.stats() == {"rooms": 1, "connections": 1, "pubsub_rejected": 0}


# -- through real sockets -------------------------------------------------------------------


async def test_heartbeat_gets_an_ok_reply(raw: Raw) -> None:
    sock = await raw()
    sock.send([None, "7", "phoenix", "heartbeat", {}])
    assert await sock.recv() == [
        None,
        "7",
        "phoenix",
        "phx_reply",
        {"status": "ok", "response": {}},
    ]


async def test_unmatched_topic_not_joined_and_unknown_event(raw: Raw) -> None:
    sock = await raw()
    sock.send(["1", "1", "lobby", "phx_join", {}])
    assert (await sock.reply_to("1")) == {
        "status": "error",
        "response": {"reason": "unmatched topic"},
    }
    sock.send([None, "2", "room:lobby", "new_msg", {"body": "hi"}])
    reply = await sock.reply_to("2")
    assert reply["status"] == "error" and "not joined" in reply["response"]["reason"]
    await sock.join(ref="3")
    sock.send(["3", "4", "room:lobby", "dance", {}])
    reply = await sock.reply_to("4")
    assert reply == {"status": "error", "response": {"reason": "unknown event 'dance'"}}


async def test_101st_channel_is_refused(raw: Raw) -> None:
    sock = await raw()
    for i in range(100):
        sock.send([str(i), str(i), f"room:r{i}", "phx_join", {}])
    for i in range(100):
        assert (await sock.reply_to(str(i)))["status"] == "ok"
    sock.send(["x", "x", "room:one-too-many", "phx_join", {}])
    reply = await sock.reply_to("x")
    assert reply["status"] == "error"
    assert "too many channels" in reply["response"]["reason"]


async def test_second_join_replaces_the_first_and_stale_refs_are_ignored(raw: Raw) -> None:
    sock = await raw("erin")
    watcher = await raw("watcher")
    await watcher.join()
    await sock.join()
    await sock.join(ref="2")
    # The stale join_ref's push is ignored: no reply, nothing broadcast.
    sock.send(["1", "3", "room:lobby", "new_msg", {"body": "from the old channel"}])
    sock.send(["2", "4", "room:lobby", "new_msg", {"body": "from the new channel"}])
    reply = await sock.reply_to("4")
    assert reply["status"] == "ok"
    frames = [f for f in sock.received if f[1] == "3"]
    assert frames == []
    got = await watcher.until(lambda f: f[3] == "new_msg")
    assert got[4]["body"] == "from the new channel"
    # The watcher saw erin once in the end: the first join's meta left when it was replaced.
    state: dict[str, Any] = {}
    for frame in watcher.received:
        if frame[3] == "presence_diff":
            for key, p in frame[4]["joins"].items():
                state.setdefault(key, set()).update(m["phx_ref"] for m in p["metas"])
            for key, p in frame[4]["leaves"].items():
                state[key] -= {m["phx_ref"] for m in p["metas"]}
    assert len(state["erin"]) == 1


async def test_invalid_pushes_get_reasons_and_broadcast_nothing(raw: Raw) -> None:
    sock = await raw("fay")
    watcher = await raw("watcher")
    for s in (sock, watcher):
        await s.join()
    cases = [
        ("new_msg", {"body": "   "}, "empty"),
        ("new_msg", {"body": "x" * 4001}, "too long"),
        ("new_msg", {}, "body must be a string"),
        ("new_status", {"status": "sleeping"}, "status must be one of"),
        ("history", {"limit": 500}, "at most 200"),
    ]
    for i, (event, payload, reason) in enumerate(cases):
        sock.send(["1", f"p{i}", "room:lobby", event, payload])
        reply = await sock.reply_to(f"p{i}")
        assert reply["status"] == "error" and reason in reply["response"]["reason"], reply
    sock.send(["1", "ok", "room:lobby", "new_msg", {"body": "fine"}])
    assert (await sock.reply_to("ok"))["status"] == "ok"
    got = await watcher.until(lambda f: f[3] in ("new_msg",))
    assert got[4]["body"] == "fine"  # the first message the watcher saw is the valid one


async def test_malformed_frames_are_answered_and_the_socket_keeps_working(raw: Raw) -> None:
    sock = await raw()
    sock.send("this is not json")
    frame = await sock.recv()
    assert frame[2:4] == ["phoenix", "phx_error"]
    assert "not valid JSON" in frame[4]["reason"]
    sock.send('["1", "5", "room:lobby", "phx_join", "not an object"]')
    reply = await sock.reply_to("5")
    assert (
        reply["status"] == "error"
        and "payload must be a JSON object" in reply["response"]["reason"]
    )
    sock.send(b"\x00\x01binary")
    frame = await sock.recv()
    assert "binary frames" in frame[4]["reason"]
    sock.send([None, "9", "phoenix", "heartbeat", {}])
    assert (await sock.reply_to("9"))["status"] == "ok"


async def test_push_error_surfaces_in_the_python_client(join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    with pytest.raises(PushError, match="empty"):
        await alice.send("   ")
    assert alice.pending == {}
