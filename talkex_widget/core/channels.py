"""Which channel a frame belongs to: the per-socket channel table of Phoenix.

Phoenix keeps, per socket, one channel per joined topic identified by its ``join_ref``. A frame
for a topic is routed to that channel only when its ``join_ref`` matches; a frame carrying an
older ``join_ref`` belongs to a channel that was replaced (phoenix.js rejoins with a new ref)
and is ignored. Keeping this table pure lets the WebSocket handler and the widget's comm relay
share it.
"""

from __future__ import annotations

from enum import Enum

from talkex_widget.core.protocol import PHOENIX_TOPIC, Event, Message

__all__ = ["DEFAULT_MAX_CHANNELS", "ChannelTable", "Route"]

DEFAULT_MAX_CHANNELS = 100


class Route(Enum):
    HEARTBEAT = "heartbeat"
    JOIN = "join"
    """A join of a topic not joined yet on this socket."""
    REJOIN = "rejoin"
    """A join of a topic already joined: Phoenix closes the old channel for the new join."""
    CHANNEL_LIMIT = "channel_limit"
    LEAVE = "leave"
    PUSH = "push"
    STALE = "stale"
    """A frame for a replaced channel: ignored, as Phoenix does."""
    NOT_JOINED = "not_joined"
    SOCKET_EVENT = "socket_event"
    """Something other than a heartbeat on the ``phoenix`` topic."""


class ChannelTable:
    def __init__(self, max_channels: int = DEFAULT_MAX_CHANNELS) -> None:
        self.max_channels = max_channels
        self._join_refs: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self._join_refs)

    def __contains__(self, topic: object) -> bool:
        return topic in self._join_refs

    def topics(self) -> list[str]:
        return list(self._join_refs)

    def join_ref(self, topic: str) -> str | None:
        return self._join_refs.get(topic)

    def route(self, message: Message) -> Route:
        if message.topic == PHOENIX_TOPIC:
            return Route.HEARTBEAT if message.event == Event.HEARTBEAT else Route.SOCKET_EVENT
        joined = message.topic in self._join_refs
        if message.event == Event.JOIN:
            if joined:
                return Route.REJOIN
            if len(self._join_refs) >= self.max_channels:
                return Route.CHANNEL_LIMIT
            return Route.JOIN
        if not joined:
            return Route.NOT_JOINED
        current = self._join_refs[message.topic]
        # A frame without join_ref is accepted for the current channel: older clients
        # (and the V1 serializer) do not send one.
        if message.join_ref is not None and message.join_ref != current:
            return Route.STALE
        return Route.LEAVE if message.event == Event.LEAVE else Route.PUSH

    def add(self, topic: str, join_ref: str | None) -> None:
        self._join_refs[topic] = join_ref

    def remove(self, topic: str) -> None:
        self._join_refs.pop(topic, None)
