"""Frames built once and written straight to sockets (talkex_widget.fanout, SocketHandler)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from tornado.iostream import IOStream
from tornado.websocket import WebSocketProtocol13

from talkex_widget.server.app import SocketHandler
from talkex_widget.server.framing import Broadcast, text_frame


class _Capture:
    """Enough of an IOStream for Tornado's own framing to write into."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


def tornado_frame(payload: bytes) -> bytes:
    protocol = WebSocketProtocol13.__new__(WebSocketProtocol13)
    protocol.mask_outgoing = False
    protocol._wire_bytes_out = 0
    protocol.stream = _Capture()  # type: ignore[assignment]
    protocol._write_frame(True, 0x1, payload)
    return protocol.stream.data  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_text_frame_is_the_frame_tornado_would_write(size: int) -> None:
    payload = b"x" * size
    assert text_frame(payload) == tornado_frame(payload)


def test_a_broadcast_is_its_text_and_carries_its_utf8_frame() -> None:
    text = '[null,null,"room:caf\u00e9","new_msg",{"body":"\u2603 snow"}]'
    broadcast = Broadcast(text)
    assert broadcast == text and isinstance(broadcast, str)
    assert broadcast.frame == text_frame(text.encode())


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
