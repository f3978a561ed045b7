"""The chat service: rooms, presence and history behind the Phoenix channel protocol.

Transport-free on purpose: a :class:`Session` takes frame text in and hands frame text to its
:class:`Peer`, so the Tornado WebSocket handler and the widget's comm relay drive the same code.
The backends (history store, pubsub) are injected; nothing here knows which one it talks to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from talkex_widget.backends.history import HistoryStore, StoredMessage
from talkex_widget.backends.pubsub import PubSub
from talkex_widget.core.channels import DEFAULT_MAX_CHANNELS, ChannelTable, Route
from talkex_widget.core.limits import CloseCode, Limits, TokenBucket
from talkex_widget.core.presence import Diff, is_empty
from talkex_widget.core.presence_batch import DiffBatch, batch_window
from talkex_widget.core.protocol import (
    Event,
    Message,
    ProtocolError,
    decode,
    encode,
    error_reply,
    ok_reply,
)
from talkex_widget.core.rooms import (
    DEFAULT_RULES,
    TOPIC_PREFIX,
    RoomError,
    RoomRules,
    iso_now,
    online_meta,
    room_from_topic,
    topic_for,
)
from talkex_widget.core.tracker import Tracker
from talkex_widget.server.framing import Broadcast

__all__ = ["CATCH_UP_LIMIT", "PRESENCE_CHANNEL", "ChatService", "Peer", "Session"]

log = logging.getLogger("talkex.service")

JOIN_HISTORY = 50
"""Messages a join without ``last_seen_id`` gets: enough to see what the room is about."""
PRESENCE_CHANNEL = "talkex:presence"
"""Pubsub channel for the trackers of all nodes: deltas, heartbeats, state syncs."""
CATCH_UP_LIMIT = 1000
"""Missed messages a rejoin gets; past that the client is told to reset to the latest page."""


class Peer(Protocol):
    """One connected client as the service sees it."""

    id: str
    nickname: str

    def send(self, text: str) -> None:
        """Queue one frame; must not raise when the transport is already gone."""

    def close_peer(self, code: int, reason: str) -> None:
        """Close the transport (flood, policy); the session is closed after it."""


@dataclass(eq=False)
class Member:
    """One socket's channel in one room."""

    peer: Peer
    room: str
    join_ref: str | None
    phx_ref: str | None = None
    status: str = "online"
    activity: str | None = None
    buffer: list[str] | None = field(default_factory=list)
    """Broadcasts that arrive before this member has its ``presence_state``; ``None`` after."""

    def deliver(self, text: str) -> None:
        if self.buffer is not None:
            self.buffer.append(text)
        else:
            self.peer.send(text)


class Room:
    """The local members of one room; presence lives in the node-wide tracker."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.topic = topic_for(name)
        self.members: dict[tuple[str, str], Member] = {}

    def deliver(self, text: str) -> None:
        """The same frame to every member: encoded and framed once (see :class:`Broadcast`)."""
        frame = text if isinstance(text, Broadcast) else Broadcast(text)
        for member in tuple(self.members.values()):
            member.deliver(frame)


@dataclass(eq=False)
class PresenceBatch:
    """A room's presence changes awaiting its next flush (``ChatService._flush_presence``)."""

    diffs: DiffBatch = field(default_factory=DiffBatch)
    joiners: list[Member] = field(default_factory=list)
    """Members tracked since the last flush, still waiting for their ``presence_state``."""


class ChatService:
    """Rooms, presence and history for the sockets of one server process (a node).

    Broadcasts reach this node's members directly and the other nodes through the pubsub,
    tagged with this node's name so nobody receives its own broadcast twice. Local delivery
    never waits on the pubsub: if Redis goes away, rooms keep working on each node.
    """

    def __init__(
        self,
        history: HistoryStore,
        pubsub: PubSub,
        *,
        rules: RoomRules = DEFAULT_RULES,
        max_channels: int = DEFAULT_MAX_CHANNELS,
        limits: Limits | None = None,
        node: str | None = None,
        node_timeout: float = 30.0,
    ) -> None:
        self.history = history
        self.pubsub = pubsub
        self.rules = rules
        self.max_channels = max_channels
        self.limits = limits or Limits()
        self.node_timeout = node_timeout
        self.tracker = Tracker(node or f"{socket.gethostname()}-{os.getpid()}")
        self.rooms: dict[str, Room] = {}
        self.sessions: set[Session] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._presence_batches: dict[str, PresenceBatch] = {}

    @property
    def node(self) -> str:
        return self.tracker.node

    async def start(self) -> None:
        await self.history.start()
        await self.pubsub.start()
        await self.pubsub.subscribe(PRESENCE_CHANNEL, self._on_presence)
        await self._publish(PRESENCE_CHANNEL, orjson.dumps(self.tracker.heartbeat()).decode())
        self._heartbeat = asyncio.ensure_future(self._heartbeat_loop())

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
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
        activity = self.rules.activity(payload)
        room = self.rooms.get(room_name)
        if room is None:
            room = self.rooms[room_name] = Room(room_name)
            await self.pubsub.subscribe(room.topic, self._on_room_frame)
        member = Member(peer, room_name, join_ref, status=status, activity=activity)
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
        """Phoenix's ``:after_join``: the joiner gets the state, then is tracked for everyone.

        Batched: the joiner is tracked now, and at the room's next presence flush it is sent
        the state the others held before that flush, what was broadcast meanwhile, then the
        flush's diff, its own join included (see :meth:`_flush_presence`).
        """
        topic = topic_for(member.room)
        member.phx_ref, diff, delta = self.tracker.track(
            topic, member.peer.nickname, online_meta(member.status, activity=member.activity)
        )
        batch = self._presence_batch(topic)
        if batch is not None:
            batch.joiners.append(member)
        await self._presence_changed(topic, diff, delta)

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
            diff, delta = self.tracker.untrack(room.topic, member.peer.nickname, member.phx_ref)
            member.phx_ref = None
            await self._presence_changed(room.topic, diff, delta)
        if not room.members and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            await self.pubsub.unsubscribe(room.topic, self._on_room_frame)

    async def post(self, member: Member, payload: dict[str, Any]) -> StoredMessage:
        body = self.rules.body(payload)
        client_id = self.rules.client_id(payload)
        stored, created = await self.history.append(
            member.room, member.peer.nickname, body, iso_now(), client_id
        )
        if created:
            await self._broadcast(member.room, "new_msg", stored.to_wire())
        return stored

    async def set_status(self, member: Member, payload: dict[str, Any]) -> None:
        status = self.rules.status(payload)
        activity = self.rules.activity(payload)
        topic = topic_for(member.room)
        if member.phx_ref is None:
            raise RoomError("not tracked yet")
        old = self.tracker.get(topic, member.peer.nickname, member.phx_ref) or {}
        meta = {k: v for k, v in old.items() if not k.startswith("phx_ref") and k != "activity"}
        meta["status"] = status
        if activity:
            meta["activity"] = activity
        member.status, member.activity = status, activity
        member.phx_ref, diff, delta = self.tracker.update(
            topic, member.peer.nickname, member.phx_ref, meta
        )
        await self._presence_changed(topic, diff, delta)

    async def older(self, member: Member, payload: dict[str, Any]) -> dict[str, Any]:
        before_id = self.rules.optional_int(payload, "before_id", minimum=1)
        limit = self.rules.history_limit(payload)
        messages, more = await self.history.before(member.room, before_id, limit)
        return {"messages": _wire(messages), "has_more": more}

    # -- fan-out ------------------------------------------------------------------------------

    async def _broadcast(self, room_name: str, event: str, payload: dict[str, Any]) -> None:
        """Encode once; deliver here, then hand the same text to the other nodes."""
        topic = topic_for(room_name)
        text = encode(Message(None, None, topic, event, payload))
        room = self.rooms.get(room_name)
        if room is not None:
            room.deliver(text)
        await self._publish(topic, f"{self.node}\n{text}")

    def _on_room_frame(self, channel: str, data: str) -> None:
        node, _, text = data.partition("\n")
        if node == self.node:
            return
        room = self.rooms.get(channel[len(TOPIC_PREFIX) :])
        if room is not None:
            room.deliver(text)

    async def _presence_changed(self, topic: str, diff: Diff, delta: dict[str, Any]) -> None:
        self._deliver_diff(topic, diff)
        await self._publish(PRESENCE_CHANNEL, orjson.dumps(delta).decode())

    def _deliver_diff(self, topic: str, diff: Diff) -> None:
        """Every presence change of a room goes out with its next batch, never on its own."""
        if not is_empty(diff):
            batch = self._presence_batch(topic)
            if batch is not None:
                batch.diffs.add(diff)

    # -- presence batching ----------------------------------------------------------------------
    #
    # One join delivered to every member makes a join storm of N people cost N²/2 frames. So
    # a room sends presence at most once per window (batch_window): the first change
    # after a quiet window goes out at once, the changes that follow are gathered until the
    # window ends and go out as one merged diff, encoded once and sent once to each member.
    # Joiners of a window share one presence_state: the state the members held before the
    # merged diff, followed by that diff. A member never receives a diff before its state, so
    # every view is the tracker's state as of the last flush.

    def _presence_batch(self, topic: str) -> PresenceBatch | None:
        """The room's pending batch; a room without one gets one, flushed at once."""
        batch = self._presence_batches.get(topic)
        if batch is None:
            if topic[len(TOPIC_PREFIX) :] not in self.rooms:
                return None  # no local member to tell
            batch = self._presence_batches[topic] = PresenceBatch()
            asyncio.get_running_loop().call_soon(self._flush_presence, topic)
        return batch

    def _flush_presence(self, topic: str) -> None:
        """Send what the batch gathered, then hold the next changes for one window."""
        batch = self._presence_batches.get(topic)
        room = self.rooms.get(topic[len(TOPIC_PREFIX) :])
        if batch is None or room is None or not (batch.diffs or batch.joiners):
            self._presence_batches.pop(topic, None)  # a quiet window: the next change is sent now
            return
        self._presence_batches[topic] = PresenceBatch()
        window = batch_window(len(room.members))
        asyncio.get_running_loop().call_later(window, self._flush_presence, topic)
        diff = batch.diffs.diff()
        diff_frame = None
        if not is_empty(diff):
            diff_frame = Broadcast(encode(Message(None, None, topic, "presence_diff", diff)))
            for member in tuple(room.members.values()):
                if member.buffer is None:  # joined members only; joiners get it after the state
                    member.peer.send(diff_frame)
        state: str | None = None
        for member in batch.joiners:
            if member.buffer is None or room.members.get((member.peer.id, topic)) is not member:
                continue  # left (or rejoined) before the flush
            if state is None:  # encoded once; only the join_ref differs between joiners
                state = orjson.dumps(batch.diffs.rewind(self.tracker.state(topic))).decode()
            head = orjson.dumps([member.join_ref, None, topic, "presence_state"]).decode()
            member.peer.send(f"{head[:-1]},{state}]")
            buffered, member.buffer = member.buffer, None
            for text in buffered:
                member.peer.send(text)
            if diff_frame is not None:
                member.peer.send(diff_frame)

    def _on_presence(self, _channel: str, data: str) -> None:
        try:
            message = orjson.loads(data)
            deliveries, outgoing = self.tracker.receive(message, time.monotonic())
        except Exception:
            log.exception("bad presence message from the pubsub: %.200s", data)
            return
        for topic, diff in deliveries:
            self._deliver_diff(topic, diff)
        for reply in outgoing:
            self.spawn(self._publish(PRESENCE_CHANNEL, orjson.dumps(reply).decode()))

    async def _heartbeat_loop(self) -> None:
        interval = max(0.05, self.node_timeout / 3)
        while True:
            await asyncio.sleep(interval)
            for topic, diff in self.tracker.expire(time.monotonic(), self.node_timeout):
                log.warning("presence of a silent node removed from %s", topic)
                self._deliver_diff(topic, diff)
            await self._publish(PRESENCE_CHANNEL, orjson.dumps(self.tracker.heartbeat()).decode())

    async def _publish(self, channel: str, data: str) -> None:
        try:
            await self.pubsub.publish(channel, data)
        except Exception as exc:  # the pubsub is down: local rooms carry on
            # A known outage was logged once by the pubsub: not one line per broadcast.
            level = logging.WARNING if self.pubsub.healthy else logging.DEBUG
            log.log(level, "pubsub publish on %s failed: %s", channel, exc)


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
        try:
            message = decode(data)
        except ProtocolError as exc:
            log.info("bad frame from %s (%s): %s", self.peer.id, self.peer.nickname, exc.reason)
            self._answer_protocol_error(exc)
            return
        try:
            await self._dispatch(message)
        except RoomError as exc:
            details = {} if exc.retry_after is None else {"retry_after": exc.retry_after}
            self.send(error_reply(message, exc.reason, **details))
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
            if not self.messages.take():
                limits = service.limits
                raise RoomError(
                    f"you are sending too fast (limit {limits.messages_per_window} messages "
                    f"per {limits.message_window:g} s)",
                    retry_after=round(self.messages.wait(), 3),
                )
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
