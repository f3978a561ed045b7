"""One socket's conversation with the service: routing, replies, and cleanup on close.

A :class:`Session` turns each incoming frame into exactly one answer (a reply, an error, or a
close for a flood) and calls the :class:`~.service.ChatService` for the room work. Never
raising is the point: a bad frame costs its sender an error reply, not the socket.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from talkex_widget.core.channels import ChannelTable, Route
from talkex_widget.core.limits import CloseCode, TokenBucket
from talkex_widget.core.protocol import (
    Event,
    Message,
    ProtocolError,
    decode,
    encode,
    error_reply,
    ok_reply,
)
from talkex_widget.core.rooms import RoomError, room_from_topic
from talkex_widget.server.attachment_push import attachment_reply
from talkex_widget.server.changes import CHANGE_EVENTS
from talkex_widget.server.members import Member, Peer

if TYPE_CHECKING:
    from talkex_widget.server.service import ChatService

__all__ = ["Session"]

log = logging.getLogger("talkex.session")


class Session:
    """One socket's conversation with the service: routing, replies, and cleanup on close."""

    def __init__(self, service: ChatService, peer: Peer) -> None:
        self.service = service
        self.peer = peer
        self.channels = ChannelTable(service.max_channels)
        self.members: dict[str, Member] = {}
        self.closed = False
        limits = service.limits
        self.frames = TokenBucket(limits.frames_per_window, limits.frame_window)
        self.messages = TokenBucket(limits.messages_per_window, limits.message_window)

    def send(self, message: Message) -> None:
        self.peer.send(encode(message))

    async def receive(self, data: str | bytes) -> None:
        """Handle one incoming frame. Never raises: every failure becomes an answer."""
        if self.closed:
            return
        if not self.frames.take():
            log.warning("closing %s (%s): flood", self.peer.id, self.peer.nickname)
            self.peer.close_peer(CloseCode.POLICY, "flood: too many frames, slow down")
            await self.close()
            return
        too_big = len(data) > self.service.limits.max_frame_bytes  # closed below, unless a figure
        try:
            message = decode(data)
        except ProtocolError as exc:
            if too_big and await self._close_too_big(None):
                return
            log.info("bad frame from %s (%s): %s", self.peer.id, self.peer.nickname, exc.reason)
            self._answer_protocol_error(exc)
            return
        if too_big and await self._close_too_big(message):
            return
        try:
            await self._dispatch(message)
        except RoomError as exc:
            details = {} if exc.retry_after is None else {"retry_after": exc.retry_after}
            self.send(error_reply(message, exc.reason, **details))
        except Exception:
            log.exception("error handling %s on %s", message.event, message.topic)
            self.send(error_reply(message, "internal server error"))

    async def _close_too_big(self, message: Message | None) -> bool:
        """Close with 1009 a frame over ``--max-frame-bytes`` unless it is a figure's
        ``new_msg``: the socket takes frames big enough for ``--max-attachment`` (see
        :func:`~.app.frame_bytes`), and only an image may use that room. Called for big
        frames only: every other frame is spared a coroutine."""
        if message is not None and message.event == "new_msg" and _is_figure(message.payload):
            return False
        self.peer.close_peer(CloseCode.TOO_BIG, "frame too large")
        await self.close()
        return True

    def _answer_protocol_error(self, exc: ProtocolError) -> None:
        reason = f"invalid frame: {exc.reason}"
        if exc.topic is not None:
            self.send(
                Message(
                    exc.join_ref,
                    exc.ref,
                    exc.topic,
                    Event.REPLY.value,
                    {"status": "error", "response": {"reason": reason}},
                )
            )
        else:
            self.send(Message(None, exc.ref, "phoenix", Event.ERROR.value, {"reason": reason}))

    async def _dispatch(self, message: Message) -> None:
        route = self.channels.route(message)
        if route is Route.HEARTBEAT:
            self.send(ok_reply(message))
        elif route is Route.SOCKET_EVENT:
            self.send(error_reply(message, f"unknown event {message.event!r} on topic phoenix"))
        elif route in (Route.JOIN, Route.REJOIN):
            await self._join(message, replacing=route is Route.REJOIN)
        elif route is Route.CHANNEL_LIMIT:
            self.send(
                error_reply(
                    message,
                    f"too many channels on this socket (limit {self.channels.max_channels})",
                )
            )
        elif route is Route.NOT_JOINED:
            if message.event == Event.LEAVE:
                self.send(ok_reply(message))
            else:
                self.send(error_reply(message, f"not joined to {message.topic}; join it first"))
        elif route is Route.STALE:
            log.debug("ignoring %s for stale join_ref %s", message.event, message.join_ref)
        elif route is Route.LEAVE:
            await self._leave(message.topic)
            self.send(ok_reply(message))
        else:
            await self._push(message)

    async def _join(self, message: Message, *, replacing: bool) -> None:
        if replacing:
            await self._leave(message.topic)
        room_name = room_from_topic(message.topic)
        if room_name is None:
            self.send(error_reply(message, "unmatched topic"))
            return
        refusal = self.peer.room_refusal(room_name)
        if refusal is not None:
            self.send(error_reply(message, refusal))
            return
        self.channels.add(message.topic, message.join_ref)
        try:
            member, response = await self.service.join(
                self.peer, room_name, message.join_ref, message.payload
            )
        except BaseException:
            self.channels.remove(message.topic)
            raise
        if self.closed:
            await self.service.leave(member)
            return
        self.members[message.topic] = member
        self.send(ok_reply(message, response))
        await self.service.after_join(member)

    async def _leave(self, topic: str) -> None:
        self.channels.remove(topic)
        member = self.members.pop(topic, None)
        if member is not None:
            await self.service.leave(member)

    async def _push(self, message: Message) -> None:
        member = self.members.get(message.topic)
        if member is None:  # joined in the table but the join is still in flight
            self.send(error_reply(message, "join in progress; wait for the join reply"))
            return
        service = self.service
        if message.event == "new_msg":
            self._take_message_slot()
            stored = await service.post(member, message.payload)
            self.send(ok_reply(message, {"id": stored.id}))
        elif message.event in CHANGE_EVENTS:
            self._take_message_slot()
            stored = await service.change(member, message.event, message.payload)
            self.send(ok_reply(message, stored.to_wire()))
        elif message.event == "attachment":
            reply = await attachment_reply(service.history, member, message.payload)
            self.send(ok_reply(message, reply))
        elif message.event == "new_status":
            await service.set_status(member, message.payload)
            self.send(ok_reply(message))
        elif message.event == "history":
            self.send(ok_reply(message, await service.older(member, message.payload)))
        elif message.event == "typing":
            service.typing_started(member)
            self.send(ok_reply(message))
        elif message.event == "read":
            read_id = await service.mark_read(member, message.payload)
            self.send(ok_reply(message, {"read_id": read_id}))
        else:
            self.send(error_reply(message, f"unknown event {message.event!r}"))

    def _take_message_slot(self) -> None:
        """Posts, and edits and reactions alike: each one is stored and broadcast."""
        if not self.messages.take():
            limits = self.service.limits
            raise RoomError(
                f"you are sending too fast (limit {limits.messages_per_window} messages "
                f"per {limits.message_window:g} s)",
                retry_after=round(self.messages.wait(), 3),
            )

    async def close(self) -> None:
        """The transport is gone: leave every room (presence ``leaves`` for the others)."""
        if self.closed:
            return
        self.closed = True
        self.service.sessions.discard(self)
        for topic in list(self.members):
            await self._leave(topic)


def _is_figure(payload: object) -> bool:
    return isinstance(payload, dict) and payload.get("kind") == "figure"
