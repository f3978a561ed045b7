"""The chat room above the protocol: what a person in a room sees and sends.

:class:`RoomClient` adds what a chat needs on top of a :class:`~.channel.Channel`: history,
de-duplication by id, catch-up after a reconnect, and resending unacknowledged messages under
their ``client_id``, so that nobody loses or doubles a message over a bad network.

Messages change after they are sent (edits, deletes, reactions): ``messages`` always holds
each one's latest state, from ``msg_changed`` broadcasts while connected and, after a
reconnect, from a join with ``last_seen_seq`` that replays every change missed, once.

Like the browser's views, a client keeps the person's read position in the room (``read_id``,
which the server stores per person: it is shared with their pages and widgets) and says when
the person types, at most once per :data:`~talkex_widget.core.limits.TYPING_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from talkex_widget.core.limits import TYPING_INTERVAL

from .channel import Callback, PushError
from .presence import PresenceView
from .socket import Socket

__all__ = ["RoomClient"]

log = logging.getLogger("talkex.client")

MAX_RETRY_AFTER = 60.0
"""Longest wait honoured from a rate limit's ``retry_after``, against a server gone wrong."""


class RoomClient:
    """A chat room as a person experiences it: messages once each, in order, none lost.

    Messages sent while disconnected, or whose reply never came, stay pending and are pushed
    again with the same ``client_id`` after every rejoin; the server's de-duplication makes the
    resend safe. Every rejoin asks for what was missed since the highest id seen.
    """

    def __init__(
        self, socket: Socket, room: str, *, status: str = "online", kind: str | None = None
    ) -> None:
        self.socket = socket
        self.room = room
        self.status = status
        self.kind = kind
        """``"kernel"`` for a notebook kernel's own link, which lists don't count as a tab."""
        self.activity: str | None = None
        self.messages: dict[int, dict[str, Any]] = {}
        self.pending: dict[str, str | dict[str, Any]] = {}
        self.has_more = False
        self.last_seen_id: int | None = None
        self.last_seen_seq: int | None = None
        """The room's ``seq`` up to which ``messages`` holds every change (see the server's
        ``server/changes.py``); ``None`` before the first join reply. Contiguous: every seq
        is broadcast once, so one that arrives early waits in ``_seqs_ahead`` until the gap
        before it fills; a gap left by a broadcast lost in a crash is asked for at rejoin."""
        self._seqs_ahead: set[int] = set()
        self.on_message: list[Callback] = []
        self.on_change: list[Callback] = []
        """Called with a message's new state when it was edited, deleted or reacted to."""
        self.read_id: int | None = None
        """The last message this person has read here, as the server keeps it (the join
        reply's ``read_id``, moved on by :meth:`mark_read` and by ``read`` events from the
        person's other views); ``None`` before the first join. It only moves forward."""
        self._typing_sent: float | None = None  # monotonic time of the last typing push
        self.channel = socket.channel(f"room:{room}", self._join_params)
        self.channel.on("new_msg", self._on_new_msg)
        self.channel.on("msg_changed", self._on_changed)
        self.channel.on("read", lambda event: self._read_up_to(event.get("read_id")))
        self.channel.on_join.append(self._on_joined)
        self._resend_task: asyncio.Task[None] | None = None
        self._limits: dict[str, Any] = {}

    @property
    def presence(self) -> PresenceView:
        return self.channel.presence

    @property
    def nickname(self) -> str:
        """The author name the server gives this socket's messages (it trims the nickname)."""
        return str(self.socket.params.get("nickname", "")).strip()

    @property
    def server_limits(self) -> Mapping[str, Any]:
        """The ``limits`` of the last join reply (``max_body`` ...), empty before any join.

        The server is the one place its limits are set (``talkex serve --max-body``); callers
        check input against this instead of a copy of the default that the server may not use.
        Read-only, and replaced at every rejoin: a restarted server may have new limits.
        """
        return MappingProxyType(self._limits)

    def _join_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"status": self.status}
        if self.kind:
            params["kind"] = self.kind
        if self.activity:
            params["activity"] = self.activity
        if self.last_seen_id is not None:
            params["last_seen_id"] = self.last_seen_id  # servers without a sequence use this
        if self.last_seen_seq is not None:
            params["last_seen_seq"] = self.last_seen_seq
        return params

    async def join(self, timeout: float | None = None) -> dict[str, Any]:
        return await self.channel.join(timeout)

    def _on_joined(self, response: dict[str, Any]) -> None:
        limits = response.get("limits")
        self._limits = dict(limits) if isinstance(limits, dict) else {}
        self._read_up_to(response.get("read_id"))
        self._typing_sent = None  # the server forgot our throttle when we left
        if response.get("reset"):
            self.messages.clear()
        self.has_more = bool(response.get("has_more")) if not self.messages else self.has_more
        # A catch-up comes in seq order (a message new since the last visit may follow newer
        # ones: it was changed later); broadcasts sent after this reply are handled after it.
        oldest = min(self.messages, default=0)
        messages = [m for m in response.get("messages", []) if isinstance(m.get("id"), int)]
        for message in sorted(messages, key=lambda m: int(m["id"])):
            self._take(message, oldest)
        seq = response.get("seq")
        if isinstance(seq, int):
            self.last_seen_seq = seq
            self._seqs_ahead = {s for s in self._seqs_ahead if s > seq}
            self._advance_seq()
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
        self._saw_seq(payload)

    def _on_changed(self, payload: dict[str, Any]) -> None:
        """A message's new state (a ``msg_changed`` broadcast, or the reply to one's own
        change): see :meth:`_take`."""
        self._saw_seq(payload)
        message_id = payload.get("id")
        if isinstance(message_id, int):
            held = message_id in self.messages
            self._take(payload, 0 if held else min(self.messages, default=0))

    def _take(self, message: dict[str, Any], oldest: int) -> None:
        """A message's state from the server, as the browser takes it (``applyChanges`` in
        ``js/src/lib/changes.js``): it replaces the one held unless that one is as recent; a
        message not held is added unless it is older than every one held (``oldest``, 0 for
        none), which scroll-back will load as it is now. A change to a message that is newer
        than that but not held means its ``new_msg`` never reached us: keeping it is what
        makes the message whole again, since ``last_seen_id`` has moved past it."""
        message_id = message["id"]
        held = self.messages.get(message_id)
        if held is None:
            if message_id > oldest:
                self._add(message)
            return
        if held == message or held.get("seq", 0) > message.get("seq", 0):
            return  # already as recent
        self.messages[message_id] = message
        for callback in self.on_change:
            try:
                callback(message)
            except Exception:
                log.exception("on_change callback failed")

    def _saw_seq(self, payload: dict[str, Any]) -> None:
        seq = payload.get("seq")
        if isinstance(seq, int) and self.last_seen_seq is not None and seq > self.last_seen_seq:
            self._seqs_ahead.add(seq)
            self._advance_seq()

    def _advance_seq(self) -> None:
        seq = self.last_seen_seq
        while seq is not None and seq + 1 in self._seqs_ahead:
            seq += 1
            self._seqs_ahead.discard(seq)
        self.last_seen_seq = seq

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
        self,
        body: str | dict[str, Any],
        *,
        client_id: str | None = None,
        timeout: float | None = None,
    ) -> int:
        """Send and return the message id. On timeout or disconnect the message stays pending
        and is resent after the next rejoin; the exception still tells the caller.

        ``body`` is the text, or a whole ``new_msg`` payload for a shared result
        (``{"kind": "table", ...}``: :mod:`talkex_widget.core.kinds`)."""
        client_id = client_id or uuid.uuid4().hex
        self.pending[client_id] = body
        response = await self._push(client_id, body, timeout)
        self._typing_sent = None  # a message ends our typing: the next keystroke says so again
        return int(response["id"])

    async def _push(
        self, client_id: str, body: str | dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        payload = dict(body) if isinstance(body, dict) else {"body": body}
        payload["client_id"] = client_id
        while True:
            try:
                response = await self.channel.push("new_msg", payload, timeout)
                break
            except PushError as exc:
                retry_after = exc.response.get("retry_after")
                if isinstance(retry_after, (int, float)) and retry_after >= 0:
                    # Refused for now (a rate limit), not for good: wait, then the same again.
                    await asyncio.sleep(min(float(retry_after), MAX_RETRY_AFTER) + 0.01)
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

    async def edit(self, message_id: int, body: str) -> dict[str, Any]:
        """Replace the text of one's own message; returns its new state."""
        return await self._change("edit_msg", {"id": message_id, "body": body})

    async def delete(self, message_id: int) -> dict[str, Any]:
        """Delete one's own message (a hub moderator: anyone's); a tombstone stays."""
        return await self._change("delete_msg", {"id": message_id})

    async def react(self, message_id: int, emoji: str) -> dict[str, Any]:
        """Toggle one's reaction ``emoji`` (one of ``core.changes.REACTIONS``)."""
        return await self._change("react", {"id": message_id, "emoji": emoji})

    async def _change(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Push a change; the reply is the message's new state, held at once (the broadcast
        that follows is the same state and changes nothing)."""
        response = await self.channel.push(event, payload)
        self._on_changed(response)
        return response

    def _read_up_to(self, read_id: object) -> None:
        if not isinstance(read_id, int) or isinstance(read_id, bool):
            return
        if self.read_id is None or read_id > self.read_id:
            self.read_id = read_id

    def unread(self) -> list[dict[str, Any]]:
        """Others' messages held after the read position, oldest first (what the widget
        header counts); all of them before the first join."""
        after = self.read_id if self.read_id is not None else 0
        return [m for m in self.ordered() if m["id"] > after and m.get("author") != self.nickname]

    async def mark_read(self, message_id: int | None = None) -> int:
        """Move the read position to ``message_id`` (default: the latest message held) and
        return the position the server now holds. Forward only: an id at or before the
        position changes nothing and sends nothing. The person's other views hear of it."""
        if message_id is None:
            message_id = max(self.messages, default=0)
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 0:
            raise ValueError(f"mark_read needs a message id (an int >= 0), not {message_id!r}")
        if self.read_id is not None and message_id <= self.read_id:
            return self.read_id
        response = await self.channel.push("read", {"id": message_id})
        self._read_up_to(response.get("read_id"))
        return self.read_id if self.read_id is not None else message_id

    async def typing(self) -> bool:
        """Say that this person is typing ("ann is typing…" for the others, until their next
        message or a few seconds). Call it on every keystroke: it pushes at most once per
        :data:`~talkex_widget.core.limits.TYPING_INTERVAL` (the server drops extras) and
        returns whether it pushed."""
        now = time.monotonic()
        if self._typing_sent is not None and now - self._typing_sent < TYPING_INTERVAL:
            return False
        self._typing_sent = now
        try:
            await self.channel.push("typing", {})
        except BaseException:
            self._typing_sent = None  # not said: the next keystroke may try again
            raise
        return True

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
