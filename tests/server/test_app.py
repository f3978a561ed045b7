"""The server through real sockets: Phoenix protocol behaviours and the seed's chat flow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from talkex_widget.client import ConnectError, PushError
from talkex_widget.server.app import TalkexServer
from tests.conftest import TOKEN, Connect, JoinRoom, Raw, base_url, ws_url
from tests.helpers import RawSocket, eventually


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
        {"status": "ok", "response": {"messages": [], "has_more": False}},
    ]
    state = await sock.recv()
    assert state == ["1", None, "room:lobby", "presence_state", {}]
    diff = await sock.recv()
    assert diff[:4] == [None, None, "room:lobby", "presence_diff"]
    metas = diff[4]["joins"]["dave"]["metas"]
    assert metas[0]["status"] == "online" and "phx_ref" in metas[0]


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
    sock.send(["3", "3", "room:lobby", "phx_join", {}])
    await sock.reply_to("3")
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
    watcher.send(["1", "1", "room:lobby", "phx_join", {}])
    await watcher.reply_to("1")
    sock.send(["1", "1", "room:lobby", "phx_join", {}])
    await sock.reply_to("1")
    sock.send(["2", "2", "room:lobby", "phx_join", {}])
    await sock.reply_to("2")
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
        s.send(["1", "1", "room:lobby", "phx_join", {}])
        await s.reply_to("1")
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


async def test_wrong_token_bad_vsn_and_bad_nickname_are_refused_with_403(
    server: TalkexServer, connect: Connect
) -> None:
    with pytest.raises(ConnectError) as info:
        await connect("mallory", token="wrong")
    assert info.value.status == 403 and "token" in info.value.reason
    for params, reason in [
        ({"vsn": "1.0.0"}, "unsupported protocol version"),
        ({"vsn": ""}, "unsupported protocol version"),
        ({"nickname": "a\u202eb"}, "control"),
        ({"nickname": ""}, "must not be empty"),
    ]:
        url = ws_url(server, nickname="ok")
        for key, value in params.items():
            url = url.replace(f"{key}=", f"{key}={value}&_{key}=", 1)
        with pytest.raises(HTTPClientError) as http_info:
            await RawSocket.open(url)
        assert http_info.value.code == 403
        assert reason in http_info.value.response.body.decode()


async def test_push_error_surfaces_in_the_python_client(join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    with pytest.raises(PushError, match="empty"):
        await alice.send("   ")
    assert alice.pending == {}


async def test_healthz_counts_rooms_and_connections(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    await join_room("alice", "one")
    await join_room("bob", "two")
    response = await AsyncHTTPClient().fetch(base_url(server) + "healthz")
    health = json.loads(response.body)
    assert health["status"] == "ok"
    assert health["rooms"] == 2 and health["connections"] == 2
    assert health["version"]


async def test_pages_need_the_token_then_keep_it_in_a_cookie(server: TalkexServer) -> None:
    client = AsyncHTTPClient()
    with pytest.raises(HTTPClientError) as info:
        await client.fetch(base_url(server))
    assert info.value.code == 403
    first = await client.fetch(
        base_url(server) + f"rooms/lobby?token={TOKEN}", follow_redirects=False, raise_error=False
    )
    assert first.code == 302 and first.headers["Location"] == "/rooms/lobby"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = await client.fetch(
        base_url(server) + "rooms/lobby", headers={"Cookie": cookie.split(";")[0]}
    )
    assert b'id="talkex-root"' in page.body


async def test_socket_accepts_the_cookie_from_the_same_origin_only(server: TalkexServer) -> None:
    cookie = f"talkex-token-{server.port}={TOKEN}"
    url = f"ws://127.0.0.1:{server.port}/socket/websocket?vsn=2.0.0&nickname=gus"
    same = await RawSocket.open(url, Cookie=cookie, Origin=f"http://127.0.0.1:{server.port}")
    same.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await same.reply_to("1"))["status"] == "ok"
    same.close()
    with pytest.raises(HTTPClientError) as info:
        await RawSocket.open(url, Cookie=cookie, Origin="http://evil.example")
    assert info.value.code == 403


async def test_history_api_pages_back(server: TalkexServer, join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    ids = [await alice.send(f"m{i}") for i in range(5)]
    client = AsyncHTTPClient()
    response = await client.fetch(
        base_url(server) + f"api/rooms/lobby/messages?limit=2&before_id={ids[-1]}&token={TOKEN}"
    )
    page = json.loads(response.body)
    assert [m["body"] for m in page["messages"]] == ["m2", "m3"]
    assert page["has_more"] is True
    for bad in ("limit=0", "limit=abc", "before_id=-1"):
        response = await client.fetch(
            base_url(server) + f"api/rooms/lobby/messages?{bad}&token={TOKEN}", raise_error=False
        )
        assert response.code == 400 and json.loads(response.body)["error"]
    response = await client.fetch(base_url(server) + "api/rooms/lobby/messages", raise_error=False)
    assert response.code == 403


async def test_busy_with_an_activity_shows_what_someone_is_running(raw: Raw) -> None:
    sock = await raw("dana")
    watcher = await raw("watcher")
    for s in (sock, watcher):
        s.send(["1", "1", "room:lobby", "phx_join", {}])
        await s.reply_to("1")
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


async def test_a_token_holder_vouches_for_a_jupyter_origin(server: TalkexServer) -> None:
    jupyter = "http://127.0.0.1:8888"
    url = ws_url(server, nickname="nb")
    with pytest.raises(HTTPClientError) as info:  # unknown page origin: refused
        await RawSocket.open(url, Origin=jupyter)
    assert info.value.code == 403
    client = AsyncHTTPClient()
    api = base_url(server) + "api/origins"
    for headers, body, code in [
        ({}, json.dumps({"origin": jupyter}), 403),
        ({"Cookie": f"talkex-token-{server.port}={TOKEN}"}, json.dumps({"origin": jupyter}), 403),
        ({"Authorization": f"token {TOKEN}"}, json.dumps({"origin": "javascript:alert(1)"}), 400),
        ({"Authorization": f"token {TOKEN}"}, json.dumps({"origin": 5}), 400),
        ({"Authorization": f"token {TOKEN}"}, "not json", 400),
    ]:
        response = await client.fetch(
            api, method="POST", body=body, headers=headers, raise_error=False
        )
        assert response.code == code, (headers, body, response.body)
    response = await client.fetch(
        api,
        method="POST",
        body=json.dumps({"origin": jupyter}),
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert jupyter in json.loads(response.body)["allowed"]
    sock = await RawSocket.open(url, Origin=jupyter)
    sock.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await sock.reply_to("1"))["status"] == "ok"
    sock.close()
