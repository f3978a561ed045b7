"""Read positions on the wire: ``read {id}`` moves a person's position forward, and every other
connection of that person in the room hears of it, so a second device clears its unread too.

The position itself lives in the history store (:meth:`HistoryStore.mark_read`): it survives
reloads and is shared by every node. The join reply carries it as ``read_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from talkex_widget.backends.history import HistoryStore
from talkex_widget.core.protocol import Message, encode
from talkex_widget.core.rooms import RoomError, RoomRules
from talkex_widget.server.members import Member

__all__ = ["mark_read"]


async def mark_read(
    history: HistoryStore,
    rules: RoomRules,
    member: Member,
    members: Iterable[Member],
    payload: dict[str, Any],
) -> int:
    """Store ``member``'s ``read {id}``; returns the position now held (never lower).

    When it moved, the person's other local connections in the room (``members``: the room's
    members on this node) get ``read {read_id}``. On other nodes they learn it at their
    next join, which carries ``read_id``.
    """
    message_id = rules.optional_int(payload, "id")
    if message_id is None:
        raise RoomError("read needs the id of the last message read")
    person = member.peer.nickname
    before = await history.read_position(member.room, person)
    position = await history.mark_read(member.room, person, message_id)
    if position > before:
        text = encode(Message(None, None, member.topic, "read", {"read_id": position}))
        for other in members:
            if other is not member and other.peer.nickname == person:
                other.deliver(text)
    return position
