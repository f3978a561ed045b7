"""SQLite and the room sequence: files written before it or before it was stored only for
changed messages are upgraded in place, and every read gives the seq an append gave."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from talkex_widget.backends.history import HistoryStore
from talkex_widget.backends.history.memory import MemoryHistory
from talkex_widget.backends.history.sqlite import SCHEMA_VERSION, SqliteHistory
from talkex_widget.backends.history.sqlite_schema import MIGRATIONS
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


def stored_seqs(path: Path) -> dict[int, int | None]:
    """The ``seq`` column of the lobby as the file holds it (``None``: derived from the id)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, seq FROM messages WHERE room = 'lobby' ORDER BY id")
        found = dict(rows.fetchall())
    conn.close()
    return found


async def test_only_changed_messages_store_their_seq(sqlite_path: Path) -> None:
    store = SqliteHistory(sqlite_path)
    try:
        for body in ("a", "b", "c"):
            await store.append("lobby", "ann", body, SENT_AT)
        await store.update("lobby", 2, lambda m: apply_change(m, Edit("B"), "ann", SENT_AT))
        fourth, _ = await store.append("lobby", "ann", "d", SENT_AT)
        assert fourth.seq == 5
    finally:
        await store.close()
    # plain posts leave the indexed column empty: appends never touch the seq index
    assert stored_seqs(sqlite_path) == {1: None, 2: 4, 3: None, 4: None}
    with sqlite3.connect(sqlite_path) as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE room = 'x' AND seq > 1"
                " ORDER BY seq"
            )
        )
    conn.close()
    assert "messages_changed" in plan


async def test_a_version_5_file_with_edits_keeps_every_seq(sqlite_path: Path) -> None:
    """Version 5 stored every message's seq; the upgrade keeps them and new posts continue."""
    sqlite_path.parent.mkdir()
    with sqlite3.connect(sqlite_path) as conn:
        conn.executescript("".join(MIGRATIONS[:5]))
        conn.executemany(
            "INSERT INTO messages (room, id, author, body, sent_at, seq, edited_at)"
            " VALUES ('lobby', ?, 'ann', ?, ?, ?, ?)",
            # 1, 2, 3 posted (seq 1-3); 1 edited (seq 4); 4 posted (seq 5); 2 edited (seq 6)
            [
                (1, "one!", SENT_AT, 4, SENT_AT),
                (2, "two!", SENT_AT, 6, SENT_AT),
                (3, "three", SENT_AT, 3, None),
                (4, "four", SENT_AT, 5, None),
            ],
        )
        conn.execute("INSERT INTO rooms (name, last_id, last_seq) VALUES ('lobby', 4, 6)")
        conn.execute("PRAGMA user_version = 5")
    conn.close()
    store = SqliteHistory(sqlite_path)
    try:
        fifth, _ = await store.append("lobby", "bob", "five", SENT_AT)
        assert (fifth.id, fifth.seq) == (5, 7)
        page, _ = await store.after("lobby", 0, 10)
        assert [(m.id, m.seq) for m in page] == [(1, 4), (2, 6), (3, 3), (4, 5), (5, 7)]
        changed, more = await store.changed_after("lobby", 3, 2)
        assert ([(m.id, m.seq) for m in changed], more) == ([(1, 4), (4, 5)], True)
        changed, _ = await store.changed_after("lobby", 5, 10)
        assert [(m.id, m.seq) for m in changed] == [(2, 6), (5, 7)]
    finally:
        await store.close()
    assert stored_seqs(sqlite_path) == {1: 4, 2: 6, 3: 3, 4: 5, 5: None}


async def test_every_read_gives_the_seq_of_the_memory_store(sqlite_path: Path) -> None:
    """Random posts and changes in two rooms, the file reopened midway: every read of the
    SQLite store (pages, "changed after" from every seq, any page size) matches the memory
    store, where each message holds its seq."""
    rng = random.Random(20261202)
    stores: list[HistoryStore] = [MemoryHistory(), SqliteHistory(sqlite_path)]
    for step in range(400):
        if step == 200:
            await stores[1].close()
            stores[1] = SqliteHistory(sqlite_path)
        room = rng.choice(("lobby", "dev"))
        last = await stores[0].last_seq(room)
        latest, _ = await stores[0].before(room, None, 1)
        if latest and rng.random() < 0.4:  # a burst of changes, as reactions come
            target = rng.randint(1, latest[-1].id)
            react = React(rng.choice(("👍", "🎉", "👀")))
            for store in stores:
                await store.update(
                    room, target, lambda m, r=react: apply_change(m, r, "bob", SENT_AT)
                )
        else:
            results = [await store.append(room, "ann", f"{step}", SENT_AT) for store in stores]
            assert results[0] == results[1]
        assert await stores[1].last_seq(room) == await stores[0].last_seq(room) >= last
    try:
        for room in ("lobby", "dev"):
            assert await stores[1].after(room, 0, 500) == await stores[0].after(room, 0, 500)
            assert await stores[1].before(room, None, 30) == await stores[0].before(room, None, 30)
            for after_seq in range(-1, await stores[0].last_seq(room) + 2):
                for limit in (1, 7, 500):
                    expected = await stores[0].changed_after(room, after_seq, limit)
                    assert await stores[1].changed_after(room, after_seq, limit) == expected
    finally:
        for store in stores:
            await store.close()


async def test_appends_name_every_column_of_rooms(sqlite_path: Path) -> None:
    """An append rewrites its room's row whole (``INSERT OR REPLACE``): a column added to
    ``rooms`` without being named there would be reset by every post."""
    store = SqliteHistory(sqlite_path)
    await store.append("lobby", "ann", "hi", SENT_AT)
    await store.close()
    with sqlite3.connect(sqlite_path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(rooms)")]
    conn.close()
    assert columns == ["name", "last_id", "last_seq"]


class CommitAfterFirstRead:
    """The store's reader connection, with ``commit`` run once right after the first query
    it executes (on the reader thread, before the next query): the moment when a busy server
    commits a change while a join reads."""

    def __init__(self, conn: sqlite3.Connection, commit: Callable[[], object]) -> None:
        self._conn = conn
        self._commit: Callable[[], object] | None = commit

    def execute(self, sql: str, params: Any = ()) -> Any:
        cursor = self._conn.execute(sql, params)
        if self._commit is None or not sql.lstrip().upper().startswith("SELECT"):
            return cursor
        rows = cursor.fetchall()
        commit, self._commit = self._commit, None
        commit()
        return _Rows(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _Rows:
    """Rows already fetched, handed back where a cursor was."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchall(self) -> list[Any]:
        return self.rows


async def test_a_change_committed_between_the_reads_of_a_catch_up_loses_nothing(
    sqlite_path: Path,
) -> None:
    """A catch-up ("changed after n") reads the changed messages, then the plain ones. A
    message changed by another connection in between must still be in the answer (as it was
    when the first read ran: its change is broadcast after), not in neither of the two."""
    store, writer = SqliteHistory(sqlite_path), SqliteHistory(sqlite_path)
    loop = asyncio.get_running_loop()
    try:
        for body in ("a", "b", "c"):
            await store.append("lobby", "ann", body, SENT_AT)

        def edit_third() -> None:
            change = writer.update("lobby", 3, lambda m: apply_change(m, Edit("C"), "ann", SENT_AT))
            asyncio.run_coroutine_threadsafe(change, loop).result(timeout=10)

        await store.start()
        reader = store._read_conn
        assert reader is not None
        store._read_conn = CommitAfterFirstRead(reader, edit_third)  # type: ignore[assignment]
        missed, more = await store.changed_after("lobby", 2, 10)
        store._read_conn = reader
        assert [(m.id, m.seq, m.body) for m in missed] == [(3, 3, "c")]
        assert not more
        # and the next catch-up from there has the change
        again, _ = await store.changed_after("lobby", 3, 10)
        assert [(m.id, m.seq, m.body) for m in again] == [(3, 4, "C")]
    finally:
        await store.close()
        await writer.close()
