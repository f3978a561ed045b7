"""Read positions in the SQLite store: their schema step and the forward-only write.

Kept apart from :mod:`.sqlite` so that its batched append path stays as it is. Marking a room
read is rare next to reading it (once per batch of new messages a person sees), so it runs on
the store's reader thread with a short-lived connection of its own, ``BEGIN IMMEDIATE`` to
``COMMIT``: SQLite's write lock orders it against every other writer of the file, in this
process or another, and the position is read back in the same transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["MARK_READ", "READS_MIGRATION", "READ_POSITION", "mark_read"]

READS_MIGRATION = """
CREATE TABLE reads (
    room       TEXT    NOT NULL,
    person     TEXT    NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (room, person)
) WITHOUT ROWID;
"""
"""The schema step of read positions: one row per person who read something in a room.
Additive (a table of its own), so it commutes with the other steps of the same release."""

READ_POSITION = "SELECT message_id FROM reads WHERE room = ? AND person = ?"

MARK_READ = """
INSERT INTO reads (room, person, message_id)
VALUES (?1, ?2, MIN(?3, COALESCE((SELECT last_id FROM rooms WHERE name = ?1), 0)))
ON CONFLICT (room, person) DO UPDATE SET message_id = excluded.message_id
    WHERE excluded.message_id > reads.message_id
"""
"""Forward only, and never past the room's latest id (``rooms.last_id``)."""

_BUSY_TIMEOUT_S = 10.0


def mark_read(path: Path, room: str, person: str, message_id: int) -> int:
    """Move the position forward in one transaction; return where it now is."""
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(MARK_READ, (room, person, message_id))
            row = conn.execute(READ_POSITION, (room, person)).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return row[0] if row else 0
