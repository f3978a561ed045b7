"""Limits through real sockets: slow readers, silent connections, connection caps, identity."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from tornado.httpclient import HTTPClientError

from talkex_widget.client import ConnectError
from talkex_widget.core.limits import Limits, TokenBucket
from talkex_widget.server.app import TalkexServer
from tests.conftest import TOKEN, Connect, JoinRoom, Raw
from tests.helpers import eventually
from tests.processes import talkex

TEAM_SECRET = "team-secret-long-enough-for-hmac-sha256"


def test_token_bucket_allows_bursts_then_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(3, 3.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 1.0
    assert bucket.take() and not bucket.take()


@pytest.mark.server_config(
    limits=Limits(
        max_send_buffer_bytes=64 * 1024, messages_per_window=10_000, frames_per_window=10_000
    )
)
async def test_a_client_that_stops_reading_is_dropped_and_others_carry_on(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    srv = server
    # A hand-made WebSocket client with a tiny receive buffer that never reads.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", srv.port))
    reader, writer = await asyncio.open_connection(sock=raw)
    writer.write(
        (
            f"GET /socket/websocket?vsn=2.0.0&nickname=sleeper&token={TOKEN} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert b"101" in await reader.readuntil(b"\r\n\r\n")
    join = b'["1","1","room:lobby","phx_join",{}]'
    writer.write(bytes([0x81, 0x80 | len(join)]) + b"\0\0\0\0" + join)  # masked, zero key
    room = await join_room("talker")
    await eventually(lambda: "sleeper" in room.presence.statuses())
    # Loopback kernel buffers would swallow megabytes first: keep the server's side small too.
    for session in srv.service.sessions:
        if session.peer.nickname == "sleeper":
            stream = session.peer.ws_connection.stream  # type: ignore[attr-defined]
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    body = "z" * 3900
    for _ in range(400):  # ~1.6 MB towards the sleeper, far beyond its buffers and the limit
        await room.send(body)
        if "sleeper" not in room.presence.statuses():
            break
    await eventually(lambda: "sleeper" not in room.presence.statuses(), what="sleeper dropped")
    assert await room.send("still fine") > 0
    writer.close()


@pytest.mark.server_config(limits=Limits(handshake_timeout=0.5))
async def test_a_connection_that_never_speaks_http_is_closed(server: TalkexServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    start = time.monotonic()
    assert await asyncio.wait_for(reader.read(1), 10) == b""  # the server hung up
    assert time.monotonic() - start < 5
    writer.close()


@pytest.mark.server_config(idle_timeout=0.6)
async def test_a_silent_websocket_is_closed_after_the_idle_timeout(
    server: TalkexServer, raw: Raw
) -> None:
    quiet = await raw("quiet")
    start = time.monotonic()
    while (await quiet.recv(10)) is not None:
        pass
    assert time.monotonic() - start < 5
    await eventually(lambda: not server.service.sessions, what="the session closed")


@pytest.mark.server_config(limits=Limits(max_connections_per_nickname=2))
async def test_connections_per_nickname_are_capped_with_a_reason(
    server: TalkexServer, raw: Raw
) -> None:
    first = await raw("tabby")
    await raw("tabby")
    with pytest.raises(HTTPClientError) as info:
        await raw("tabby")
    assert info.value.code == 429
    assert "too many connections for 'tabby'" in info.value.response.body.decode()
    first.close()
    await eventually(
        lambda: server.app.wildcard_router is not None and len(server.service.sessions) == 1
    )
    await raw("tabby")  # a slot was freed


@pytest.mark.server_config(secret=TEAM_SECRET)
async def test_with_a_secret_the_nickname_comes_from_the_signed_token(
    join_room: JoinRoom, connect: Connect
) -> None:
    result = talkex("token", "ada", "--ttl", "1h", "--secret", TEAM_SECRET)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    room = await join_room("someone-else", token=token)
    message_id = await room.send("hello")
    assert room.messages[message_id]["author"] == "ada"
    assert set(room.presence.statuses()) == {"ada"}
    with pytest.raises(ConnectError) as info:  # the shared token no longer names anyone
        await connect("ada")
    assert "signed token" in info.value.reason


@pytest.mark.server_config(limits=Limits(messages_per_window=2, message_window=4.0))
async def test_the_rate_limit_says_when_to_retry(raw: Raw) -> None:
    sock = await raw("quick")
    sock.send(["1", "1", "room:lobby", "phx_join", {}])
    await sock.reply_to("1")
    for ref in ("a", "b", "c"):
        sock.send(["1", ref, "room:lobby", "new_msg", {"body": ref}])
    assert (await sock.reply_to("b"))["status"] == "ok"
    refused = await sock.reply_to("c")
    assert refused["status"] == "error"
    assert "sending too fast" in refused["response"]["reason"]
    assert 0 < refused["response"]["retry_after"] <= 2.0
