"""The room sequence in the SQLite store: its schema step, and edits, deletes and reactions.

Kept apart from :mod:`.sqlite` so that the batched append path stays as it is: an append
reads and bumps ``rooms.last_seq`` with ``rooms.last_id``, once per room and batch, and writes
its ``seq`` in its INSERT (see :mod:`.sqlite_batch`). A change is rare (a person edits, deletes
or reacts by hand), so it runs on a short-lived connection of its own in a worker thread,
``BEGIN IMMEDIATE`` to ``COMMIT``: SQLite's write lock orders it against appends from this
process and from any other process sharing the file, and ``rooms.last_seq`` is read and bumped
inside that transaction, so every ``seq`` is given once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from talkex_widget.backends.history import StoredMessage, UnknownMessage

__all__ = [
    "CHANGE_COLUMNS",
    "SEQ_MIGRATION",
    "change_fields",
    "split_row",
    "update_message",
]

SEQ_MIGRATION = """
ALTER TABLE messages ADD COLUMN seq INTEGER;
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
ALTER TABLE messages ADD COLUMN reactions TEXT;
UPDATE messages SET seq = id;
CREATE UNIQUE INDEX messages_seq ON messages (room, seq);
ALTER TABLE rooms ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET last_seq = last_id;
"""
"""The schema step of the room sequence. Messages stored before it keep ``seq = id``, so a
room's sequence continues where its ids were and old messages need no rewrite. An append
writes its ``seq`` in its INSERT; ``reactions`` is JSON
``[[emoji, [who, ...]], ...]`` (NULL: none)."""

CHANGE_COLUMNS = "seq, edited_at, deleted_at, reactions"
"""Selected after a message's own columns; :func:`change_fields` reads them back."""

_CHANGE_COUNT = len(CHANGE_COLUMNS.split(","))
_BUSY_TIMEOUT_S = 10.0


def split_row(row: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A row selected as ``<message columns>, CHANGE_COLUMNS``: the message's own values, then
    the values :func:`change_fields` reads."""
    return row[:-_CHANGE_COUNT], row[-_CHANGE_COUNT:]


def change_fields(changes: tuple[Any, ...]) -> dict[str, Any]:
    """The :class:`StoredMessage` fields held in the :data:`CHANGE_COLUMNS` values of a row
    (see :func:`split_row`), to build the message in one go."""
    seq, edited_at, deleted_at, reactions = changes
    parsed = () if reactions is None else tuple((e, tuple(w)) for e, w in orjson.loads(reactions))
    return {"seq": seq or 0, "edited_at": edited_at, "deleted_at": deleted_at, "reactions": parsed}


def update_message(
    path: Path,
    synchronous: str,
    columns: str,
    to_message: Callable[[str, tuple[Any, ...]], StoredMessage],
    room: str,
    message_id: int,
    change: Callable[[StoredMessage], StoredMessage],
) -> tuple[StoredMessage, bool]:
    """Apply ``change`` to a message in one transaction on a connection of its own.

    Blocking: run it in a worker thread. ``columns`` and ``to_message`` are the store's own
    row mapping, so a message reads the same here as on every other path.
    """
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                f"SELECT {columns} FROM messages WHERE room = ? AND id = ?", (room, message_id)
            ).fetchone()
            if row is None:
                raise UnknownMessage(room, message_id)
            current = to_message(room, row)
            changed = change(current)
            if changed == current:
                conn.execute("ROLLBACK")
                return current, False
            seq = _last_seq(conn, room) + 1
            reactions = (
                orjson.dumps([[e, list(w)] for e, w in changed.reactions])
                if changed.reactions
                else None
            )
            conn.execute(
                "UPDATE messages SET body = ?, content = ?, edited_at = ?, deleted_at = ?,"
                " reactions = ?, seq = ? WHERE room = ? AND id = ?",
                (
                    changed.body,
                    None if changed.content is None else orjson.dumps(changed.content),
                    changed.edited_at,
                    changed.deleted_at,
                    reactions,
                    seq,
                    room,
                    message_id,
                ),
            )
            conn.execute("UPDATE rooms SET last_seq = ? WHERE name = ?", (seq, room))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return replace(changed, seq=seq), True
    finally:
        conn.close()


def _last_seq(conn: sqlite3.Connection, room: str) -> int:
    row = conn.execute("SELECT last_seq FROM rooms WHERE name = ?", (room,)).fetchone()
    return row[0] if row else 0
