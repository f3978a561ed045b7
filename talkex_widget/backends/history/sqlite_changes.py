"""The room sequence in the SQLite store: its schema steps, and edits, deletes and reactions.

Kept apart from :mod:`.sqlite` so that the batched append path stays as it is: an append
reads and bumps ``rooms.last_seq`` with ``rooms.last_id``, once per room and batch (see
:mod:`.sqlite_batch`). A change is rare (a person edits, deletes or reacts by hand), so it
runs on a short-lived connection of its own in a worker thread, ``BEGIN IMMEDIATE`` to
``COMMIT``: SQLite's write lock orders it against appends from this process and from any other
process sharing the file, and ``rooms.last_seq`` is read and bumped inside that transaction,
so every ``seq`` is given once.

Only a *changed* message stores its ``seq``. A plain post leaves the column ``NULL``, because
an index over every message's ``seq`` cost one more B-tree page per room and commit: about
20 µs a message with 20 busy rooms, a quarter of the append path. The ``seq`` of a message
never changed is ``id + shift``: each change moves a room's ``seq`` one ahead of its ids, and
``seq_shifts`` records, from which id on, by how much (a row per change that a post followed,
written in the change's transaction). :data:`SEQ` reads it back in every query, so every read
path gives the same ``seq`` as the append that stored the message.
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
    "SEQ_SHIFTS_MIGRATION",
    "change_fields",
    "changed_after",
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
room's sequence continues where its ids were and old messages need no rewrite. Until the next
step an append wrote its ``seq`` in its INSERT; ``reactions`` is JSON
``[[emoji, [who, ...]], ...]`` (NULL: none)."""

SEQ_SHIFTS_MIGRATION = """
DROP INDEX messages_seq;
CREATE UNIQUE INDEX messages_changed ON messages (room, seq) WHERE seq IS NOT NULL;
CREATE TABLE seq_shifts (
    room    TEXT    NOT NULL,
    from_id INTEGER NOT NULL,
    shift   INTEGER NOT NULL,
    PRIMARY KEY (room, from_id)
) WITHOUT ROWID;
INSERT INTO seq_shifts (room, from_id, shift)
    SELECT name, last_id + 1, last_seq - last_id FROM rooms WHERE last_seq != last_id;
"""
"""The schema step that stores ``seq`` for changed messages only. Messages written before it
keep the ``seq`` they have (they are all in the partial index); posts after it store ``NULL``
and take the room's shift at the upgrade, ``last_seq - last_id``."""

SEQ = (
    "COALESCE(seq, id + IFNULL((SELECT shift FROM seq_shifts"
    " WHERE seq_shifts.room = messages.room AND from_id <= messages.id"
    " ORDER BY from_id DESC LIMIT 1), 0))"
)
"""A message's ``seq`` in a query on ``messages``: stored if it changed, else ``id + shift``."""

_CHANGES = (SEQ, "edited_at", "deleted_at", "reactions")
CHANGE_COLUMNS = ", ".join(_CHANGES)
"""Selected after a message's own columns; :func:`change_fields` reads them back."""

_FIRST_UNCHANGED_AFTER = (
    "SELECT MIN(first) FROM (SELECT MAX(from_id, :seq + 1 - shift) AS first FROM seq_shifts"
    " WHERE room = :room UNION ALL SELECT :seq + 1)"
)
"""The lowest id whose ``id + shift`` passes ``:seq``. Each shift row's candidate (its first id,
or the id that reaches ``:seq + 1`` with its shift) is at least that id, and the candidate of
the row the answer lies under is exactly it; the last term is the room before any shift. One
pass over the room's shift rows: a row per change that a post followed."""


def changed_after(columns: str) -> tuple[str, str]:
    """The two queries of "every message whose ``seq`` passes ``:seq``", both ascending by
    ``seq`` and limited to ``:limit``: the changed ones by the partial index, then the plain
    ones by id, from the first id past ``:seq``. The caller merges them by ``seq``."""
    return (
        f"SELECT {columns} FROM messages WHERE room = :room AND seq > :seq"
        " ORDER BY seq LIMIT :limit",
        f"SELECT {columns} FROM messages WHERE room = :room AND seq IS NULL"
        f" AND id >= ({_FIRST_UNCHANGED_AFTER}) ORDER BY id LIMIT :limit",
    )


_CHANGE_COUNT = len(_CHANGES)
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
            last_id, last_seq = _counters(conn, room)
            seq = last_seq + 1
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
            # posts from now on are one more ahead of their ids (see the module's docstring)
            conn.execute(
                "INSERT INTO seq_shifts (room, from_id, shift) VALUES (?, ?, ?)"
                " ON CONFLICT (room, from_id) DO UPDATE SET shift = excluded.shift",
                (room, last_id + 1, seq - last_id),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return replace(changed, seq=seq), True
    finally:
        conn.close()


def _counters(conn: sqlite3.Connection, room: str) -> tuple[int, int]:
    row = conn.execute("SELECT last_id, last_seq FROM rooms WHERE name = ?", (room,)).fetchone()
    return (row[0], row[1]) if row else (0, 0)
