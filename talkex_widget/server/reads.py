"""Read positions on the wire: ``read {id}`` moves a person's position forward, and every other
connection of that person in the room hears of it, on this node and the others, so a second
device clears its unread too.

The position itself lives in the history store (:meth:`HistoryStore.mark_read`): it survives
reloads and is shared by every node. The join reply carries it as ``read_id``. Other nodes hear
of a move on :data:`READS_CHANNEL`, one pubsub channel for every room: views push their
position at most once per two seconds (js/src/lib/unread.js), so it stays a trickle.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from talkex_widget.backends.history import HistoryStore
from talkex_widget.core.protocol import Message, encode
from talkex_widget.core.rooms import RoomError, RoomRules, topic_for
from talkex_widget.server.members import Member, Room

__all__ = ["READS_CHANNEL", "ReadMoved", "deliver_read", "mark_read"]

READS_CHANNEL = "talkex:reads"


class ReadMoved(NamedTuple):
    """A person's read position in a room moved, as nodes tell each other."""

    node: str
    room: str
    person: str
    read_id: int

    def encode(self) -> str:
        return orjson.dumps(list(self)).decode()

    @classmethod
    def decode(cls, data: str) -> ReadMoved | None:
        """``None`` for anything but four fields of the right types (a node of another
        version, or garbage): nobody's view is told a wrong position."""
        try:
            node, room, person, read_id = orjson.loads(data)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return None
        if not all(isinstance(v, str) for v in (node, room, person)):
            return None
        if not isinstance(read_id, int) or isinstance(read_id, bool):
            return None
        return cls(node, room, person, read_id)


async def mark_read(
    history: HistoryStore, rules: RoomRules, member: Member, payload: dict[str, Any]
) -> tuple[int, bool]:
    """Store ``member``'s ``read {id}``; returns the position now held (never lower) and
    whether it moved."""
    message_id = rules.optional_int(payload, "id")
    if message_id is None:
        raise RoomError("read needs the id of the last message read")
    person = member.peer.nickname
    before = await history.read_position(member.room, person)
    position = await history.mark_read(member.room, person, message_id)
    return position, position > before


def deliver_read(
    room: Room | None, person: str, read_id: int, *, exclude: Member | None = None
) -> None:
    """``read {read_id}`` to ``person``'s connections in ``room`` on this node (but
    ``exclude``, the one that pushed it and has its reply)."""
    if room is None:
        return
    text: str | None = None
    for member in tuple(room.members.values()):
        if member is exclude or member.peer.nickname != person:
            continue
        if text is None:
            text = encode(Message(None, None, topic_for(room.name), "read", {"read_id": read_id}))
        member.deliver(text)
