"""The chat service: room membership, posting and history behind the Phoenix channel protocol.

Transport-free on purpose: a :class:`~.session.Session` takes frame text in and hands frame text
to its :class:`~.members.Peer`, so the Tornado WebSocket handler and any other transport drive
the same code. The service hands peers plain text and never builds WebSocket frames; a broadcast
is one ``str`` object given to every member, which the socket side frames once. The backends
(history store, pubsub) are injected; nothing here knows which one it talks to.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from typing import Any

from talkex_widget.backends.history import HistoryStore, StoredMessage
from talkex_widget.backends.pubsub import PubSub
from talkex_widget.core import names
from talkex_widget.core.channels import DEFAULT_MAX_CHANNELS
from talkex_widget.core.kinds import parse_post
from talkex_widget.core.limits import Limits
from talkex_widget.core.presence import Diff
from talkex_widget.core.protocol import Message, encode
from talkex_widget.core.rooms import (
    DEFAULT_RULES,
    RoomError,
    RoomRules,
    iso_now,
    online_meta,
    room_from_topic,
    topic_for,
)
from talkex_widget.core.tracker import Tracker
from talkex_widget.server.changes import apply_push, catch_up
from talkex_widget.server.cluster import NODE_TIMEOUT, PRESENCE_CHANNEL, Cluster
from talkex_widget.server.members import Member, Peer, Room
from talkex_widget.server.presence_flush import PresenceFlush, Scheduler
from talkex_widget.server.reads import READS_CHANNEL, ReadMoved, deliver_read, mark_read
from talkex_widget.server.session import Session
from talkex_widget.server.typing import TypingFlush

# PRESENCE_CHANNEL lives in .cluster; tests import it from here, where it was first.
__all__ = ["CATCH_UP_LIMIT", "JOIN_HISTORY", "PRESENCE_CHANNEL", "ChatService"]

JOIN_HISTORY = 50
"""Messages a join without ``last_seen_id`` gets: enough to see what the room is about."""
CATCH_UP_LIMIT = 1000
"""Missed messages a rejoin gets; past that the client is told to reset to the latest page."""


class ChatService:
    """Rooms, presence and history for the sockets of one server process (a node).

    Broadcasts reach this node's members directly and the other nodes through the
    :class:`~.cluster.Cluster`. Presence changes reach local members in batches
    (:class:`~.presence_flush.PresenceFlush`, timed by ``scheduler``).
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
        node_timeout: float = NODE_TIMEOUT,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.history = history
        self.rules = rules
        self.max_channels = max_channels
        self.limits = limits or Limits()
        self.tracker = Tracker(node or f"{socket.gethostname()}-{os.getpid()}")
        self.rooms: dict[str, Room] = {}
        self.sessions: set[Session] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self.presence = PresenceFlush(self.rooms, self.tracker.state, scheduler)
        self.typing = TypingFlush(self.rooms, self.presence.scheduler, self._broadcast_typing)
        self.cluster = Cluster(
            pubsub,
            self.tracker,
            on_diff=self.presence.add_diff,
            spawn=self.spawn,
            node_timeout=node_timeout,
        )

    @property
    def node(self) -> str:
        return self.tracker.node

    @property
    def pubsub(self) -> PubSub:
        """The cluster's pubsub, also carrying this node's room subscriptions."""
        return self.cluster.pubsub

    def client_limits(self) -> dict[str, int]:
        """The limits a client should check before sending, told in every join reply."""
        return {
            "max_body": self.rules.max_body,
            "max_activity": self.rules.max_activity,
            "max_attachment": self.rules.max_attachment,
        }

    async def start(self) -> None:
        names.load()  # the look-alike check's map: read once now, not at the first join
        await self.history.start()
        await self.pubsub.start()
        await self.cluster.start()
        await self.pubsub.subscribe(READS_CHANNEL, self._on_read_moved)

    async def close(self) -> None:
        await self.cluster.close()
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
        """Counts for ``/healthz``; ``pubsub_rejected`` is what arrived on the pubsub without
        this cluster's signature and was dropped (a forgery, or a node with another secret)."""
        return {
            "rooms": len(self.rooms),
            "connections": len(self.sessions),
            "pubsub_rejected": self.pubsub.rejected,
        }

    # -- room operations, each used by Session ------------------------------------------------

    async def join(
        self, peer: Peer, room_name: str, join_ref: str | None, payload: dict[str, Any]
    ) -> tuple[Member, dict[str, Any]]:
        """Add ``peer`` to a room; returns the member and the join reply's response.

        The member is subscribed before history is read, and buffers what is broadcast
        meanwhile, so nothing published between the read and the reply is lost. A nickname
        that looks like someone else's in the room is refused first (see :meth:`_check_name`).
        """
        self.rules.room_name(room_name)
        last_seen_id = self.rules.optional_int(payload, "last_seen_id")
        last_seen_seq = self.rules.optional_int(payload, "last_seen_seq")
        status = self.rules.status(payload) if "status" in payload else "online"
        activity = self.rules.activity(payload)
        kind = self.rules.kind(payload)
        self._check_name(peer.nickname, room_name)
        room = self.rooms.get(room_name)
        if room is None:
            room = self.rooms[room_name] = Room(room_name)
            await self.pubsub.subscribe(room.topic, self._on_room_frame)
        member = Member(peer, room_name, join_ref, status=status, activity=activity, kind=kind)
        room.members[(peer.id, room.topic)] = member
        room.joining.add(peer.nickname)
        try:
            response = await self._join_history(
                room_name, peer.nickname, last_seen_id, last_seen_seq
            )
        except BaseException:
            await self._drop_member(room, member)
            raise
        response["limits"] = self.client_limits()
        if peer.may_moderate():
            response["moderator"] = True  # the view offers to delete anyone's message
        return member, response

    def _check_name(self, nickname: str, room_name: str) -> None:
        """Refuse a nickname confusable with a *different* one present in the room.

        With a shared token the typed name is all that says who someone is, so ``Adа`` (a
        Cyrillic ``а``) beside Ada would pass for her. Present means the tracker's keys for the
        topic, so people on every node count, plus this node's members still joining (not
        tracked until their reply is sent). The same name again is the same person in
        another tab, never refused.
        """
        table = self.tracker.tables.get(topic_for(room_name))
        room = self.rooms.get(room_name)
        if (table is not None and nickname in table) or (room and nickname in room.joining):
            return  # the same person again
        other = table.names.look_alike(nickname) if table is not None else None
        if other is None and room is not None:
            other = room.joining.look_alike(nickname)
        if other is not None:
            raise RoomError(f"nickname {nickname!r} looks like {other}, who is here")

    async def _join_history(
        self, room: str, person: str, last_seen_id: int | None, last_seen_seq: int | None
    ) -> dict[str, Any]:
        """The join reply's history: with ``last_seen_seq`` the messages new or changed since
        (in ``seq`` order, see :mod:`.changes`), else with ``last_seen_id`` the messages after
        it (older clients), else the latest page. Every answer carries the room's ``seq`` and
        ``person``'s read position (``read_id``)."""
        history = self.history
        if last_seen_seq is not None:
            changed, more, seq = await catch_up(history, room, last_seen_seq, CATCH_UP_LIMIT)
            if not more:
                return await self._caught_up(room, person, changed, seq)
        elif last_seen_id is not None:
            seq = await history.last_seq(room)  # before the page: later changes are broadcast
            missed, more = await history.after(room, last_seen_id, CATCH_UP_LIMIT)
            if not more:
                return await self._caught_up(room, person, missed, seq)
        page = await history.latest_page(room, person, JOIN_HISTORY)
        response = {
            "messages": _wire(page.messages),
            "has_more": page.has_more,
            "seq": page.seq,
            "read_id": page.read_id,
        }
        if last_seen_id is not None or last_seen_seq is not None:
            response["reset"] = True  # too far behind to replay: start over from the latest page
        return response

    async def _caught_up(
        self, room: str, person: str, messages: list[StoredMessage], seq: int
    ) -> dict[str, Any]:
        """The reply of a rejoin that gets every message it missed."""
        read_id = await self.history.read_position(room, person)
        return {"messages": _wire(messages), "has_more": False, "seq": seq, "read_id": read_id}

    async def after_join(self, member: Member) -> None:
        """Phoenix's ``:after_join``: the joiner gets the state, then is tracked for everyone.

        Batched: the joiner is tracked now, and at the room's next presence flush it is sent
        the state the others held before that flush, what was broadcast meanwhile, then the
        flush's diff, its own join included (see :meth:`PresenceFlush.flush`).
        """
        room = self.rooms.get(member.room)
        if room is not None:
            room.joining.discard(member.peer.nickname)
        meta = online_meta(member.status, activity=member.activity, kind=member.kind)
        meta.update(member.peer.profile_meta())  # kept by status updates, which copy the meta
        topic = member.topic
        member.phx_ref, diff, delta = self.tracker.track(topic, member.peer.nickname, meta)
        self.presence.add_joiner(member)
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
            self.typing.forget(member)
            if member.phx_ref is None:
                room.joining.discard(member.peer.nickname)  # left before it was tracked
        if member.phx_ref is not None:
            diff, delta = self.tracker.untrack(room.topic, member.peer.nickname, member.phx_ref)
            member.phx_ref = None
            await self._presence_changed(room.topic, diff, delta)
        if not room.members and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            await self.pubsub.unsubscribe(room.topic, self._on_room_frame)

    async def post(self, member: Member, payload: dict[str, Any]) -> StoredMessage:
        # A message ends its author's typing for the others: typing again may say so at once.
        self.typing.forget(member)
        post = parse_post(payload, self.rules)  # text, or a shared table, code or figure
        client_id = self.rules.client_id(payload)
        stored, created = await self.history.append(
            member.room,
            member.peer.nickname,
            post.body,
            iso_now(),
            client_id,
            content=post.content,
            attachment=post.attachment,
        )
        if created:
            await self._broadcast(member.room, "new_msg", stored.to_wire())
        return stored

    async def change(self, member: Member, event: str, payload: dict[str, Any]) -> StoredMessage:
        """An ``edit_msg``, ``delete_msg`` or ``react`` push (see :mod:`.changes`); a change
        that happened is broadcast as ``msg_changed`` with the message's new state."""
        stored, changed = await apply_push(
            self.history,
            self.rules,
            member.room,
            member.peer.nickname,
            event,
            payload,
            moderator=event == "delete_msg" and member.peer.may_moderate(),
        )
        if changed:
            await self._broadcast(member.room, "msg_changed", stored.to_wire())
        return stored

    async def set_status(self, member: Member, payload: dict[str, Any]) -> None:
        status = self.rules.status(payload)
        activity = self.rules.activity(payload)
        if member.phx_ref is None:
            raise RoomError("not tracked yet")
        topic = member.topic
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

    async def mark_read(self, member: Member, payload: dict[str, Any]) -> int:
        """``read {id}``: the position now held; the person's other connections, here and on
        the other nodes, are told when it moved (see :mod:`.reads`)."""
        position, moved = await mark_read(self.history, self.rules, member, payload)
        if moved:
            person = member.peer.nickname
            deliver_read(self.rooms.get(member.room), person, position, exclude=member)
            moved_event = ReadMoved(self.node, member.room, person, position)
            await self.cluster.publish(READS_CHANNEL, moved_event.encode())
        return position

    def _on_read_moved(self, _channel: str, data: str) -> None:
        event = ReadMoved.decode(data)
        if event is not None and event.node != self.node:
            deliver_read(self.rooms.get(event.room), event.person, event.read_id)

    def typing_started(self, member: Member) -> None:
        """``member`` is typing: its name goes out with the room's next ``typing`` batch,
        unless it was passed on less than :data:`~.typing.TYPING_INTERVAL` ago."""
        self.typing.add(member)

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
        await self.cluster.publish_room(topic, text)

    def _broadcast_typing(self, room_name: str, names: list[str]) -> None:
        self.spawn(self._broadcast(room_name, "typing", {"names": names}))

    def _on_room_frame(self, channel: str, data: str) -> None:
        text = self.cluster.room_text(data)
        name = room_from_topic(channel)
        room = None if name is None else self.rooms.get(name)
        if text is not None and room is not None:
            room.deliver(text)

    async def _presence_changed(self, topic: str, diff: Diff, delta: dict[str, Any]) -> None:
        self.presence.add_diff(topic, diff)
        await self.cluster.publish_delta(delta)


def _wire(messages: list[StoredMessage]) -> list[dict[str, Any]]:
    return [m.to_wire() for m in messages]
