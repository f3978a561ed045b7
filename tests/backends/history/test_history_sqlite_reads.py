"""Read positions in ``SqliteHistory``: the schema step and positions shared by processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from talkex_widget.backends.history.sqlite import SCHEMA_VERSION, SqliteHistory
from talkex_widget.backends.history.sqlite_reads import READS_MIGRATION
from talkex_widget.backends.history.sqlite_schema import MIGRATIONS

SENT_AT = "2026-11-29T15:40:01.123Z"


async def test_a_file_from_before_read_positions_gains_them(sqlite_path: Path) -> None:
    step = MIGRATIONS.index(READS_MIGRATION)
    sqlite_path.parent.mkdir(parents=True)
    with sqlite3.connect(sqlite_path) as conn:
        conn.executescript("".join(MIGRATIONS[:step]))
        conn.execute(f"PRAGMA user_version = {step}")
    conn.close()
    store = SqliteHistory(sqlite_path)
    try:
        await store.append("lobby", "ann", "old", SENT_AT)
        assert await store.read_position("lobby", "bob") == 0
        assert await store.mark_read("lobby", "bob", 1) == 1
    finally:
        await store.close()
    with sqlite3.connect(sqlite_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_two_stores_on_one_file_share_positions(sqlite_path: Path) -> None:
    first, second = SqliteHistory(sqlite_path), SqliteHistory(sqlite_path)
    try:
        for _ in range(3):
            await first.append("lobby", "ann", "x", SENT_AT)
        assert await first.mark_read("lobby", "bob", 3) == 3
        assert await second.read_position("lobby", "bob") == 3
        assert await second.mark_read("lobby", "bob", 1) == 3
    finally:
        await first.close()
        await second.close()
