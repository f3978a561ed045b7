"""The SQLite history's schema: every step from an empty file to today's, and the upgrade.

Apart from :mod:`.sqlite` (the store) so that features adding tables or columns add a step
here, or in their own module as :mod:`.sqlite_reads` and :mod:`.sqlite_changes` do, without
touching the store's write and read paths. Steps only ever get appended: a file records how
many it has run in ``user_version``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from talkex_widget.backends.history import HistoryError
from talkex_widget.backends.history.sqlite_changes import SEQ_MIGRATION, SEQ_SHIFTS_MIGRATION
from talkex_widget.backends.history.sqlite_reads import READS_MIGRATION

__all__ = ["MIGRATIONS", "SCHEMA_V1", "SCHEMA_VERSION", "SYNCHRONOUS", "migrate"]

SCHEMA_V1 = """
CREATE TABLE messages (
    room    TEXT    NOT NULL,
    id      INTEGER NOT NULL,
    author  TEXT    NOT NULL,
    body    TEXT    NOT NULL,
    sent_at TEXT    NOT NULL,
    PRIMARY KEY (room, id)
);
"""
"""The first schema (``user_version`` 1): ids were ``MAX(id) + 1`` per room, no dedupe."""

_V1_TO_V2 = """
ALTER TABLE messages ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX messages_client_id ON messages (room, author, client_id)
    WHERE client_id IS NOT NULL;
CREATE TABLE rooms (
    name    TEXT    PRIMARY KEY,
    last_id INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO rooms (name, last_id) SELECT room, MAX(id) FROM messages GROUP BY room;
"""
"""Version 2: ``client_id`` dedupes retried sends; ``rooms`` makes ids never reused and lists
rooms without scanning every message."""

_V2_TO_V3 = """
ALTER TABLE messages ADD COLUMN content TEXT;
CREATE TABLE attachments (
    room         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    message_id   INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (room, id)
) WITHOUT ROWID;
"""
"""Version 3: ``content`` holds a shared result's kind and fields as JSON (``NULL`` for text);
``attachments`` the image of a figure, written in the message's own transaction."""

MIGRATIONS = (
    SCHEMA_V1,
    _V1_TO_V2,
    _V2_TO_V3,
    READS_MIGRATION,
    SEQ_MIGRATION,
    SEQ_SHIFTS_MIGRATION,
)
"""``MIGRATIONS[v]`` takes a database from ``user_version`` v to v + 1; a new file starts at 0,
so a fresh database and an upgraded one are built by the same statements."""

SCHEMA_VERSION = len(MIGRATIONS)

SYNCHRONOUS = "NORMAL"
"""Survives a killed process, not a power cut, at no fsync cost (see :mod:`.sqlite`). Per
connection: every connection that writes sets it."""


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file to :data:`SCHEMA_VERSION`, or refuse it with a reason.

    The check and the upgrade share one ``BEGIN IMMEDIATE`` transaction, so two processes
    opening an old file at once cannot both upgrade it, and a failed upgrade changes nothing.
    WAL is switched on only after the checks passed: a refused file is left exactly as it was.
    """
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"the message history {path} has schema version {version}, newer than the "
                f"{SCHEMA_VERSION} this Talkex knows: it was written by a newer Talkex; "
                "upgrade talkex-widget or use another file"
            )
        if version == 0 and conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            raise HistoryError(
                f"{path} is a SQLite database but not a Talkex message history "
                "(it has tables and no schema version); use another file"
            )
        for script in MIGRATIONS[version:]:
            for statement in script.split(";"):  # the DDL above has no ';' inside literals
                if statement.strip():
                    conn.execute(statement)
        if version != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("PRAGMA journal_mode = WAL")
