"""Presence batching: when each room's gathered presence changes go out, and to whom.

One join delivered to every member makes a join storm of N people cost N²/2 frames. So a room
sends presence at most once per window (:func:`~talkex_widget.core.presence_batch.batch_window`):
the first change after a quiet window goes out at once, the changes that follow are gathered
until the window ends and go out as one merged diff, encoded once and sent once to each member.
Joiners of a window share one ``presence_state``: the state the members held before the merged
diff, followed by that diff. A member never receives a diff before its state, so every view is
the tracker's state as of the last flush.

The timing comes from an injected :class:`Scheduler` (the running asyncio loop by default), so
tests drive the windows with a fake clock instead of waiting on real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from talkex_widget.core.presence import Diff, State, is_empty
from talkex_widget.core.presence_batch import DiffBatch, batch_window
from talkex_widget.core.protocol import Message, encode
from talkex_widget.core.rooms import room_from_topic
from talkex_widget.server.members import Member, Room

__all__ = ["PresenceBatch", "PresenceFlush", "RunningLoop", "Scheduler"]


class Scheduler(Protocol):
    """The two calls of an asyncio loop that presence batching needs."""

    def call_soon(self, callback: Callable[[], object]) -> object: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> object: ...


class RunningLoop:
    """The running asyncio loop, looked up at each call: the service may be built outside it."""

    def call_soon(self, callback: Callable[[], object]) -> object:
        return asyncio.get_running_loop().call_soon(callback)

    def call_later(self, delay: float, callback: Callable[[], object]) -> object:
        return asyncio.get_running_loop().call_later(delay, callback)


@dataclass(eq=False)
class PresenceBatch:
    """A room's presence changes awaiting its next flush."""

    diffs: DiffBatch = field(default_factory=DiffBatch)
    joiners: list[Member] = field(default_factory=list)
    """Members tracked since the last flush, still waiting for their ``presence_state``."""


class PresenceFlush:
    """The pending :class:`PresenceBatch` of every room with local members, and their flushes.

    ``rooms`` is the service's live map of local rooms by name; ``state`` gives the tracker's
    presence state of a topic, read only when a flush has joiners to send it to.
    """

    def __init__(
        self,
        rooms: Mapping[str, Room],
        state: Callable[[str], State],
        scheduler: Scheduler | None = None,
    ) -> None:
        self.rooms = rooms
        self.state = state
        self.scheduler: Scheduler = scheduler or RunningLoop()
        self.batches: dict[str, PresenceBatch] = {}

    def add_diff(self, topic: str, diff: Diff) -> None:
        """Every presence change of a room goes out with its next batch, never on its own."""
        if not is_empty(diff):
            batch = self._batch(topic)
            if batch is not None:
                batch.diffs.add(diff)

    def add_joiner(self, member: Member) -> None:
        """``member`` was just tracked: it gets its ``presence_state`` at the next flush."""
        batch = self._batch(member.topic)
        if batch is not None:
            batch.joiners.append(member)

    def _room(self, topic: str) -> Room | None:
        name = room_from_topic(topic)
        return None if name is None else self.rooms.get(name)

    def _batch(self, topic: str) -> PresenceBatch | None:
        """The room's pending batch; a room without one gets one, flushed at once."""
        batch = self.batches.get(topic)
        if batch is None:
            if self._room(topic) is None:
                return None  # no local member to tell
            batch = self.batches[topic] = PresenceBatch()
            self.scheduler.call_soon(lambda: self.flush(topic))
        return batch

    def flush(self, topic: str) -> None:
        """Send what the batch gathered, then hold the next changes for one window."""
        batch = self.batches.get(topic)
        room = self._room(topic)
        if batch is None or room is None or not (batch.diffs or batch.joiners):
            self.batches.pop(topic, None)  # a quiet window: the next change is sent at once
            return
        self.batches[topic] = PresenceBatch()
        self.scheduler.call_later(batch_window(len(room.members)), lambda: self.flush(topic))
        diff = batch.diffs.diff()
        diff_text = None
        if not is_empty(diff):
            # One str object for every member: the socket side frames it once.
            diff_text = encode(Message(None, None, topic, "presence_diff", diff))
            for member in tuple(room.members.values()):
                if member.buffer is None:  # joined members only; joiners get it after the state
                    member.peer.send(diff_text)
        state: str | None = None
        for member in batch.joiners:
            if member.buffer is None or room.members.get((member.peer.id, topic)) is not member:
                continue  # left (or rejoined) before the flush
            if state is None:  # encoded once; only the join_ref differs between joiners
                state = orjson.dumps(batch.diffs.rewind(self.state(topic))).decode()
            head = orjson.dumps([member.join_ref, None, topic, "presence_state"]).decode()
            member.peer.send(f"{head[:-1]},{state}]")
            buffered, member.buffer = member.buffer, None
            for text in buffered:
                member.peer.send(text)
            if diff_text is not None:
                member.peer.send(diff_text)
