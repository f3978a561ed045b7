"""Typing indicators: ephemeral, throttled per sender, batched per room window.

"ann is typing…" is worth a frame to every member only if it stays cheap in a busy room, so:

* nothing is stored: a ``typing`` push is passed on and forgotten, and clients drop a name by
  themselves :data:`TYPING_TTL` seconds after its last event (or when its message arrives),
  so a lost "stopped typing" can never leave a name stuck;
* a sender's pushes count at most once per :data:`TYPING_INTERVAL` seconds (clients send no
  more often, so extra pushes come only from a misbehaving client and are acknowledged but
  dropped);
* a room's typists go out together, like its presence: the first after a quiet window at once,
  the next ones gathered until the window (:func:`~talkex_widget.core.presence_batch.batch_window`)
  ends, as one ``typing {names}`` broadcast encoded once, which reaches the other nodes too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from talkex_widget.core.limits import TYPING_INTERVAL, TYPING_TTL
from talkex_widget.core.presence_batch import batch_window
from talkex_widget.server.members import Member, Room
from talkex_widget.server.presence_flush import Scheduler

__all__ = ["TYPING_INTERVAL", "TYPING_TTL", "TypingFlush"]


class TypingFlush:
    """The typists of every local room since its last ``typing`` broadcast.

    ``rooms`` is the service's live map of local rooms; ``broadcast(room, names)`` sends one
    ``typing`` event to the room on every node.
    """

    def __init__(
        self,
        rooms: Mapping[str, Room],
        scheduler: Scheduler,
        broadcast: Callable[[str, list[str]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rooms = rooms
        self.scheduler = scheduler
        self.broadcast = broadcast
        self.clock = clock
        self.pending: dict[str, list[str]] = {}
        """Per room with an open window: the names gathered for its next broadcast."""
        self._last: dict[tuple[str, str], float] = {}  # (peer id, room) -> last passed on

    def add(self, member: Member) -> bool:
        """``member`` is typing; ``False`` if its sender is over the rate (nothing is sent)."""
        key = (member.peer.id, member.room)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < TYPING_INTERVAL:
            return False
        self._last[key] = now
        name = member.peer.nickname
        names = self.pending.get(member.room)
        if names is None:
            self.pending[member.room] = [name]
            self.scheduler.call_soon(lambda: self.flush(member.room))
        elif name not in names:
            names.append(name)
        return True

    def forget(self, member: Member) -> None:
        """``member`` left the room: its throttle entry goes (a rejoin may type at once)."""
        self._last.pop((member.peer.id, member.room), None)

    def flush(self, room_name: str) -> None:
        """Send what the window gathered, then gather the next typists for one window."""
        names = self.pending.get(room_name)
        room = self.rooms.get(room_name)
        if not names or room is None:
            self.pending.pop(room_name, None)  # a quiet window: the next typist goes at once
            return
        self.pending[room_name] = []
        self.scheduler.call_later(batch_window(len(room.members)), lambda: self.flush(room_name))
        self.broadcast(room_name, names)
