"""Edits, deletes and reactions on the wire, and catch-up by the room's sequence.

Pushes (each answered with the changed message, or an error with a ``reason``)::

    edit_msg   {id, body}    your own text message; marked with ``edited_at``
    delete_msg {id}          your own message, or any one for a hub moderator; a tombstone stays
    react      {id, emoji}   toggle your reaction (one of core.changes.REACTIONS)

Every change that happened is broadcast as ``msg_changed`` with the message's whole current
state (the ``new_msg`` payload plus ``seq``, ``edited_at``, ``deleted_at``, ``reactions``), so
a client replaces what it holds by id and needs no rules of its own.

Catch-up: a join with ``last_seen_seq`` gets every message new or changed after it, each once
and in ``seq`` order (:meth:`HistoryStore.changed_after`); every join reply carries ``seq``,
the position to ask from next time. A join with only ``last_seen_id`` (an older client) still
gets the messages after that id, as before.
"""

from __future__ import annotations

from typing import Any

from talkex_widget.backends.history import HistoryStore, StoredMessage, UnknownMessage
from talkex_widget.core.changes import (
    Change,
    ChangeRefused,
    Delete,
    Edit,
    React,
    apply_change,
    reaction,
)
from talkex_widget.core.rooms import RoomError, RoomRules, iso_now

__all__ = ["CHANGE_EVENTS", "apply_push", "catch_up"]

CHANGE_EVENTS = ("edit_msg", "delete_msg", "react")


def parse_push(
    rules: RoomRules, event: str, payload: dict[str, Any], *, moderator: bool
) -> tuple[int, Change]:
    """The message id and change a push asks for, or :class:`RoomError` saying what is wrong."""
    message_id = rules.optional_int(payload, "id", minimum=1)
    if message_id is None:
        raise RoomError(f"{event} needs the id of a message")
    try:
        if event == "edit_msg":
            return message_id, Edit(rules.body(payload))
        if event == "delete_msg":
            return message_id, Delete(moderator=moderator)
        return message_id, React(reaction(payload.get("emoji")))
    except ChangeRefused as exc:
        raise RoomError(exc.reason) from None


async def apply_push(
    history: HistoryStore,
    rules: RoomRules,
    room: str,
    actor: str,
    event: str,
    payload: dict[str, Any],
    *,
    moderator: bool = False,
) -> tuple[StoredMessage, bool]:
    """Store the change ``actor`` pushed; returns the message and whether it changed.

    ``moderator``: the actor may delete anyone's message (hub admins and holders of
    ``custom:talkex:moderate``); it never lets anyone edit someone else's words.
    """
    message_id, change = parse_push(rules, event, payload, moderator=moderator)
    at = iso_now()
    try:
        return await history.update(
            room, message_id, lambda message: apply_change(message, change, actor, at)
        )
    except (UnknownMessage, ChangeRefused) as exc:
        raise RoomError(exc.reason) from None


async def catch_up(
    history: HistoryStore, room: str, last_seen_seq: int, limit: int
) -> tuple[list[StoredMessage], bool, int]:
    """What a client that saw ``last_seen_seq`` missed: messages, whether more follow, and the
    ``seq`` it has seen once it applied them.

    The room's ``seq`` is read *before* the changes: everything up to it is in the answer, and
    anything later is in the answer or in a broadcast the joining member already buffers. A
    client ahead of the room (a history that was reset) is brought back to the room's ``seq``.
    """
    seq = await history.last_seq(room)
    changed, more = await history.changed_after(room, last_seen_seq, limit)
    return changed, more, max([seq, *(m.seq for m in changed)])
