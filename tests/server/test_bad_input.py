"""The bad input catalogue: every hostile or broken frame and request gets a clear answer.

Each case is one raw frame or connection attempt with the answer expected (an error reply with
its reason, a ``phx_error``, a close code, an HTTP status, or silence where Phoenix ignores).
After every case the server is up, a healthy member of the same room still chats, and the bad
input neither stored nor broadcast anything. The last test runs the frame cases over and over
on one server and checks that no state is left behind (no unbounded growth).
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.limits import Limits
from talkex_widget.server.app import ServerConfig, TalkexServer
from tests.helpers import RawSocket, eventually

TOKEN = "catalogue-token"
ROOM = "room:lobby"


@dataclass(frozen=True)
class ErrorReply:
    reason: str
    ref: str = "bad"


@dataclass(frozen=True)
class SocketError:
    reason: str


@dataclass(frozen=True)
class Closed:
    codes: tuple[int | None, ...]


@dataclass(frozen=True)
class Ignored:
    """No answer at all (Phoenix ignores frames for a replaced channel)."""


@dataclass(frozen=True)
class OkReply:
    ref: str = "bad"


@dataclass(frozen=True)
class Refused:
    status: int
    reason: str


Expect = ErrorReply | SocketError | Closed | Ignored | OkReply | Refused


@dataclass(frozen=True)
class Case:
    id: str
    frame: Any = None
    expect: Expect = field(default_factory=Ignored)
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    repeat: int = 1
    accepted: int = 0
    """Messages the case legitimately stores (the ones under the rate limit)."""
    raw: bool = False
    """Send the upgrade request as bytes on a TCP socket: its head may declare a body that
    never comes, which no HTTP client library would send."""


def push(event: str, payload: Any, topic: str = ROOM, join_ref: Any = "1") -> list[Any]:
    return [join_ref, "bad", topic, event, payload]


def join(topic: str, payload: Any = None) -> list[Any]:
    return ["9", "bad", topic, "phx_join", {} if payload is None else payload]


DEEP = "[" * 5000 + "]" * 5000
CASES = [
    # -- frames that are not V2 frames --------------------------------------------------------
    Case("non-json", "hello there", SocketError("not valid JSON")),
    Case("empty-frame", "", SocketError("not valid JSON")),
    Case("truncated-json", '["1","bad","room:lobby","new_msg",{"body":', SocketError("JSON")),
    Case("json-object", '{"topic": "room:lobby"}', SocketError("must be a JSON array")),
    Case("json-number", "42", SocketError("must be a JSON array")),
    Case("json-null", "null", SocketError("must be a JSON array")),
    Case("json-string", '"phx_join"', SocketError("must be a JSON array")),
    Case("arity-0", "[]", SocketError("5 elements")),
    Case("arity-4", '["1","bad","room:lobby","new_msg"]', SocketError("5 elements")),
    Case("arity-6", '["1","bad","room:lobby","new_msg",{},{}]', SocketError("5 elements")),
    Case(
        "join-ref-number",
        push("new_msg", {"body": "x"}, join_ref=1),
        ErrorReply("join_ref must be a string"),
    ),
    Case(
        "ref-object",
        '["1",{"r":1},"room:lobby","new_msg",{"body":"x"}]',
        SocketError("ref must be a string"),
    ),
    Case("topic-number", '["1","bad",7,"new_msg",{}]', SocketError("topic must be")),
    Case("topic-empty", '["1","bad","","new_msg",{}]', SocketError("topic must be")),
    Case("event-null", push(None, {}), ErrorReply("event must be")),
    Case("event-number", push(12, {}), ErrorReply("event must be")),
    Case("payload-string", push("new_msg", "hello"), ErrorReply("payload must be a JSON object")),
    Case("payload-array", push("new_msg", ["hello"]), ErrorReply("payload must be a JSON object")),
    Case("payload-null", push("new_msg", None), ErrorReply("payload must be a JSON object")),
    Case(
        "deeply-nested",
        f'["1","bad","room:lobby","new_msg",{{"body":{DEEP}}}]',
        SocketError("not valid JSON"),
    ),
    Case("huge-body-in-frame", push("new_msg", {"body": "x" * 60_000}), ErrorReply("too long")),
    Case("frame-over-64k", push("new_msg", {"body": "x" * 70_000}), Closed((1009,))),
    Case(
        "invalid-utf8",
        b'["1","bad","room:lobby","new_msg",{"body":"\xc3\x28"}]',
        Closed((1007, 1006, None)),
    ),
    Case("binary-frame", b"\x00\x01\x02", SocketError("binary frames")),
    # -- events and channels ------------------------------------------------------------------
    Case("unknown-event", push("dance", {}), ErrorReply("unknown event 'dance'")),
    Case(
        "unknown-socket-event",
        push("dance", {}, topic="phoenix", join_ref=None),
        ErrorReply("unknown event"),
    ),
    Case(
        "unjoined-topic",
        push("new_msg", {"body": "x"}, topic="room:other"),
        ErrorReply("not joined"),
    ),
    Case("stale-join-ref", push("new_msg", {"body": "from the past"}, join_ref="0"), Ignored()),
    Case("duplicate-join", ["1", "bad", ROOM, "phx_join", {}], OkReply()),
    Case("channel-101", None, ErrorReply("too many channels")),
    Case("unmatched-topic", join("lobby"), ErrorReply("unmatched topic")),
    Case("room-name-space", join("room:bad name"), ErrorReply("only use letters")),
    Case("room-name-empty", join("room:"), ErrorReply("must not be empty")),
    Case("room-name-65", join("room:" + "r" * 65), ErrorReply("at most 64")),
    Case(
        "room-name-script", join("room:<script>alert(1)</script>"), ErrorReply("only use letters")
    ),
    Case("room-name-traversal", join("room:../../etc"), ErrorReply("only use letters")),
    Case(
        "join-last-seen-string", join("room:other", {"last_seen_id": "abc"}), ErrorReply("integer")
    ),
    Case(
        "join-status-unknown",
        join("room:other", {"status": "sleeping"}),
        ErrorReply("must be one of"),
    ),
    # -- message and status payloads ----------------------------------------------------------
    Case("body-empty", push("new_msg", {"body": ""}), ErrorReply("empty")),
    Case("body-whitespace", push("new_msg", {"body": " \n\t "}), ErrorReply("empty")),
    Case("body-4001", push("new_msg", {"body": "y" * 4001}), ErrorReply("too long")),
    Case("body-number", push("new_msg", {"body": 12}), ErrorReply("must be a string")),
    Case("body-missing", push("new_msg", {"text": "hi"}), ErrorReply("must be a string")),
    Case(
        "client-id-long",
        push("new_msg", {"body": "x", "client_id": "c" * 65}),
        ErrorReply("client_id"),
    ),
    Case(
        "client-id-number", push("new_msg", {"body": "x", "client_id": 5}), ErrorReply("client_id")
    ),
    Case(
        "status-unknown", push("new_status", {"status": "invisible"}), ErrorReply("must be one of")
    ),
    Case("status-missing", push("new_status", {}), ErrorReply("must be one of")),
    Case("status-object", push("new_status", {"status": {"$ne": 1}}), ErrorReply("must be one of")),
    Case(
        "activity-too-long",
        push("new_status", {"status": "busy", "activity": "a" * 81}),
        ErrorReply("at most 80"),
    ),
    Case(
        "activity-bidi",
        push("new_status", {"status": "busy", "activity": "x\u202ey"}),
        ErrorReply("control"),
    ),
    Case("history-limit-0", push("history", {"limit": 0}), ErrorReply("integer")),
    Case("history-limit-huge", push("history", {"limit": 10**9}), ErrorReply("at most 200")),
    Case("history-before-negative", push("history", {"before_id": -5}), ErrorReply("integer")),
    # -- connections --------------------------------------------------------------------------
    Case("token-missing", params={"token": ""}, expect=Refused(403, "token")),
    Case("token-forged", params={"token": "catalogue-tokem"}, expect=Refused(403, "token")),
    Case(
        "token-signed-forged",
        params={"token": "tx1.eyJzdWIiOiJ4In0.AAAA"},
        expect=Refused(403, "token"),
    ),
    Case(
        "origin-cross-site",
        params={"token": ""},
        headers={"Origin": "http://evil.example", "Cookie": "COOKIE"},
        expect=Refused(403, ""),
    ),
    Case(
        "token-wrong-in-authorization",
        params={"token": ""},
        headers={"Authorization": "token catalogue-tokem"},
        expect=Refused(403, "token"),
    ),
    Case(
        "upgrade-declaring-a-59mb-body",
        headers={"Content-Length": "59000000"},
        expect=Refused(413, "request body too large"),
        raw=True,
    ),
    Case(
        "content-length-of-5000-digits",
        headers={"Content-Length": "9" * 5000},
        expect=Refused(413, "request body too large"),
        raw=True,
    ),
    Case(
        "content-length-not-ascii-digits",
        headers={"Content-Length": "\u00b2"},  # "²": str.isdigit() says yes, int() says no
        expect=Refused(400, ""),
        raw=True,
    ),
    Case("vsn-1", params={"vsn": "1.0.0"}, expect=Refused(403, "protocol version")),
    Case("vsn-missing", params={"vsn": ""}, expect=Refused(403, "protocol version")),
    Case("nickname-control", params={"nickname": "evil\x07bell"}, expect=Refused(403, "control")),
    Case(
        "nickname-bidi", params={"nickname": "admin\u202egnp.exe"}, expect=Refused(403, "control")
    ),
    Case("nickname-zero-width", params={"nickname": "al\u200bice"}, expect=Refused(403, "control")),
    Case("nickname-10kb", params={"nickname": "n" * 10_000}, expect=Refused(403, "at most 32")),
    Case("nickname-empty", params={"nickname": "   "}, expect=Refused(403, "must not be empty")),
    # -- rates --------------------------------------------------------------------------------
    Case(
        "message-rate",
        push("new_msg", {"body": "spam"}),
        ErrorReply("sending too fast"),
        repeat=21,
        accepted=20,
    ),
    Case("flood", [None, "bad", "phoenix", "heartbeat", {}], Closed((1008,)), repeat=260),
]


@pytest.fixture
async def world() -> AsyncIterator[dict[str, Any]]:
    """A server with default limits, and alice and bob chatting in the lobby."""
    server = TalkexServer(ServerConfig(port=0, token=TOKEN, limits=Limits()))
    await server.start()
    base = f"http://127.0.0.1:{server.port}/"
    clients = []
    for name in ("alice", "bob"):
        sock = Socket(base, {"nickname": name, "token": TOKEN})
        await sock.connect()
        client = RoomClient(sock, "lobby")
        await client.join()
        clients.append(client)
    yield {"server": server, "alice": clients[0], "bob": clients[1]}
    for client in clients:
        await client.socket.disconnect()
    await server.stop()


def url_for(server: TalkexServer, params: dict[str, str]) -> str:
    query = {"vsn": "2.0.0", "nickname": "mallory", "token": TOKEN, **params}
    return f"ws://127.0.0.1:{server.port}/socket/websocket?{urlencode(query)}"


async def refused_raw(server: TalkexServer, url: str, headers: dict[str, str]) -> Refused:
    """The status and body a hand-written upgrade request gets, its body never sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = [
        f"GET {url.split(str(server.port), 1)[1]} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    answer = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return Refused(status, answer.split(b"\r\n\r\n", 1)[-1].decode())


async def run_case(case: Case, server: TalkexServer) -> None:
    if isinstance(case.expect, Refused) and case.raw:
        answer = await refused_raw(server, url_for(server, case.params), case.headers)
        assert answer.status == case.expect.status, answer
        assert case.expect.reason in answer.reason, answer
        return
    if isinstance(case.expect, Refused):
        headers = {
            k: v.replace("COOKIE", f"talkex-token-{server.port}={TOKEN}")
            for k, v in case.headers.items()
        }
        with pytest.raises(HTTPClientError) as info:
            await RawSocket.open(url_for(server, case.params), **headers)
        assert info.value.code == case.expect.status
        assert case.expect.reason in info.value.response.body.decode()
        return
    mallory = await RawSocket.open(url_for(server, case.params))
    try:
        mallory.send(["1", "1", ROOM, "phx_join", {}])
        assert (await mallory.reply_to("1"))["status"] == "ok"
        if case.id == "channel-101":
            for i in range(99):
                mallory.send([f"j{i}", f"j{i}", f"room:r{i}", "phx_join", {}])
            for i in range(99):
                await mallory.reply_to(f"j{i}")
            mallory.send(join("room:one-too-many"))
        else:
            for _ in range(case.repeat):
                if case.id == "invalid-utf8":  # raw bytes in a *text* frame
                    mallory.conn.write_message(case.frame, binary=False)
                else:
                    mallory.send(case.frame)
        await check_answer(case.expect, mallory)
    finally:
        mallory.close()


async def check_answer(expect: Expect, sock: RawSocket) -> None:
    if isinstance(expect, ErrorReply):
        frame = await sock.until(lambda f: f[3] == "phx_reply" and f[4]["status"] == "error")
        assert frame[1] in (expect.ref, None), frame
        assert expect.reason in frame[4]["response"]["reason"], frame
    elif isinstance(expect, OkReply):
        frame = await sock.until(lambda f: f[3] == "phx_reply" and f[1] == expect.ref)
        assert frame[4]["status"] == "ok"
    elif isinstance(expect, SocketError):
        frame = await sock.until(
            lambda f: (
                f[3] in ("phx_error", "phx_reply")
                and (f[2] == "phoenix" or f[4].get("status") == "error")
            )
        )
        text = json.dumps(frame[4])
        assert expect.reason in text, frame
    elif isinstance(expect, Closed):
        while (await sock.recv(10)) is not None:
            pass
        assert sock.conn.close_code in expect.codes, sock.conn.close_code
    elif isinstance(expect, Ignored):
        sock.send([None, "probe", "phoenix", "heartbeat", {}])
        await sock.reply_to("probe")
        assert not [f for f in sock.received if f[1] == "bad"], sock.received


async def assert_still_healthy(world: dict[str, Any], round_: int, accepted: int = 0) -> None:
    server, alice, bob = world["server"], world["alice"], world["bob"]
    message_id = await alice.send(f"still here {round_}")
    await eventually(lambda: message_id in bob.messages, what="healthy chat after the case")
    bodies = [m["body"] for m in bob.ordered()]
    extra = [b for b in bodies if not b.startswith("still here")]
    assert len(extra) == accepted, bodies  # nothing bad broadcast
    stored, _ = await server.service.history.before("lobby", None, 200)
    assert [m.body for m in stored] == bodies  # nothing bad stored
    health = json.loads(
        (await AsyncHTTPClient().fetch(f"http://127.0.0.1:{server.port}/healthz")).body
    )
    assert health["status"] == "ok"


def test_the_catalogue_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_bad_input(case: Case, world: dict[str, Any]) -> None:
    await run_case(case, world["server"])
    await assert_still_healthy(world, 0, case.accepted)
    if not isinstance(case.expect, Refused):
        await eventually(
            lambda: "mallory" not in world["bob"].presence.statuses() or case.expect == OkReply(),
            what="mallory gone",
        )


async def test_repeating_the_catalogue_leaves_nothing_behind(world: dict[str, Any]) -> None:
    server: TalkexServer = world["server"]
    service = server.service
    cheap = [c for c in CASES if c.repeat == 1 and c.id != "channel-101"]

    async def one_round() -> None:
        for case in cheap:
            await run_case(case, server)
        await eventually(lambda: len(service.sessions) == 2, what="sessions back to 2")
        await asyncio.sleep(0)

    await one_round()
    tracemalloc.start()
    try:
        await one_round()
        first = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            await one_round()
        growth = tracemalloc.get_traced_memory()[0] - first
    finally:
        tracemalloc.stop()
    assert set(service.rooms) == {"lobby"}
    assert set(service.tracker.tables) == {"room:lobby"}
    assert set(service.tracker.state("room:lobby")) == {"alice", "bob"}
    assert growth < 1_000_000, f"memory grew by {growth} bytes over three rounds"
    await assert_still_healthy(world, 1)
