"""SQLite and the room sequence: a history file written before it is upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from talkex_widget.backends.history.sqlite import SCHEMA_VERSION, SqliteHistory
from talkex_widget.core.changes import Edit, React, apply_change

SENT_AT = "2026-11-29T15:40:01.123Z"

SCHEMA_3 = """
CREATE TABLE messages (
    room    TEXT    NOT NULL,
    id      INTEGER NOT NULL,
    author  TEXT    NOT NULL,
    body    TEXT    NOT NULL,
    sent_at TEXT    NOT NULL,
    client_id TEXT,
    content TEXT,
    PRIMARY KEY (room, id)
);
CREATE UNIQUE INDEX messages_client_id ON messages (room, author, client_id)
    WHERE client_id IS NOT NULL;
CREATE TABLE rooms (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE attachments (
    room TEXT NOT NULL, id TEXT NOT NULL, message_id INTEGER NOT NULL,
    content_type TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (room, id)
) WITHOUT ROWID;
"""
"""The file a Talkex of schema version 3 (before the room sequence) leaves behind."""


def write_version_3_file(path: Path) -> None:
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_3)
        conn.executemany(
            "INSERT INTO messages (room, id, author, body, sent_at, client_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [("lobby", i, "ann", f"old {i}", SENT_AT, f"c{i}") for i in (1, 2, 3)]
            + [("dev", 1, "bob", "dev 1", SENT_AT, None)],
        )
        conn.executemany(
            "INSERT INTO rooms (name, last_id) VALUES (?, ?)", [("lobby", 3), ("dev", 1)]
        )
        conn.execute("PRAGMA user_version = 3")
    conn.close()


async def test_an_existing_file_gets_the_sequence_with_seq_equal_to_id(sqlite_path: Path) -> None:
    write_version_3_file(sqlite_path)
    store = SqliteHistory(sqlite_path)
    try:
        page, _ = await store.after("lobby", 0, 10)
        assert [(m.id, m.seq, m.body) for m in page] == [
            (1, 1, "old 1"),
            (2, 2, "old 2"),
            (3, 3, "old 3"),
        ]
        assert await store.last_seq("lobby") == 3
        assert await store.last_seq("dev") == 1
        # a client that saw seq 2 before the upgrade gets exactly message 3, then the changes
        assert [m.id for m in (await store.changed_after("lobby", 2, 10))[0]] == [3]
        new, _ = await store.append("lobby", "bob", "new", SENT_AT)
        assert (new.id, new.seq) == (4, 4)
        edited, _ = await store.update(
            "lobby", 1, lambda m: apply_change(m, Edit("old 1, edited"), "ann", SENT_AT)
        )
        reacted, _ = await store.update(
            "dev", 1, lambda m: apply_change(m, React("👀"), "ann", SENT_AT)
        )
        assert (edited.seq, reacted.seq) == (5, 2)
        assert [(m.id, m.seq) for m in (await store.changed_after("lobby", 3, 10))[0]] == [
            (4, 4),
            (1, 5),
        ]
        # the retried send of an old message still finds it, in its current state
        assert await store.append("lobby", "ann", "old 1", SENT_AT, client_id="c1") == (
            edited,
            False,
        )
    finally:
        await store.close()
    with sqlite3.connect(sqlite_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute(
            "SELECT last_id, last_seq FROM rooms WHERE name = 'lobby'"
        ).fetchone() == (4, 5)
    conn.close()


async def test_the_sequence_survives_a_restart(sqlite_path: Path) -> None:
    store = SqliteHistory(sqlite_path)
    first, _ = await store.append("lobby", "ann", "a", SENT_AT)
    await store.update("lobby", first.id, lambda m: apply_change(m, Edit("b"), "ann", SENT_AT))
    await store.close()
    store = SqliteHistory(sqlite_path)
    try:
        assert await store.last_seq("lobby") == 2
        second, _ = await store.append("lobby", "ann", "c", SENT_AT)
        assert (second.id, second.seq) == (2, 3)
    finally:
        await store.close()
