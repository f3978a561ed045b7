"""A Phoenix channel: one joined topic on a :class:`~.socket.Socket`, like phoenix.js's Channel.

It rejoins by itself after a reconnect or a ``phx_error`` (phoenix.js's rejoin schedule), drops
frames meant for an older join of its topic, and waits for the join before any push, so code
above it can push at any time and only has to handle the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from talkex_widget.core.protocol import Event, Message

from .presence import PresenceView
from .timing import REJOIN_AFTER_LAST, REJOIN_BACKOFF, backoff

if TYPE_CHECKING:
    from .socket import Socket

__all__ = ["Callback", "Channel", "JoinParams", "PushError"]

log = logging.getLogger("talkex.client")

Callback = Callable[[dict[str, Any]], None]
"""Called with a frame's payload."""
JoinParams = dict[str, Any] | Callable[[], dict[str, Any]]
"""The join payload, or a function giving it: read again at every rejoin (``last_seen_id``)."""


class PushError(Exception):
    """The server answered a push (or a join) with an error reply."""

    def __init__(self, event: str, response: dict[str, Any]) -> None:
        self.response = response
        self.reason = str(response.get("reason", response))
        super().__init__(f"{event} refused: {self.reason}")


class Channel:
    """A joined topic; rejoins after reconnects and errors, like phoenix.js's Channel."""

    def __init__(self, socket: Socket, topic: str, params: JoinParams | None) -> None:
        self.socket = socket
        self.topic = topic
        self._params = params or {}
        self.join_ref: str | None = None
        self.state = "closed"
        self._bindings: dict[str, list[Callback]] = {}
        self._joined = asyncio.Event()
        self._rejoin_task: asyncio.Task[None] | None = None
        self.on_join: list[Callback] = []
        self.presence = PresenceView(self)

    @property
    def params(self) -> dict[str, Any]:
        return self._params() if callable(self._params) else self._params

    def on(self, event: str, callback: Callback) -> None:
        self._bindings.setdefault(event, []).append(callback)

    async def join(self, timeout: float | None = None) -> dict[str, Any]:
        """Join and return the reply's response; raises :class:`PushError` when refused.

        The reply is applied (state, ``on_join`` callbacks) as its frame is read, like
        phoenix.js does, not when this coroutine resumes: by then the frames the server sent
        after the reply (a change broadcast right after it) may have been handled, and
        would have met a channel that had not applied its join yet.
        """
        self.state = "joining"
        self.join_ref = self.socket.make_ref()
        message = Message(self.join_ref, self.join_ref, self.topic, Event.JOIN.value, self.params)
        try:
            reply = await self.socket.request(message, timeout, on_reply=self._join_replied)
        except BaseException:
            if self.state == "joining":  # no reply came (a reply applied stands)
                self.state = "errored"
            raise
        if reply.get("status") != "ok":
            raise PushError(Event.JOIN.value, reply.get("response", {}))
        return reply.get("response", {})

    def _join_replied(self, reply: dict[str, Any]) -> None:
        if reply.get("status") != "ok":
            self.state = "errored"
            return
        self.state = "joined"
        self._joined.set()
        response = reply.get("response", {})
        for callback in self.on_join:
            try:
                callback(response)
            except Exception:
                log.exception("join callback on %s failed", self.topic)

    async def push(
        self, event: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Push once the channel is joined; return the ok response or raise :class:`PushError`.

        ``timeout`` bounds the wait for the join and the reply together, as phoenix.js does.
        """
        self.socket.raise_if_stopped()  # not a wait for a join that can never come
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
                await asyncio.sleep(backoff(REJOIN_BACKOFF, tries, REJOIN_AFTER_LAST))
            if not self.socket.connected:
                return
            try:
                await self.join()
                return
            except Exception as exc:
                log.info("rejoin of %s failed: %s", self.topic, exc)
                tries += 1
