"""The kernel's own link to a room: a :class:`Socket` and a :class:`RoomClient` for one widget.

It lives on the widget's background loop (:class:`~.embedded.LoopThread`), so it goes on
receiving while a cell computes; :class:`~.widget.ChatWidget` reaches it from the kernel
thread only through that loop. Every join reply passes through here, so the link also keeps
what the server says about its limits, which :meth:`~.widget.ChatWidget.share` follows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.rooms import DEFAULT_RULES
from talkex_widget.notebook.discovery import ServerInfo

__all__ = ["MessageCallback", "RoomLink"]

MessageCallback = Callable[[dict[str, Any]], object]


class RoomLink:
    """One connection of the kernel to a room, opened by :meth:`open` and ended by :meth:`close`.

    ``on_message`` gets messages that arrive after the first join (new ones, and those missed
    during a reconnect), not the history the first join brings.
    """

    def __init__(
        self, info: ServerInfo, nickname: str, room: str, status: str, on_message: MessageCallback
    ) -> None:
        params = {"nickname": nickname}
        if info.token:
            params["token"] = info.token
        self.socket = Socket(info.url, params)
        # kind "kernel": the person is in the room through the notebook's view already, so the
        # presence list does not count this link as another tab.
        self.client = RoomClient(self.socket, room, status=status, kind="kernel")
        self.nickname = nickname
        self.limits: dict[str, Any] = {}
        """The server's ``limits`` from the latest join reply (empty from older servers)."""
        self._on_message = on_message
        self._early: list[dict[str, Any]] | None = []
        self._stored: dict[str, asyncio.Future[int]] = {}
        """Sends waiting for their message to come back stored, by ``client_id``."""
        self._present = asyncio.Event()
        self.client.on_message.append(self._received)
        self.client.channel.on_join.append(self._joined)
        self.client.presence.on_sync.append(self._synced)

    @property
    def max_body(self) -> int:
        """The longest message body the server takes: its own word if it gave one, since
        ``talkex serve --max-body`` may differ from the default."""
        value = self.limits.get("max_body")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return DEFAULT_RULES.max_body

    async def open(self, timeout: float) -> None:
        """Connect, join, and wait until the room lists us: then ``presence`` is complete."""
        self.socket.timeout = timeout
        await self.socket.connect()
        await self.client.join(timeout)
        await asyncio.wait_for(self._present.wait(), timeout)

    async def send(self, body: str | dict[str, Any], timeout: float) -> int:
        """Post ``body`` (text, or a ``new_msg`` payload) and return its id once the server
        has stored it, within ``timeout`` seconds.

        A message whose socket drops under it stays pending in the client, which pushes it
        again after the rejoin (as after a takeover, when the kernel hosting the server died:
        :mod:`.takeover`), and the server stores it once under its ``client_id``. Waiting for
        that, rather than failing at the drop, gives the caller the id of a message that was
        in fact delivered, and an error only for one that was not.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        client_id = uuid.uuid4().hex
        stored: asyncio.Future[int] = loop.create_future()
        self._stored[client_id] = stored
        try:
            try:
                return await self.client.send(body, client_id=client_id, timeout=timeout)
            except (ConnectionError, TimeoutError):
                if client_id not in self.client.pending:
                    raise
            return await asyncio.wait_for(stored, max(0.0, deadline - loop.time()))
        finally:
            self._stored.pop(client_id, None)

    async def set_status(self, status: str, activity: str | None = None) -> None:
        await self.client.set_status(status, activity)

    async def close(self) -> None:
        await self.socket.disconnect()

    def _synced(self) -> None:
        if self.nickname in self.client.presence.state:
            self._present.set()

    def _received(self, message: dict[str, Any]) -> None:
        if message.get("author") == self.client.nickname:
            waiting = self._stored.get(str(message.get("client_id")))
            if waiting is not None and not waiting.done():
                waiting.set_result(int(message["id"]))
        if self._early is not None:
            self._early.append(message)
        else:
            self._on_message(message)

    def _joined(self, response: dict[str, Any]) -> None:
        """Every join reply (the first and each rejoin): keep the limits; after the first,
        hand over what arrived meanwhile that the reply's history does not hold."""
        limits = response.get("limits")
        if isinstance(limits, dict):
            self.limits = limits
        if self._early is None:
            return
        initial = {m.get("id") for m in response.get("messages", [])}
        early, self._early = self._early, None
        for message in early:
            if message.get("id") not in initial:
                self._on_message(message)
