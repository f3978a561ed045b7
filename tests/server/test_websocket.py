"""The WebSocket endpoint: who may connect, and frames written straight to the socket."""

from __future__ import annotations

import asyncio
import socket

import pytest
from tornado.httpclient import HTTPClientError
from tornado.iostream import IOStream

from talkex_widget.client import ConnectError
from talkex_widget.server.app import TalkexServer
from talkex_widget.server.framing import text_frame
from talkex_widget.server.websocket import SocketHandler
from tests.conftest import TOKEN, Connect, ws_url
from tests.helpers import RawSocket


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


async def test_a_frame_queued_behind_a_partial_write_keeps_its_place() -> None:
    """The first frame overflows the kernel buffer; the next must not overtake its rest."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stream = IOStream(ours)
    big = text_frame(b"a" * 500_000)
    small = text_frame(b"b" * 10)
    SocketHandler.write_frame(stream, big, len(stream._write_buffer))
    backlog = len(stream._write_buffer)
    assert backlog > 0  # the kernel took only part of it; Tornado holds the rest
    SocketHandler.write_frame(stream, small, backlog)
    theirs.setblocking(False)
    received = bytearray()
    while len(received) < len(big) + len(small):
        try:
            received += theirs.recv(65536)
        except BlockingIOError:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0)
    assert bytes(received) == big + small
    assert not stream._write_buffer
    stream.close()
    theirs.close()


async def test_an_empty_buffer_means_a_direct_write_with_nothing_queued() -> None:
    ours, theirs = socket.socketpair()
    stream = IOStream(ours)
    frame = text_frame(b"hello")
    SocketHandler.write_frame(stream, frame, 0)
    assert not stream._write_buffer
    assert theirs.recv(100) == frame
    stream.close()
    theirs.close()
