"""Stand-ins for what surrounds the transport-free service: a peer and a fake clock."""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from talkex_widget.core.presence import State, sync_diff, sync_state


class FakePeer:
    """A :class:`~talkex_widget.server.members.Peer` that keeps what it is sent."""

    def __init__(
        self,
        nickname: str,
        closed_rooms: dict[str, str] | None = None,
        *,
        moderator: bool = False,
        profile: dict[str, str] | None = None,
    ) -> None:
        self.id = secrets.token_hex(4)
        self.nickname = nickname
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.closed_rooms = closed_rooms or {}
        self.moderator = moderator
        """Rooms this peer may not join, with the reason (as a hub group room would be)."""
        self.profile = profile or {}
        """The presence meta fields a verified identity would give (display name, colour)."""

    def send(self, text: str) -> None:
        self.sent.append(text)

    def close_peer(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def room_refusal(self, room: str) -> str | None:
        return self.closed_rooms.get(room)

    def may_moderate(self) -> bool:
        return self.moderator

    def profile_meta(self) -> dict[str, str]:
        return dict(self.profile)

    def frames(self) -> list[list[Any]]:
        return [orjson.loads(text) for text in self.sent]

    def events(self) -> list[str]:
        return [frame[3] for frame in self.frames()]

    def presence(self) -> State:
        """The presence this peer would build from what it was sent, as phoenix.js does."""
        state: State = {}
        for frame in self.frames():
            if frame[3] == "presence_state":
                state = sync_state(state, frame[4])
            elif frame[3] == "presence_diff":
                state = sync_diff(state, frame[4])
        return state

    def take(self) -> list[list[Any]]:
        """The frames received since the last ``take``."""
        frames = self.frames()
        self.sent.clear()
        return frames


class FakeClock:
    """A :class:`~talkex_widget.server.presence_flush.Scheduler` whose time moves on request."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()

    def call_soon(self, callback: Callable[[], object]) -> None:
        self.call_later(0.0, callback)

    def call_later(self, delay: float, callback: Callable[[], object]) -> None:
        heapq.heappush(self._queue, (self.now + delay, next(self._order), callback))

    @property
    def pending(self) -> list[float]:
        """When the scheduled callbacks are due."""
        return sorted(when for when, _, _ in self._queue)

    def advance(self, seconds: float = 0.0) -> None:
        """Move time on, running every callback due by then, in order."""
        target = self.now + seconds
        while self._queue and self._queue[0][0] <= target:
            when, _, callback = heapq.heappop(self._queue)
            self.now = when
            callback()
        self.now = target
