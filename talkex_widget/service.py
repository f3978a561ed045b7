"""The chat service: rooms, presence and history behind the Phoenix channel protocol.

Transport-free on purpose: a :class:`Session` takes frame text in and hands frame text to its
:class:`Peer`, so the Tornado WebSocket handler and the widget's comm relay drive the same code.
The backends (history store, pubsub) are injected; nothing here knows which one it talks to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from .channels import DEFAULT_MAX_CHANNELS, ChannelTable, Route
from .history import HistoryStore, StoredMessage
from .presence import PresenceTable
from .protocol import (
    Event,
    Message,
    ProtocolError,
    decode,
    encode,
    error_reply,
    ok_reply,
)
from .pubsub import PubSub
from .rooms import DEFAULT_RULES, RoomError, RoomRules, iso_now, online_meta, room_from_topic

__all__ = ["CATCH_UP_LIMIT", "ChatService", "Peer", "Session"]

log = logging.getLogger("talkex.service")

JOIN_HISTORY = 50
"""Messages a join without ``last_seen_id`` gets: enough to see what the room is about."""
CATCH_UP_LIMIT = 1000
"""Missed messages a rejoin gets; past that the client is told to reset to the latest page."""


class Peer(Protocol):
    """One connected client as the service sees it."""

    id: str
    nickname: str

    def send(self, text: str) -> None:
        """Queue one frame; must not raise when the transport is already gone."""


@dataclass(eq=False)
class Member:
    """One socket's channel in one room."""

    peer: Peer
    room: str
    join_ref: str | None
    phx_ref: str | None = None
    status: str = "online"
    buffer: list[str] | None = field(default_factory=list)
    """Broadcasts that arrive while the join is in flight; ``None`` once the join is done."""

    def deliver(self, text: str) -> None:
        if self.buffer is not None:
            self.buffer.append(text)
        else:
            self.peer.send(text)


class Room:
    def __init__(self, name: str) -> None:
        self.name = name
        self.topic = "room:" + name
        self.members: dict[tuple[str, str], Member] = {}
        self.presence = PresenceTable()

    def deliver(self, _channel: str, text: str) -> None:
        for member in tuple(self.members.values()):
            member.deliver(text)


class ChatService:
    def __init__(
        self,
        history: HistoryStore,
        pubsub: PubSub,
        *,
        rules: RoomRules = DEFAULT_RULES,
        max_channels: int = DEFAULT_MAX_CHANNELS,
    ) -> None:
        self.history = history
        self.pubsub = pubsub
        self.rules = rules
        self.max_channels = max_channels
        self.rooms: dict[str, Room] = {}
        self.sessions: set[Session] = set()
        self._tasks: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        await self.history.start()
        await self.pubsub.start()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pubsub.close()
        await self.history.close()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run cleanup work from a synchronous callback, keeping the task alive until done."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def open_session(self, peer: Peer) -> Session:
        session = Session(self, peer)
        self.sessions.add(session)
        return session

    def stats(self) -> dict[str, int]:
        return {"rooms": len(self.rooms), "connections": len(self.sessions)}

    # -- room operations, each used by Session ------------------------------------------------

    async def join(
        self, peer: Peer, room_name: str, join_ref: str | None, payload: dict[str, Any]
    ) -> tuple[Member, dict[str, Any]]:
        """Add ``peer`` to a room; returns the member and the join reply's response.

        The member is subscribed before history is read, and buffers what is broadcast
        meanwhile, so nothing published between the read and the reply is lost.
        """
        self.rules.room_name(room_name)
        last_seen_id = self.rules.optional_int(payload, "last_seen_id")
        status = self.rules.status(payload) if "status" in payload else "online"
        room = self.rooms.get(room_name)
        if room is None:
            room = self.rooms[room_name] = Room(room_name)
            await self.pubsub.subscribe(room.topic, room.deliver)
        member = Member(peer, room_name, join_ref, status=status)
        room.members[(peer.id, room.topic)] = member
        try:
            response = await self._join_history(room_name, last_seen_id)
        except BaseException:
            await self._drop_member(room, member)
            raise
        return member, response

    async def _join_history(self, room: str, last_seen_id: int | None) -> dict[str, Any]:
        if last_seen_id is not None:
            missed, more = await self.history.after(room, last_seen_id, CATCH_UP_LIMIT)
            if not more:
                return {"messages": _wire(missed), "has_more": False}
            # Too far behind to replay: start over from the latest page, like a fresh join.
            latest, older = await self.history.before(room, None, JOIN_HISTORY)
            return {"messages": _wire(latest), "has_more": older, "reset": True}
        latest, older = await self.history.before(room, None, JOIN_HISTORY)
        return {"messages": _wire(latest), "has_more": older}

    async def after_join(self, member: Member) -> None:
        """Phoenix's ``:after_join``: push the state to the joiner, then track it for everyone."""
        room = self.rooms[member.room]
        state = Message(member.join_ref, None, room.topic, "presence_state", room.presence.state())
        member.peer.send(encode(state))
        buffered, member.buffer = member.buffer or [], None
        for text in buffered:
            member.peer.send(text)
        member.phx_ref, diff = room.presence.track(member.peer.nickname, online_meta(member.status))
        await self._broadcast(room, "presence_diff", diff)

    async def leave(self, member: Member) -> None:
        room = self.rooms.get(member.room)
        if room is None:
            return
        await self._drop_member(room, member)

    async def _drop_member(self, room: Room, member: Member) -> None:
        key = (member.peer.id, room.topic)
        if room.members.get(key) is member:
            del room.members[key]
        if member.phx_ref is not None:
            diff = room.presence.untrack(member.peer.nickname, member.phx_ref)
            member.phx_ref = None
            await self._broadcast(room, "presence_diff", diff)
        if not room.members and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            await self.pubsub.unsubscribe(room.topic, room.deliver)

    async def post(self, member: Member, payload: dict[str, Any]) -> StoredMessage:
        body = self.rules.body(payload)
        client_id = self.rules.client_id(payload)
        stored, created = await self.history.append(
            member.room, member.peer.nickname, body, iso_now(), client_id
        )
        if created:
            room = self.rooms.get(member.room)
            if room is not None:
                await self._broadcast(room, "new_msg", stored.to_wire())
        return stored

    async def set_status(self, member: Member, payload: dict[str, Any]) -> None:
        status = self.rules.status(payload)
        room = self.rooms[member.room]
        if member.phx_ref is None:
            raise RoomError("not tracked yet")
        old = room.presence.get(member.peer.nickname, member.phx_ref) or {}
        meta = {k: v for k, v in old.items() if not k.startswith("phx_ref")}
        meta["status"] = status
        member.status = status
        member.phx_ref, diff = room.presence.update(member.peer.nickname, member.phx_ref, meta)
        await self._broadcast(room, "presence_diff", diff)

    async def older(self, member: Member, payload: dict[str, Any]) -> dict[str, Any]:
        before_id = self.rules.optional_int(payload, "before_id", minimum=1)
        limit = self.rules.history_limit(payload)
        messages, more = await self.history.before(member.room, before_id, limit)
        return {"messages": _wire(messages), "has_more": more}

    async def _broadcast(self, room: Room, event: str, payload: dict[str, Any]) -> None:
        await self.pubsub.publish(
            room.topic, encode(Message(None, None, room.topic, event, payload))
        )


def _wire(messages: list[StoredMessage]) -> list[dict[str, Any]]:
    return [m.to_wire() for m in messages]


class Session:
    """One socket's conversation with the service: routing, replies, and cleanup on close."""

    def __init__(self, service: ChatService, peer: Peer) -> None:
        self.service = service
        self.peer = peer
        self.channels = ChannelTable(service.max_channels)
        self.members: dict[str, Member] = {}
        self.closed = False

    def send(self, message: Message) -> None:
        self.peer.send(encode(message))

    async def receive(self, data: str | bytes) -> None:
        """Handle one incoming frame. Never raises: every failure becomes an answer."""
        if self.closed:
            return
        try:
            message = decode(data)
        except ProtocolError as exc:
            log.info("bad frame from %s (%s): %s", self.peer.id, self.peer.nickname, exc.reason)
            self._answer_protocol_error(exc)
            return
        try:
            await self._dispatch(message)
        except RoomError as exc:
            self.send(error_reply(message, exc.reason))
        except Exception:
            log.exception("error handling %s on %s", message.event, message.topic)
            self.send(error_reply(message, "internal server error"))

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
            stored = await service.post(member, message.payload)
            self.send(ok_reply(message, {"id": stored.id}))
        elif message.event == "new_status":
            await service.set_status(member, message.payload)
            self.send(ok_reply(message))
        elif message.event == "history":
            self.send(ok_reply(message, await service.older(member, message.payload)))
        else:
            self.send(error_reply(message, f"unknown event {message.event!r}"))

    async def close(self) -> None:
        """The transport is gone: leave every room (presence ``leaves`` for the others)."""
        if self.closed:
            return
        self.closed = True
        self.service.sessions.discard(self)
        for topic in list(self.members):
            await self._leave(topic)
