"""An async Phoenix Channels V2 client on Tornado, and a chat-room client on top of it.

:class:`Socket`, :class:`Channel` and :class:`PresenceView` follow phoenix.js (heartbeat,
reconnect backoff, automatic rejoin, pending presence diffs) so the Python side of the notebook
widget and the tests see the server exactly as the browser does. :class:`RoomClient` adds what
a chat needs above the protocol: history, de-duplication by id, catch-up after a reconnect, and
resending unacknowledged messages under their ``client_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import (
    WebSocketClientConnection,
    WebSocketClosedError,
    websocket_connect,
)

from talkex_widget.core.presence import State, sync_diff, sync_state
from talkex_widget.core.protocol import PHOENIX_TOPIC, Event, Message, ProtocolError, decode, encode

__all__ = [
    "RECONNECT_BACKOFF",
    "REJOIN_BACKOFF",
    "Channel",
    "ConnectError",
    "PresenceView",
    "PushError",
    "RoomClient",
    "Socket",
    "socket_url",
]

log = logging.getLogger("talkex.client")

RECONNECT_BACKOFF = (0.01, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.0)
"""phoenix.js ``reconnectAfterMs``; after the last step, 5 s between tries."""
REJOIN_BACKOFF = (1.0, 2.0, 5.0)
"""phoenix.js ``rejoinAfterMs``; after the last step, 10 s."""

Callback = Callable[[dict[str, Any]], None]


class PushError(Exception):
    """The server answered a push (or a join) with an error reply."""

    def __init__(self, event: str, response: dict[str, Any]) -> None:
        self.response = response
        self.reason = str(response.get("reason", response))
        super().__init__(f"{event} refused: {self.reason}")


class ConnectError(Exception):
    """The server refused the WebSocket upgrade (wrong token, bad nickname, bad vsn)."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"connection refused ({status}): {reason}")


def socket_url(base: str, params: dict[str, str]) -> str:
    """``http://host:port/`` (or ws://) plus params -> the Phoenix V2 endpoint URL."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = urlencode({**params, "vsn": "2.0.0"})
    return urlunsplit((scheme, parts.netloc, "/socket/websocket", query, ""))


def _backoff(steps: Sequence[float], tries: int, last: float) -> float:
    delay = steps[tries - 1] if 0 < tries <= len(steps) else last
    return delay * random.uniform(1.0, 1.25)


class Socket:
    """One WebSocket carrying many channels; reconnects until :meth:`disconnect`."""

    def __init__(
        self,
        url: str,
        params: dict[str, str] | None = None,
        *,
        heartbeat_interval: float = 30.0,
        timeout: float = 10.0,
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
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._opened: asyncio.Event = asyncio.Event()
        self._closing = False
        self.on_open: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], None]] = []

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
        conn = await self._open()
        self._task = asyncio.ensure_future(self._run(conn))
        await self._opened.wait()

    async def _open(self) -> WebSocketClientConnection:
        request = HTTPRequest(self.url, connect_timeout=self.timeout, request_timeout=self.timeout)
        try:
            return await websocket_connect(request, max_message_size=16 * 1024 * 1024)
        except HTTPClientError as exc:
            body = exc.response.body.decode(errors="replace") if exc.response else ""
            raise ConnectError(exc.code, body or str(exc)) from None

    async def _run(self, conn: WebSocketClientConnection | None) -> None:
        tries = 0
        while not self._closing:
            if conn is None:
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
                    await asyncio.sleep(_backoff(RECONNECT_BACKOFF, tries, 5.0))
                    continue
            tries = 0
            await self._serve(conn)
            conn = None
            if not self.reconnect:
                break
            tries += 1
            await asyncio.sleep(_backoff(RECONNECT_BACKOFF, tries, 5.0))

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
            for ref, future in list(self._replies.items()):
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
            future = self._replies.pop(message.ref)
            if not future.done():
                future.set_result(message.payload)
            return
        for channel in self.channels:
            if channel.topic == message.topic:
                channel._receive(message)

    def send(self, message: Message) -> None:
        if self._conn is None:
            raise ConnectionError("socket is not connected")
        try:
            written = self._conn.write_message(encode(message))
        except WebSocketClosedError:  # closed, and the read loop has not noticed yet
            raise ConnectionError("socket is closed") from None
        # A write cut off by a drop fails later; the read loop reports the drop, so the write's
        # own error is retrieved here instead of being logged as "never retrieved".
        written.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def request(self, message: Message, timeout: float | None = None) -> dict[str, Any]:
        """Send a frame with a ``ref`` and wait for its ``phx_reply`` payload."""
        ref = message.ref or self.make_ref()
        message = Message(message.join_ref, ref, message.topic, message.event, message.payload)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[ref] = future
        try:
            self.send(message)
            return await asyncio.wait_for(future, timeout or self.timeout)
        finally:
            self._replies.pop(ref, None)

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._opened.wait(), timeout or self.timeout)

    def channel(
        self, topic: str, params: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    ) -> Channel:
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


class Channel:
    """A joined topic; rejoins after reconnects and errors, like phoenix.js's Channel."""

    def __init__(
        self,
        socket: Socket,
        topic: str,
        params: dict[str, Any] | Callable[[], dict[str, Any]] | None,
    ) -> None:
        self.socket = socket
        self.topic = topic
        self._params = params or {}
        self.join_ref: str | None = None
        self.state = "closed"
        self._bindings: dict[str, list[Callback]] = {}
        self._joined = asyncio.Event()
        self._rejoin_task: asyncio.Task[None] | None = None
        self.on_join: list[Callable[[dict[str, Any]], None]] = []
        self.presence = PresenceView(self)

    @property
    def params(self) -> dict[str, Any]:
        return self._params() if callable(self._params) else self._params

    def on(self, event: str, callback: Callback) -> None:
        self._bindings.setdefault(event, []).append(callback)

    async def join(self, timeout: float | None = None) -> dict[str, Any]:
        """Join and return the reply's response; raises :class:`PushError` when refused."""
        self.state = "joining"
        self.join_ref = self.socket.make_ref()
        message = Message(self.join_ref, self.join_ref, self.topic, Event.JOIN.value, self.params)
        try:
            reply = await self.socket.request(message, timeout)
        except BaseException:
            self.state = "errored"
            raise
        if reply.get("status") != "ok":
            self.state = "errored"
            raise PushError(Event.JOIN.value, reply.get("response", {}))
        self.state = "joined"
        self._joined.set()
        response = reply.get("response", {})
        for callback in self.on_join:
            callback(response)
        return response

    async def push(
        self, event: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Push once the channel is joined; return the ok response or raise :class:`PushError`."""
        timeout = timeout or self.socket.timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await asyncio.wait_for(self._joined.wait(), timeout)
        message = Message(self.join_ref, None, self.topic, event, payload)
        reply = await self.socket.request(message, max(0.01, deadline - loop.time()))
        if reply.get("status") != "ok":
            raise PushError(event, reply.get("response", {}))
        return reply.get("response", {})

    async def leave(self, timeout: float | None = None) -> None:
        self.state = "leaving"
        self._joined.clear()
        if self._rejoin_task is not None:
            self._rejoin_task.cancel()
        with contextlib.suppress(Exception):
            if self.socket.connected:
                await self.socket.request(
                    Message(self.join_ref, None, self.topic, Event.LEAVE.value, {}), timeout
                )
        self.state = "closed"
        if self in self.socket.channels:
            self.socket.channels.remove(self)

    def _receive(self, message: Message) -> None:
        if message.join_ref is not None and message.join_ref != self.join_ref:
            return  # a frame for an older join of this topic
        if message.event in (Event.ERROR, Event.CLOSE):
            self._joined.clear()
            if message.event == Event.ERROR and self.state == "joined":
                self.state = "errored"
                self._schedule_rejoin()
            elif message.event == Event.CLOSE:
                self.state = "closed"
        for callback in self._bindings.get(message.event, ()):
            try:
                callback(message.payload)
            except Exception:
                log.exception("callback for %s on %s failed", message.event, self.topic)

    def _socket_opened(self) -> None:
        if self.state in ("joined", "joining", "errored"):
            self._schedule_rejoin(immediately=True)

    def _socket_closed(self) -> None:
        self._joined.clear()
        if self.state in ("joined", "joining"):
            self.state = "errored"

    def _schedule_rejoin(self, immediately: bool = False) -> None:
        if self._rejoin_task is not None and not self._rejoin_task.done():
            return
        self._rejoin_task = asyncio.ensure_future(self._rejoin(immediately))

    async def _rejoin(self, immediately: bool) -> None:
        tries = 0 if immediately else 1
        while self.state not in ("leaving", "closed") and self.socket.connected:
            if tries:
                await asyncio.sleep(_backoff(REJOIN_BACKOFF, tries, 10.0))
            if not self.socket.connected:
                return
            try:
                await self.join()
                return
            except Exception as exc:
                log.info("rejoin of %s failed: %s", self.topic, exc)
                tries += 1


class PresenceView:
    """phoenix.js ``Presence``: state from ``presence_state``, diffs applied after it."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.state: State = {}
        self._pending: list[dict[str, Any]] = []
        self._join_ref: str | None = None
        self.on_sync: list[Callable[[], None]] = []
        channel.on("presence_state", self._on_state)
        channel.on("presence_diff", self._on_diff)

    def _on_state(self, payload: dict[str, Any]) -> None:
        self._join_ref = self.channel.join_ref
        self.state = sync_state(self.state, payload)
        for diff in self._pending:
            self.state = sync_diff(self.state, diff)
        self._pending = []
        self._synced()

    def _on_diff(self, payload: dict[str, Any]) -> None:
        if self._join_ref != self.channel.join_ref:
            self._pending.append(payload)
            return
        self.state = sync_diff(self.state, payload)
        self._synced()

    def _synced(self) -> None:
        for callback in self.on_sync:
            callback()

    def list(self) -> dict[str, list[dict[str, Any]]]:
        """``{nickname: [meta, ...]}``, one entry per person, one meta per connection."""
        return {key: [dict(m) for m in presence["metas"]] for key, presence in self.state.items()}

    def statuses(self) -> dict[str, str]:
        """``{nickname: status}``: the status of the connection that changed last, the rule
        the browser UI uses too (``sync_diff`` appends joined metas, and an update is a join),
        so a notebook that starts running a cell shows its owner busy everywhere."""
        return {
            key: presence["metas"][-1].get("status", "online")
            for key, presence in self.state.items()
            if presence["metas"]
        }


class RoomClient:
    """A chat room as a person experiences it: messages once each, in order, none lost.

    Messages sent while disconnected, or whose reply never came, stay pending and are pushed
    again with the same ``client_id`` after every rejoin; the server's de-duplication makes the
    resend safe. Every rejoin asks for what was missed since the highest id seen.
    """

    def __init__(self, socket: Socket, room: str, *, status: str = "online") -> None:
        self.socket = socket
        self.room = room
        self.status = status
        self.activity: str | None = None
        self.messages: dict[int, dict[str, Any]] = {}
        self.pending: dict[str, str] = {}
        self.has_more = False
        self.last_seen_id: int | None = None
        self.on_message: list[Callback] = []
        self.channel = socket.channel(f"room:{room}", self._join_params)
        self.channel.on("new_msg", self._on_new_msg)
        self.channel.on_join.append(self._on_joined)
        self._resend_task: asyncio.Task[None] | None = None

    @property
    def presence(self) -> PresenceView:
        return self.channel.presence

    @property
    def nickname(self) -> str:
        """The author name the server gives this socket's messages (it trims the nickname)."""
        return str(self.socket.params.get("nickname", "")).strip()

    def _join_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"status": self.status}
        if self.activity:
            params["activity"] = self.activity
        if self.last_seen_id is not None:
            params["last_seen_id"] = self.last_seen_id
        return params

    async def join(self, timeout: float | None = None) -> dict[str, Any]:
        return await self.channel.join(timeout)

    def _on_joined(self, response: dict[str, Any]) -> None:
        if response.get("reset"):
            self.messages.clear()
        self.has_more = bool(response.get("has_more")) if not self.messages else self.has_more
        for message in response.get("messages", []):
            self._add(message)
        if self.last_seen_id is None and not response.get("has_more"):
            # The whole room was in the reply and it was empty: nothing is missing up to here,
            # so a rejoin must ask for everything after 0, not for the latest page only.
            self.last_seen_id = 0
        if self.pending:
            if self._resend_task is not None and not self._resend_task.done():
                # Still waiting to push a list taken before the last disconnect: messages that
                # failed since are not on it. Start over from what is pending now.
                self._resend_task.cancel()
            self._resend_task = asyncio.ensure_future(self._resend())

    def _on_new_msg(self, payload: dict[str, Any]) -> None:
        self._add(payload)

    def _add(self, message: dict[str, Any]) -> None:
        message_id = message.get("id")
        if not isinstance(message_id, int) or message_id in self.messages:
            return
        self.messages[message_id] = message
        if self.last_seen_id is None or message_id > self.last_seen_id:
            self.last_seen_id = message_id
        client_id = message.get("client_id")
        if client_id is not None and message.get("author") == self.nickname:
            # client_ids are unique per author only: another person's message may carry ours.
            self.pending.pop(client_id, None)
        for callback in self.on_message:
            try:
                callback(message)
            except Exception:
                log.exception("on_message callback failed")

    def ordered(self) -> list[dict[str, Any]]:
        return [self.messages[i] for i in sorted(self.messages)]

    async def send(
        self, body: str, *, client_id: str | None = None, timeout: float | None = None
    ) -> int:
        """Send and return the message id. On timeout or disconnect the message stays pending
        and is resent after the next rejoin; the exception still tells the caller."""
        client_id = client_id or uuid.uuid4().hex
        self.pending[client_id] = body
        response = await self._push(client_id, body, timeout)
        return int(response["id"])

    async def _push(self, client_id: str, body: str, timeout: float | None) -> dict[str, Any]:
        while True:
            try:
                response = await self.channel.push(
                    "new_msg", {"body": body, "client_id": client_id}, timeout
                )
                break
            except PushError as exc:
                retry_after = exc.response.get("retry_after")
                if isinstance(retry_after, (int, float)) and retry_after >= 0:
                    # Refused for now (a rate limit), not for good: wait, then the same again.
                    await asyncio.sleep(min(float(retry_after), 60.0) + 0.01)
                    continue
                self.pending.pop(client_id, None)  # refused for good: resending cannot help
                raise
        self.pending.pop(client_id, None)
        return response

    async def _resend(self) -> None:
        for client_id, body in list(self.pending.items()):
            try:
                await self._push(client_id, body, None)
            except PushError as exc:
                log.warning("pending message %s refused: %s", client_id, exc.reason)
            except Exception as exc:
                log.info("resend of %s deferred: %s", client_id, exc)
                return

    async def set_status(self, status: str, activity: str | None = None) -> None:
        """Change this connection's presence; ``activity`` says what a busy person runs."""
        self.status, self.activity = status, activity  # rejoins carry it even if this fails
        payload: dict[str, Any] = {"status": status}
        if activity:
            payload["activity"] = activity
        await self.channel.push("new_status", payload)

    async def older(self, limit: int = 50) -> list[dict[str, Any]]:
        """Load messages before the oldest one held (scroll-back); returns them ascending."""
        payload: dict[str, Any] = {"limit": limit}
        if self.messages:
            payload["before_id"] = min(self.messages)
        response = await self.channel.push("history", payload)
        self.has_more = bool(response.get("has_more"))
        added = [m for m in response.get("messages", []) if m.get("id") not in self.messages]
        for message in added:
            self.messages[message["id"]] = message
        return added

    async def leave(self) -> None:
        await self.channel.leave()
