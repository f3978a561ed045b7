"""The Phoenix V2 socket: one WebSocket carrying many channels, like phoenix.js's ``Socket``.

It reconnects with phoenix.js's backoff until :meth:`Socket.disconnect`, sends heartbeats,
matches ``phx_reply`` frames to the requests that wait for them, and hands every other frame to
the channel of its topic, so the Python side sees the server exactly as the browser does.

One thing ends the reconnecting for good: a signed token that has expired (the server closes
the socket with 1008 "token expired", and refuses the same token from then on). Retrying with
it could only fail forever, quietly; the socket stops and says why (:class:`TokenExpired`)
unless someone put a fresh token in ``params`` meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import (
    WebSocketClientConnection,
    WebSocketClosedError,
    websocket_connect,
)

from talkex_widget.core.limits import CloseCode
from talkex_widget.core.protocol import PHOENIX_TOPIC, Event, Message, ProtocolError, decode, encode

from .channel import Channel, JoinParams
from .timing import (
    HEARTBEAT_INTERVAL,
    PUSH_TIMEOUT,
    RECONNECT_AFTER_LAST,
    RECONNECT_BACKOFF,
    backoff,
)

__all__ = ["ConnectError", "Socket", "TokenExpired", "socket_url", "token_expiry"]

log = logging.getLogger("talkex.client")

MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""Largest frame accepted from the server: a join reply with a page of long messages fits."""


OnReply = Callable[[dict[str, Any]], None]
"""Called with a reply's payload as its frame is read (see :meth:`Socket.request`)."""


class ConnectError(Exception):
    """The server refused the WebSocket upgrade (wrong token, bad nickname, bad vsn)."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"connection refused ({status}): {reason}")


class TokenExpired(ConnectionError):
    """The signed token this socket connects with has expired: it stopped reconnecting.

    A :class:`ConnectionError`, like any push on a socket that is down, so code that waits out
    disconnects still catches it; the message says what to do."""


TOKEN_EXPIRED_REASON = "token expired"
"""The reason of the server's 1008 close when a signed token runs out (server/websocket.py)."""


def token_expiry(token: str | None) -> float | None:
    """When a signed token (``talkex.<payload>.<signature>``) expires, in seconds since the
    epoch, read from its payload without checking the signature (only the server can, and
    will); ``None`` for a shared token or anything that is not a signed token."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    expires = claims.get("exp") if isinstance(claims, dict) else None
    return float(expires) if isinstance(expires, int) and not isinstance(expires, bool) else None


def socket_url(base: str, params: dict[str, str]) -> str:
    """``http://host:port[/prefix]/`` (or ws://) plus params -> the Phoenix V2 endpoint URL.

    The path is kept: a server behind JupyterHub's proxy lives under ``/services/<name>/``.
    """
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = urlencode({**params, "vsn": "2.0.0"})
    path = parts.path.rstrip("/") + "/socket/websocket"
    return urlunsplit((scheme, parts.netloc, path, query, ""))


class Socket:
    """One WebSocket carrying many channels; reconnects until :meth:`disconnect`.

    ``params`` are read at every reconnect, so a changed token applies to the next attempt.
    """

    def __init__(
        self,
        url: str,
        params: dict[str, str] | None = None,
        *,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        timeout: float = PUSH_TIMEOUT,
        reconnect: bool = True,
    ) -> None:
        self.base_url = url
        self.params = dict(params or {})
        self.heartbeat_interval = heartbeat_interval
        self.timeout = timeout
        self.reconnect = reconnect
        self.channels: list[Channel] = []
        self._conn: WebSocketClientConnection | None = None
        self._refs = itertools.count(1)
        self._replies: dict[str, tuple[asyncio.Future[dict[str, Any]], OnReply | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._opened: asyncio.Event = asyncio.Event()
        self._closing = False
        self.stopped: TokenExpired | None = None
        """Why the socket stopped reconnecting by itself (its token expired); ``None`` while
        it connects or reconnects as usual."""
        self.on_open: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[TokenExpired], None]] = []
        """Called once when the socket gives up (see :attr:`stopped`)."""

    @property
    def url(self) -> str:
        return socket_url(self.base_url, self.params)

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def make_ref(self) -> str:
        return str(next(self._refs))

    async def connect(self) -> None:
        """Open the socket; raises :class:`ConnectError` when the server refuses outright."""
        self._closing = False
        self.stopped = None
        conn = await self._open()
        self._task = asyncio.ensure_future(self._run(conn))
        await self._opened.wait()

    async def _open(self) -> WebSocketClientConnection:
        request = HTTPRequest(self.url, connect_timeout=self.timeout, request_timeout=self.timeout)
        try:
            return await websocket_connect(request, max_message_size=MAX_MESSAGE_SIZE)
        except HTTPClientError as exc:
            body = exc.response.body.decode(errors="replace") if exc.response else ""
            raise ConnectError(exc.code, body or str(exc)) from None

    async def _run(self, conn: WebSocketClientConnection | None) -> None:
        tries = 0
        while not self._closing:
            if conn is None:
                if self._token_has_expired():
                    break
                try:
                    conn = await self._open()
                except ConnectError as exc:
                    log.warning("reconnect refused: %s", exc)
                    conn = None
                except Exception as exc:  # network errors: keep trying
                    log.debug("reconnect failed: %s", exc)
                    conn = None
                if conn is None:
                    tries += 1
                    await asyncio.sleep(backoff(RECONNECT_BACKOFF, tries, RECONNECT_AFTER_LAST))
                    continue
            tries = 0
            token = self.params.get("token")
            await self._serve(conn)
            closed_for_expiry = (conn.close_code, conn.close_reason) == (
                CloseCode.POLICY,
                TOKEN_EXPIRED_REASON,
            )
            conn = None
            if closed_for_expiry and self.params.get("token") == token:
                self._stop("the server closed the connection: its signed token expired")
                break
            if not self.reconnect:
                break
            tries += 1
            await asyncio.sleep(backoff(RECONNECT_BACKOFF, tries, RECONNECT_AFTER_LAST))

    def _token_has_expired(self) -> bool:
        """Before a reconnect: stop if the token ran out while the socket was down (the
        server would refuse it with a bare 403, again and again)."""
        expires = token_expiry(self.params.get("token"))
        if expires is None or expires > time.time():
            return False
        self._stop("its signed token expired while the connection was down")
        return True

    def raise_if_stopped(self) -> None:
        """Raise :class:`TokenExpired` if the socket is down for good (see :attr:`stopped`)."""
        if self.stopped is not None and self._conn is None:
            raise TokenExpired(str(self.stopped))

    def _stop(self, why: str) -> None:
        self.stopped = TokenExpired(
            f"not reconnecting to {self.base_url}: {why}; "
            "connect again with a fresh token (talkex token NICKNAME)"
        )
        log.warning("%s", self.stopped)
        for callback in self.on_stop:
            try:
                callback(self.stopped)
            except Exception:
                log.exception("on_stop callback failed")

    async def _serve(self, conn: WebSocketClientConnection) -> None:
        self._conn = conn
        self._opened.set()
        for callback in self.on_open:
            callback()
        for channel in self.channels:
            channel._socket_opened()
        heartbeat = asyncio.ensure_future(self._heartbeat(conn))
        try:
            while True:
                data = await conn.read_message()
                if data is None:
                    break
                self._handle(data)
        finally:
            heartbeat.cancel()
            self._conn = None
            self._opened.clear()
            for ref, (future, _) in list(self._replies.items()):
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))
                self._replies.pop(ref, None)
            for channel in self.channels:
                channel._socket_closed()
            for callback in self.on_close:
                callback()

    async def _heartbeat(self, conn: WebSocketClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.request(
                    Message(None, None, PHOENIX_TOPIC, Event.HEARTBEAT.value, {}),
                    timeout=self.heartbeat_interval,
                )
            except Exception:
                log.info("heartbeat unanswered: reconnecting")
                conn.close(1000, "heartbeat timeout")
                return

    def _handle(self, data: str | bytes) -> None:
        try:
            message = decode(data)
        except ProtocolError as exc:
            log.warning("ignoring undecodable frame from server: %s", exc.reason)
            return
        if message.event == Event.REPLY and message.ref in self._replies:
            future, on_reply = self._replies.pop(message.ref)
            if not future.done():
                if on_reply is not None:
                    try:
                        on_reply(message.payload)
                    except Exception:
                        log.exception("handling the reply to %s failed", message.ref)
                future.set_result(message.payload)
            return
        for channel in self.channels:
            if channel.topic == message.topic:
                channel._receive(message)

    def send(self, message: Message) -> None:
        if self._conn is None:
            self.raise_if_stopped()
            raise ConnectionError("socket is not connected")
        try:
            written = self._conn.write_message(encode(message))
        except WebSocketClosedError:  # closed, and the read loop has not noticed yet
            raise ConnectionError("socket is closed") from None
        # A write cut off by a drop fails later; the read loop reports the drop, so the write's
        # own error is retrieved here instead of being logged as "never retrieved".
        written.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def request(
        self,
        message: Message,
        timeout: float | None = None,
        on_reply: OnReply | None = None,
    ) -> dict[str, Any]:
        """Send a frame with a ``ref`` and wait for its ``phx_reply`` payload.

        ``on_reply`` is called with the payload as the reply frame is read, before any frame
        after it: the awaiting coroutine resumes later, when the read loop may already have
        handled the frames that followed (a broadcast the server sent after a join reply must
        find the join applied). Not called for a reply that comes after the timeout.
        """
        ref = message.ref or self.make_ref()
        message = Message(message.join_ref, ref, message.topic, message.event, message.payload)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[ref] = (future, on_reply)
        try:
            self.send(message)
            return await asyncio.wait_for(future, timeout or self.timeout)
        finally:
            self._replies.pop(ref, None)

    async def wait_connected(self, timeout: float | None = None) -> None:
        self.raise_if_stopped()
        await asyncio.wait_for(self._opened.wait(), timeout or self.timeout)

    def channel(self, topic: str, params: JoinParams | None = None) -> Channel:
        channel = Channel(self, topic, params)
        self.channels.append(channel)
        return channel

    async def disconnect(self, code: int = 1000) -> None:
        self._closing = True
        if self._conn is not None:
            self._conn.close(code)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, self.timeout)
            self._task = None
