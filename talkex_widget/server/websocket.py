"""``/socket/websocket``: the Phoenix V2 endpoint, the one place that knows Tornado's insides.

:class:`SocketHandler` is the service's :class:`~.members.Peer` for a WebSocket. To write one
broadcast to thousands of sockets cheaply it writes pre-built frames (:mod:`.framing`) straight
to the socket, which needs Tornado internals with no public equivalent:
``IOStream._write_buffer`` (the unsent backlog), ``WebSocketProtocol13._compressor``
(permessage-deflate in use) and ``._frame_compressed`` / ``._handle_message`` (to answer a
non-UTF-8 text frame with close code 1007). They are tested with the Tornado versions that
``pyproject.toml`` pins; a Tornado whose internals moved falls back to ``write_message``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import orjson
import tornado.web
import tornado.websocket
from tornado.iostream import IOStream

from talkex_widget.core.auth import Auth
from talkex_widget.core.limits import CloseCode, Limits
from talkex_widget.core.rooms import RoomError
from talkex_widget.server.framing import FrameCache
from talkex_widget.server.identity import NO_TOKEN, Admission, Identifier
from talkex_widget.server.intake import RedactingHandler
from talkex_widget.server.service import ChatService
from talkex_widget.server.session import Session

__all__ = ["Gate", "Seat", "SocketHandler"]

log = logging.getLogger("talkex.server")


Seat = tuple[str, str | None]
"""Whose socket it is, for the per-identity cap: ``(nickname, None)`` when the name is vouched
for (a signed or viewer token, the hub), ``(nickname, address)`` under a shared token, where
anyone may type any name: there a name's slots can only be used up from one address."""


class Gate:
    """Open sockets in all, per identity and per address, shared by all socket handlers."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self.by_seat: dict[Seat, int] = {}
        self.by_ip: dict[str, int] = {}

    def refusal(self, seat: Seat, ip: str) -> tuple[int, str] | None:
        """Why one more socket for ``seat`` from ``ip`` is refused (HTTP status, reason)."""
        total = self.limits.max_connections
        per_seat = self.limits.max_connections_per_nickname
        per_ip = self.limits.max_connections_per_ip
        if total and self.total >= total:
            return 503, f"server is full ({total} connections); try again later"
        if per_seat and self.by_seat.get(seat, 0) >= per_seat:
            return 429, f"too many connections for {seat[0]!r} (limit {per_seat})"
        if per_ip and self.by_ip.get(ip, 0) >= per_ip:
            return 429, f"too many connections from this address (limit {per_ip})"
        return None

    def enter(self, seat: Seat, ip: str) -> None:
        self.total += 1
        self.by_seat[seat] = self.by_seat.get(seat, 0) + 1
        self.by_ip[ip] = self.by_ip.get(ip, 0) + 1

    def leave(self, seat: Seat, ip: str) -> None:
        self.total -= 1
        _decrement(self.by_seat, seat)
        _decrement(self.by_ip, ip)


def _decrement(counts: dict[Any, int], key: object) -> None:
    counts[key] -= 1
    if not counts[key]:
        del counts[key]


class _Protocol(tornado.websocket.WebSocketProtocol13):
    """Tornado drops a connection whose text frame is not UTF-8 without a word; RFC 6455
    has a close code for exactly that (1007), which tells the client what it did wrong."""

    def _handle_message(self, opcode: int, data: bytes) -> asyncio.Future[None] | None:
        if opcode == 0x1 and not self._frame_compressed:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self.close(CloseCode.INVALID_DATA, "text frame is not valid UTF-8")
                return None
        return super()._handle_message(opcode, data)


class SocketHandler(RedactingHandler, tornado.websocket.WebSocketHandler):
    """``/socket/websocket``: the Phoenix V2 endpoint. Implements the service's ``Peer``."""

    def initialize(
        self,
        service: ChatService,
        auth: Auth,
        identifier: Identifier,
        gate: Gate,
        frames: FrameCache,
        prefix: str = "/",
    ) -> None:
        self.service = service
        self.auth = auth
        self.identifier = identifier
        self.admission = Admission(None)
        self.gate = gate
        self.frames = frames
        self.entered = False
        self.session: Session | None = None
        self.id = secrets.token_hex(8)
        self.nickname = ""
        self.seat: Seat = ("", None)
        self.last_seen = time.monotonic()
        self._expiry: asyncio.TimerHandle | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        vsn = self.get_query_argument("vsn", "")
        if not vsn.startswith("2."):
            self._refuse(f"unsupported protocol version {vsn or '(none)'}: this server speaks 2.x")
            return
        self.admission = await self.identifier.admit(self, socket=True)
        identity = self.admission.identity
        if identity is None:
            self._refuse(self.admission.reason or NO_TOKEN)
            return
        if self.auth.secret is not None and identity.nickname is None:
            self._refuse("this server needs a signed token that names you (talkex token NICKNAME)")
            return
        try:
            self.nickname = self.service.rules.nickname(identity.nickname or self._raw_nickname())
        except RoomError as exc:
            self._refuse(exc.reason)
            return
        ip = self.request.remote_ip or ""
        self.seat = (self.nickname, None if identity.nickname is not None else ip)
        refusal = self.gate.refusal(self.seat, ip)
        if refusal is not None:
            self._refuse(refusal[1], refusal[0])
            return
        await super().get(*args, **kwargs)

    def _raw_nickname(self) -> str | None:
        """The nickname exactly as sent: Tornado's argument helpers quietly turn control
        characters into spaces, which would let a hostile name through in disguise."""
        values = self.request.query_arguments.get("nickname")
        if not values:
            return None
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise RoomError("nickname is not valid UTF-8") from None

    def _refuse(self, reason: str, status: int = 403) -> None:
        log.info("refused socket from %s: %s", self.request.remote_ip, reason)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": reason}))

    def get_websocket_protocol(self) -> tornado.websocket.WebSocketProtocol | None:
        protocol = super().get_websocket_protocol()
        if isinstance(protocol, tornado.websocket.WebSocketProtocol13):
            return _Protocol(self, False, protocol.params)
        return protocol

    def check_origin(self, origin: str) -> bool:
        return self.auth.origin_allowed(origin, self.request.host)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.gate.enter(self.seat, self.request.remote_ip or "")
        self.entered = True
        self.session = self.service.open_session(self)
        self.set_nodelay(True)
        identity = self.admission.identity
        if identity is not None and identity.expires is not None:
            # A signed token proves who someone is until it expires, not for as long as the
            # socket lasts: the client must come back with a fresh one.
            delay = max(0.0, identity.expires - time.time())
            self._expiry = asyncio.get_running_loop().call_later(delay, self._token_expired)

    def _token_expired(self) -> None:
        log.info("closing %s (%s): token expired", self.id, self.nickname)
        self.close(CloseCode.POLICY, "token expired")

    async def on_message(self, message: str | bytes) -> None:
        self.last_seen = time.monotonic()
        assert self.session is not None
        if isinstance(message, bytes):
            self.send(
                '[null,null,"phoenix","phx_error",{"reason":"binary frames are not '
                'supported: send JSON text frames"}]'
            )
            return
        await self.session.receive(message)

    def on_pong(self, data: bytes) -> None:
        self.last_seen = time.monotonic()

    def on_close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        if self.entered:
            self.entered = False
            self.gate.leave(self.seat, self.request.remote_ip or "")
        # At shutdown the server has closed the session already, and its loop may be ending:
        # spawning a no-op close then would leave a task that never runs.
        if self.session is not None and not self.session.closed:
            self.service.spawn(self.session.close())

    def send(self, text: str) -> None:
        conn = self.ws_connection
        if conn is None or conn.is_closing():
            return
        stream = getattr(conn, "stream", None)
        pending = getattr(stream, "_write_buffer", None)  # Tornado keeps no public count
        backlog = len(pending) if pending is not None else 0
        if backlog > self.service.limits.max_send_buffer_bytes:
            # A client that stopped reading: drop it rather than buffer without bound.
            log.warning("dropping %s (%s): %d bytes unread", self.id, self.nickname, backlog)
            self.close(CloseCode.POLICY, "not reading: too far behind")
            if stream is not None:
                stream.close()
            return
        # TLS, permessage-deflate, or a Tornado whose internals moved: Tornado's own path.
        if (
            pending is None
            or type(stream) is not IOStream
            or not isinstance(conn, tornado.websocket.WebSocketProtocol13)
            or conn._compressor is not None
        ):
            self.write_message(text).add_done_callback(_retrieve)
            return
        self.write_frame(stream, self.frames.frame(text), backlog)

    @staticmethod
    def write_frame(stream: IOStream, frame: bytes, backlog: int) -> None:
        """Write a whole WebSocket frame: straight to the socket when nothing is queued.

        With an empty buffer everything written before (by us or by Tornado: pings, close)
        is already with the kernel, so a direct ``send`` keeps the order, and costs no
        future, task or copy. Whatever the kernel does not take, and every frame while
        something is queued, goes behind the queue through Tornado's buffered write, where
        the slow-consumer check in :meth:`send` sees it.
        """
        rest: bytes | memoryview = frame
        if not backlog:
            try:
                sent = stream.socket.send(frame)
            except OSError:  # EAGAIN, or a dead peer that the buffered write will close
                sent = 0
            if sent == len(frame):
                return
            rest = memoryview(frame)[sent:]
        stream.write(rest)  # not closed: send() checked; Tornado retrieves the future's error

    def room_refusal(self, room: str) -> str | None:
        return self.admission.room_refusal(room)

    def may_moderate(self) -> bool:
        return self.admission.may_moderate()

    def profile_meta(self) -> dict[str, str]:
        return self.admission.profile_meta()

    def close_peer(self, code: int, reason: str) -> None:
        self.close(code, reason)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a peer that went away mid-write is not an error worth logging
