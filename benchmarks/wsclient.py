"""A lean Phoenix V2 WebSocket client for load generation: an asyncio protocol, no tasks.

One load-generator process drives thousands of sockets, so the client must cost less per
frame than the server it measures. It reads into one buffer shared by all sockets (a
``BufferedProtocol``: no allocation per read; each read is parsed before the next one),
parses frame headers itself, looks at a frame's first bytes to tell a broadcast from a
reply, and JSON-decodes only what a benchmark asks for. Client frames are masked with a
zero key (RFC 6455 allows any key; XOR with zero is free).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson

__all__ = [
    "TOPIC",
    "Buffer",
    "Client",
    "FrameHandler",
    "connect_many",
    "frame_header",
    "parse_frames",
]

TOPIC = "room:bench"

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA

# A broadcast starts with null join_ref and ref: cheap to recognise without JSON.
NEW_MSG = b'[null,null,"' + TOPIC.encode() + b'","new_msg",'
PRESENCE_DIFF = b'[null,null,"' + TOPIC.encode() + b'","presence_diff",'

Buffer = bytes | bytearray
FrameHandler = Callable[["Client", Buffer, int, int], None]
"""``(client, buffer, start, end)``: one text frame's payload is ``buffer[start:end]``.
The buffer is reused once the handler returns: copy what must be kept."""

_READ_BUFFER = bytearray(256 * 1024)
_READ_VIEW = memoryview(_READ_BUFFER)


def frame_header(opcode: int, length: int, *, masked: bool) -> bytes:
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = bytes((0x80 | opcode, mask_bit | length))
    elif length <= 0xFFFF:
        head = bytes((0x80 | opcode, mask_bit | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, mask_bit | 127)) + length.to_bytes(8, "big")
    return head + (b"\0\0\0\0" if masked else b"")


def parse_frames(data: Buffer, size: int, on_frame: Callable[[int, Buffer, int, int], None]) -> int:
    """Call ``on_frame(opcode, data, start, end)`` for each whole frame in ``data[:size]``;
    return the bytes used. Server frames are never masked, and never fragmented here."""
    pos = 0
    while size - pos >= 2:
        length = data[pos + 1] & 0x7F
        head = 2
        if length == 126:
            if size - pos < 4:
                break
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            head = 4
        elif length == 127:
            if size - pos < 10:
                break
            length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            head = 10
        end = pos + head + length
        if end > size:
            break
        on_frame(data[pos] & 0x0F, data, pos + head, end)
        pos = end
    return pos


class Client(asyncio.BufferedProtocol):
    """One socket. ``on_frame`` sees every text frame that is not a reply to a pending push."""

    refs = itertools.count(1)

    def __init__(self, host: str, port: int, nickname: str, on_frame: FrameHandler) -> None:
        self.host = host
        self.port = port
        self.nickname = nickname
        self.on_frame = on_frame
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.join_ref: str | None = None
        self._head = bytearray()
        self._tail: list[bytes] = []
        self._tail_len = 0
        self._need = 0
        self.frames = 0
        self.bytes = 0
        self.user: Any = None
        """Free slot for a benchmark's per-client state."""

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            f"GET /socket/websocket?vsn=2.0.0&nickname={self.nickname} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def get_buffer(self, sizehint: int) -> memoryview:
        return _READ_VIEW

    def buffer_updated(self, nbytes: int) -> None:
        if not self.upgraded.done():
            self._handshake(bytes(_READ_VIEW[:nbytes]))
            return
        data: Buffer = _READ_BUFFER
        if self._tail:
            self._tail.append(bytes(_READ_VIEW[:nbytes]))
            self._tail_len += nbytes
            if self._tail_len < self._need:
                return  # a large frame still arriving: join the pieces once, not each time
            data = b"".join(self._tail)
            nbytes = len(data)
            self._tail = []
            self._tail_len = 0
        self._parse(data, nbytes)

    def _parse(self, data: Buffer, size: int) -> None:
        used = parse_frames(data, size, self._frame)
        if used < size:
            rest = bytes(data[used:size])
            self._tail = [rest]
            self._tail_len = len(rest)
            self._need = _frame_size(rest)

    def _handshake(self, data: bytes) -> None:
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            return
        status = bytes(self._head[: self._head.find(b"\r\n")])
        if b" 101 " not in status:
            self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
            self.transport.close()  # type: ignore[union-attr]
            return
        rest = bytes(self._head[end + 4 :])
        self._head = bytearray()
        self.upgraded.set_result(None)
        if rest:
            self._parse(rest, len(rest))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
        for future in self.replies.values():
            if not future.done():
                future.set_exception(ConnectionError("socket closed"))
        self.replies.clear()

    def _frame(self, opcode: int, data: Buffer, start: int, end: int) -> None:
        self.frames += 1
        self.bytes += end - start
        if opcode == OP_TEXT:
            # Replies carry the push's ref; broadcasts ([null,null,...]) never wait on one.
            if self.replies and data[start + 1] != 0x6E:  # not 'n' of a leading null
                message = orjson.loads(data[start:end])
                if message[3] == "phx_reply":
                    future = self.replies.pop(message[1], None)
                    if future is not None and not future.done():
                        future.set_result(message[4])
                        return
            self.on_frame(self, data, start, end)
        elif opcode == OP_PING:
            self._write(OP_PONG, bytes(data[start:end]))
        elif opcode == OP_CLOSE and self.transport is not None:
            self.transport.close()

    # -- pushes --------------------------------------------------------------------------------

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame_header(opcode, len(payload), masked=True) + payload)

    def push(
        self, topic: str, event: str, payload: dict[str, Any], *, join_ref: str | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        ref = str(next(self.refs))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[ref] = future
        self._write(OP_TEXT, orjson.dumps([join_ref or self.join_ref, ref, topic, event, payload]))
        return future

    def cast(self, topic: str, event: str, payload: dict[str, Any]) -> None:
        """A push whose reply nobody waits for (it reaches ``on_frame``)."""
        ref = str(next(self.refs))
        self._write(OP_TEXT, orjson.dumps([self.join_ref, ref, topic, event, payload]))

    def join(self, topic: str = TOPIC, payload: dict[str, Any] | None = None) -> asyncio.Future:
        self.join_ref = str(next(self.refs))
        return self.push(topic, "phx_join", payload or {}, join_ref=self.join_ref)

    def heartbeat(self) -> None:
        ref = str(next(self.refs))
        self._write(OP_TEXT, b'[null,"' + ref.encode() + b'","phoenix","heartbeat",{}]')

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _frame_size(data: bytes) -> int:
    """Bytes the frame starting ``data`` needs in all, or one more than we have if unknown."""
    if len(data) < 2:
        return len(data) + 1
    length = data[1] & 0x7F
    if length == 126:
        return 4 + int.from_bytes(data[2:4], "big") if len(data) >= 4 else len(data) + 1
    if length == 127:
        return 10 + int.from_bytes(data[2:10], "big") if len(data) >= 10 else len(data) + 1
    return 2 + length


async def connect_many(
    host: str,
    port: int,
    count: int,
    on_frame: FrameHandler,
    *,
    prefix: str = "u",
    concurrency: int = 100,
    sources: int = 16,
) -> list[Client]:
    """Open ``count`` upgraded sockets, ``concurrency`` handshakes at a time.

    Sources cycle through 127.0.0.1 .. 127.0.0.<sources> so that tens of thousands of sockets
    over several runs do not exhaust one address's ephemeral ports.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Client:
        async with gate:
            source = (f"127.0.0.{1 + i % sources}", 0)
            for attempt in range(5):
                try:
                    _, client = await loop.create_connection(
                        lambda: Client(host, port, f"{prefix}{i}", on_frame),
                        host,
                        port,
                        local_addr=source,
                    )
                    await asyncio.wait_for(client.upgraded, 30)
                    return client
                except (OSError, asyncio.TimeoutError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
            raise AssertionError("unreachable")

    return list(await asyncio.gather(*(one(i) for i in range(count))))
