"""ChatService: membership, posting, presence and history; directly with fake peers, then
through real sockets."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from talkex_widget.backends.history.memory import MemoryHistory
from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.client import ConnectError, PushError
from talkex_widget.core.rooms import DEFAULT_RULES, RoomError, RoomRules
from talkex_widget.server.service import ChatService
from tests.conftest import Connect, JoinRoom, Raw
from tests.helpers import eventually

from .conftest import MakeService, flush, join_lobby
from .fakes import FakeClock, FakePeer


def view(peer: FakePeer) -> dict[str, Any]:
    """Who the peer sees in the room, with each meta's status."""
    return {key: [m["status"] for m in p["metas"]] for key, p in peer.presence().items()}


# -- directly, with fake peers --------------------------------------------------------------


async def test_the_join_reply_carries_history_and_the_configured_limits(
    make_service: MakeService,
) -> None:
    service = await make_service(rules=RoomRules(max_body=10, max_activity=20))
    _, _, response = await join_lobby(service, "ann")
    assert response == {
        "messages": [],
        "has_more": False,
        "seq": 0,
        "read_id": 0,
        "limits": {"max_body": 10, "max_activity": 20, "max_attachment": 1024 * 1024},
    }
    member, _, _ = await join_lobby(service, "bob")
    with pytest.raises(RoomError, match="limit 10"):
        await service.post(member, {"body": "x" * 11})
    await service.post(member, {"body": "short"})
    _, _, later = await join_lobby(service, "cy")
    assert [m["body"] for m in later["messages"]] == ["short"]


async def test_join_post_status_and_leave_reach_every_member(make_service: MakeService) -> None:
    service = await make_service()
    ann, ann_peer, _ = await join_lobby(service, "ann")
    bob, bob_peer, _ = await join_lobby(service, "bob")
    flush(service)
    assert view(ann_peer) == view(bob_peer) == {"ann": ["online"], "bob": ["online"]}

    stored = await service.post(ann, {"body": "  hello  ", "client_id": "c1"})
    assert stored.body == "hello" and stored.author == "ann"
    assert ann_peer.sent[-1] is bob_peer.sent[-1]  # one text object: framed once per broadcast
    assert orjson.loads(bob_peer.sent[-1])[3:] == ["new_msg", stored.to_wire()]
    again = await service.post(ann, {"body": "hello", "client_id": "c1"})  # a resend
    assert again.id == stored.id
    assert bob_peer.events().count("new_msg") == 1  # stored once, broadcast once

    await service.set_status(bob, {"status": "busy", "activity": "fit()"})
    flush(service)
    assert view(ann_peer)["bob"] == ["busy"]

    await service.leave(bob)
    flush(service)
    assert view(ann_peer) == {"ann": ["online"]}
    await service.leave(ann)
    assert service.rooms == {} and service.tracker.state("room:lobby") == {}


async def test_a_broadcast_during_a_join_waits_for_the_joiners_state(
    make_service: MakeService,
) -> None:
    service = await make_service()
    ann, _, _ = await join_lobby(service, "ann")
    flush(service)
    peer = FakePeer("bob")
    bob, _ = await service.join(peer, "lobby", "7", {})
    await service.post(ann, {"body": "while bob joins"})
    assert peer.sent == []  # held: bob has no presence_state yet
    await service.after_join(bob)
    flush(service)
    assert peer.events() == ["presence_state", "new_msg", "presence_diff"]
    assert peer.frames()[0][0] == "7"  # the state answers bob's join_ref


async def test_frames_from_other_nodes_reach_members_and_own_ones_are_not_doubled(
    make_service: MakeService,
) -> None:
    service = await make_service()
    ann, peer, _ = await join_lobby(service, "ann")
    flush(service)
    published: list[str] = []
    await service.pubsub.subscribe("room:lobby", lambda _channel, data: published.append(data))
    await service.post(ann, {"body": "mine"})
    assert len(published) == 1 and published[0].startswith("here\n")
    assert peer.events().count("new_msg") == 1  # not again from the pubsub
    text = '[null,null,"room:lobby","new_msg",{"body":"theirs"}]'
    await service.pubsub.publish("room:lobby", f"there\n{text}")
    assert peer.sent[-1] == text


async def test_a_status_before_the_member_is_tracked_is_refused(
    make_service: MakeService,
) -> None:
    service = await make_service()
    member, _ = await service.join(FakePeer("ann"), "lobby", "1", {})
    with pytest.raises(RoomError, match="not tracked yet"):
        await service.set_status(member, {"status": "away"})
    with pytest.raises(RoomError, match="status must be one of"):
        await service.join(FakePeer("bob"), "lobby", "1", {"status": "asleep"})
    assert set(service.rooms["lobby"].members) == {(member.peer.id, "room:lobby")}


async def test_a_look_alike_of_someone_on_another_node_is_refused() -> None:
    """Presence from the tracker counts: Ada on node A keeps ``Adа`` out of node B."""
    bus = MemoryPubSub()
    a, b = (ChatService(MemoryHistory(), bus, node=node, scheduler=FakeClock()) for node in "ab")
    for service in (a, b):
        await service.start()
    try:
        await join_lobby(a, "Ada")
        assert set(b.tracker.state("room:lobby")) == {"Ada"}
        with pytest.raises(RoomError, match="nickname 'Adа' looks like Ada, who is here"):
            await b.join(FakePeer("Adа"), "lobby", "1", {})
        assert "lobby" not in b.rooms  # refused before anything was set up
        await join_lobby(b, "Ada")  # the same person, another tab on another node
    finally:
        for service in (a, b):
            await service.close()


async def test_a_look_alike_still_joining_counts_as_present(make_service: MakeService) -> None:
    """Two look-alikes joining at once: the first is a member before it is tracked."""
    service = await make_service()
    await service.join(FakePeer("Ada"), "lobby", "1", {})
    with pytest.raises(RoomError, match="looks like Ada"):
        await service.join(FakePeer("ADA"), "lobby", "1", {})


# -- through real sockets -------------------------------------------------------------------


def statuses(client: Any) -> dict[str, str]:
    return client.presence.statuses()


async def test_two_users_see_each_other_chat_go_away_and_leave(join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    await eventually(lambda: set(statuses(alice)) == {"alice", "bob"}, what="alice sees both")
    await eventually(lambda: set(statuses(bob)) == {"alice", "bob"}, what="bob sees both")
    meta = alice.presence.list()["bob"][0]
    assert meta["status"] == "online" and meta["online_at"].endswith("Z")

    message_id = await alice.send("  hello bob  ")
    await eventually(lambda: message_id in bob.messages, what="bob gets the message")
    received = bob.messages[message_id]
    assert received["body"] == "hello bob"
    assert received["author"] == "alice"
    assert received["sent_at"].endswith("Z")
    second = await bob.send("hi alice")
    assert second > message_id
    await eventually(lambda: second in alice.messages)

    await bob.set_status("away")
    await eventually(lambda: statuses(alice).get("bob") == "away", what="alice sees bob away")

    await bob.leave()
    await eventually(lambda: "bob" not in statuses(alice), what="bob gone from alice's view")


async def test_two_tabs_are_one_key_with_two_metas(join_room: JoinRoom) -> None:
    watcher = await join_room("watcher")
    tab1 = await join_room("carol")
    tab2 = await join_room("carol")
    await eventually(lambda: len(watcher.presence.list().get("carol", [])) == 2)
    await tab1.socket.disconnect()
    await eventually(lambda: len(watcher.presence.list().get("carol", [])) == 1)
    assert "carol" in statuses(watcher)
    await tab2.leave()
    await eventually(lambda: "carol" not in statuses(watcher))


async def test_join_sequence_is_reply_state_then_diff_including_the_joiner(raw: Raw) -> None:
    sock = await raw("dave")
    sock.send(["1", "1", "room:lobby", "phx_join", {}])
    reply = await sock.recv()
    assert reply == [
        "1",
        "1",
        "room:lobby",
        "phx_reply",
        {
            "status": "ok",
            "response": {
                "messages": [],
                "has_more": False,
                "seq": 0,
                "read_id": 0,
                "limits": {
                    "max_body": DEFAULT_RULES.max_body,
                    "max_activity": DEFAULT_RULES.max_activity,
                    "max_attachment": DEFAULT_RULES.max_attachment,
                },
            },
        },
    ]
    state = await sock.recv()
    assert state == ["1", None, "room:lobby", "presence_state", {}]
    diff = await sock.recv()
    assert diff[:4] == [None, None, "room:lobby", "presence_diff"]
    metas = diff[4]["joins"]["dave"]["metas"]
    assert metas[0]["status"] == "online" and "phx_ref" in metas[0]


async def test_busy_with_an_activity_shows_what_someone_is_running(raw: Raw) -> None:
    sock = await raw("dana")
    watcher = await raw("watcher")
    for s in (sock, watcher):
        await s.join()
    sock.send(["1", "2", "room:lobby", "new_status", {"status": "busy", "activity": "fit()"}])
    assert (await sock.reply_to("2"))["status"] == "ok"
    diff = await watcher.until(
        lambda f: (
            f[3] == "presence_diff"
            and "dana" in f[4]["joins"]
            and f[4]["joins"]["dana"]["metas"][0]["status"] == "busy"
        )
    )
    meta = diff[4]["joins"]["dana"]["metas"][0]
    assert meta["activity"] == "fit()" and meta["phx_ref_prev"]
    sock.send(["1", "3", "room:lobby", "new_status", {"status": "online"}])
    await sock.reply_to("3")
    diff = await watcher.until(
        lambda f: (
            f[3] == "presence_diff"
            and "dana" in f[4]["joins"]
            and f[4]["joins"]["dana"]["metas"][0]["status"] == "online"
        )
    )
    assert "activity" not in diff[4]["joins"]["dana"]["metas"][0]


async def test_a_look_alike_of_someone_present_is_refused_with_the_reason(
    join_room: JoinRoom,
) -> None:
    ada = await join_room("Ada")
    for look_alike in ("Adа", "ADA", "ada", "Ａｄａ"):
        with pytest.raises(PushError) as refused:
            await join_room(look_alike)
        assert refused.value.reason == f"nickname {look_alike!r} looks like Ada, who is here"
    await join_room("Ada")  # the same person in a second tab: one key, two metas
    await eventually(lambda: len(ada.presence.list()["Ada"]) == 2)
    assert set(statuses(ada)) == {"Ada"}
    other_room = await join_room("ADA", "elsewhere")  # only look-alikes in the room count
    assert set(statuses(other_room)) <= {"ADA"}


@pytest.mark.parametrize(
    ("nickname", "shown"),
    [
        ("Ada\u034f", "U+034F COMBINING GRAPHEME JOINER"),
        ("\u3164", "U+3164 HANGUL FILLER"),
        ("\u2800", "U+2800 BRAILLE PATTERN BLANK"),
        ("Ada\ufe0f", "U+FE0F VARIATION SELECTOR-16"),
        ("Ada\U000e0100", "U+E0100 VARIATION SELECTOR-17"),
    ],
)
async def test_invisible_nicknames_are_refused_at_the_socket(
    connect: Connect, nickname: str, shown: str
) -> None:
    with pytest.raises(ConnectError) as refused:
        await connect(nickname)
    assert refused.value.status == 403
    assert "invisible or filler characters" in refused.value.reason
    assert shown in refused.value.reason
