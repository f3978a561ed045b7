"""``SqliteHistory``: what the contract cannot see — files, schema versions, durability."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkex_widget.backends.history import Attachment, HistoryError
from talkex_widget.backends.history.sqlite import SCHEMA_V1, SCHEMA_VERSION, SqliteHistory
from talkex_widget.backends.history.sqlite_schema import MIGRATIONS

SENT_AT = "2026-11-29T15:40:01.123Z"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def opened(sqlite_path: Path) -> AsyncIterator[SqliteHistory]:
    store = SqliteHistory(sqlite_path)
    await store.start()
    yield store
    await store.close()


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_constructor_does_no_io_and_first_use_opens(sqlite_path: Path) -> None:
    store = SqliteHistory(sqlite_path)
    assert not sqlite_path.parent.exists()
    message, _ = await store.append("lobby", "ann", "hi", SENT_AT)  # no start(): opens lazily
    await store.close()
    assert message.id == 1
    assert sqlite_path.is_file()


async def test_file_is_in_wal_mode_at_the_current_schema(
    opened: SqliteHistory, sqlite_path: Path
) -> None:
    assert pragma(sqlite_path, "journal_mode") == "wal"
    assert pragma(sqlite_path, "user_version") == SCHEMA_VERSION


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
async def test_only_the_owner_can_read_a_new_history(sqlite_path: Path) -> None:
    """Other local users (a shared JupyterHub machine) must not read the room's messages."""
    old_umask = os.umask(0o022)  # the usual umask, which made the files 644 and the folder 755
    try:
        store = SqliteHistory(sqlite_path)
        await store.append("lobby", "ann", "private", SENT_AT)
        await store.rooms()  # the reader connection maps the -shm file too
        files = [sqlite_path, *(Path(f"{sqlite_path}{suffix}") for suffix in ("-wal", "-shm"))]
        modes = {
            path.name: oct(path.stat().st_mode & 0o777) for path in [sqlite_path.parent, *files]
        }
        await store.close()
    finally:
        os.umask(old_umask)
    assert modes == {
        "state": "0o700",
        "talkex.db": "0o600",
        "talkex.db-wal": "0o600",
        "talkex.db-shm": "0o600",
    }


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
async def test_an_existing_folder_and_file_keep_their_modes_and_work(sqlite_path: Path) -> None:
    sqlite_path.parent.mkdir(mode=0o755)
    sqlite_path.parent.chmod(0o755)  # chosen by its owner, e.g. a shared team folder
    store = SqliteHistory(sqlite_path)
    await store.append("lobby", "ann", "one", SENT_AT)
    await store.close()
    sqlite_path.chmod(0o640)

    store = SqliteHistory(sqlite_path)
    await store.append("lobby", "ann", "two", SENT_AT)
    messages, _ = await store.after("lobby", 0, 10)
    await store.close()
    assert [m.body for m in messages] == ["one", "two"]
    assert sqlite_path.parent.stat().st_mode & 0o777 == 0o755
    assert sqlite_path.stat().st_mode & 0o777 == 0o640


async def test_history_survives_a_restart_and_ids_continue(sqlite_path: Path) -> None:
    store = SqliteHistory(sqlite_path)
    first, _ = await store.append("lobby", "ann", "one", SENT_AT, client_id="c1")
    await store.append("lobby", "bob", "two", SENT_AT)
    await store.append("dev", "ann", "three", SENT_AT)
    await store.close()

    store = SqliteHistory(sqlite_path)
    try:
        assert await store.rooms() == ["dev", "lobby"]
        page, _ = await store.after("lobby", 0, 10)
        assert [(m.id, m.author, m.body) for m in page] == [(1, "ann", "one"), (2, "bob", "two")]
        assert (await store.append("lobby", "ann", "four", SENT_AT))[0].id == 3
        assert (await store.append("dev", "ann", "five", SENT_AT))[0].id == 2
        assert await store.append("lobby", "ann", "one", SENT_AT, client_id="c1") == (first, False)
    finally:
        await store.close()


async def test_close_writes_everything_already_queued(sqlite_path: Path) -> None:
    store = SqliteHistory(sqlite_path)
    await store.start()
    pending = [
        asyncio.create_task(store.append("lobby", "ann", str(i), SENT_AT)) for i in range(50)
    ]
    await asyncio.sleep(0)  # every task runs up to waiting for its commit
    await store.close()
    assert [task.result()[0].id for task in pending] == list(range(1, 51))
    with sqlite3.connect(sqlite_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone() == (50,)


async def test_migrates_a_version_1_file_keeping_its_messages(sqlite_path: Path) -> None:
    sqlite_path.parent.mkdir()
    with sqlite3.connect(sqlite_path) as conn:
        conn.executescript(SCHEMA_V1)
        conn.executemany(
            "INSERT INTO messages (room, id, author, body, sent_at) VALUES (?, ?, ?, ?, ?)",
            [("lobby", i, "ann", f"old {i}", SENT_AT) for i in (1, 2, 3)]
            + [("dev", i, "bob", f"dev {i}", SENT_AT) for i in (1, 2)],
        )
        conn.execute("PRAGMA user_version = 1")
    conn.close()

    store = SqliteHistory(sqlite_path)
    try:
        page, more = await store.after("lobby", 0, 10)
        assert [(m.id, m.body, m.client_id) for m in page] == [
            (1, "old 1", None),
            (2, "old 2", None),
            (3, "old 3", None),
        ]
        assert not more
        assert await store.rooms() == ["dev", "lobby"]
        new, _ = await store.append("lobby", "ann", "new", SENT_AT, client_id="c1")
        assert new.id == 4
        assert (await store.append("dev", "bob", "new", SENT_AT))[0].id == 3
        assert await store.append("lobby", "ann", "again", SENT_AT, client_id="c1") == (new, False)
    finally:
        await store.close()
    assert pragma(sqlite_path, "user_version") == SCHEMA_VERSION


async def test_migrates_a_version_2_file_to_contents_and_attachments(sqlite_path: Path) -> None:
    """Version 3 (shared results) adds a column and a table; old messages read as text."""
    sqlite_path.parent.mkdir()
    with sqlite3.connect(sqlite_path) as conn:
        conn.executescript(SCHEMA_V1 + MIGRATIONS[1])
        conn.execute(
            "INSERT INTO messages (room, id, author, body, sent_at) VALUES ('lobby', 1, 'ann',"
            " 'old', ?)",
            (SENT_AT,),
        )
        conn.execute("UPDATE rooms SET last_id = 1")
        conn.execute("INSERT OR IGNORE INTO rooms VALUES ('lobby', 1)")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    store = SqliteHistory(sqlite_path)
    try:
        (old,), _ = await store.after("lobby", 0, 10)
        assert (old.body, old.content, old.kind) == ("old", None, "text")
        image = Attachment("a" * 22, "image/png", b"png bytes")
        content = {"kind": "figure", "attachment": {"id": image.id}}
        new, _ = await store.append(
            "lobby", "ann", "fig", SENT_AT, content=content, attachment=image
        )
        assert new.id == 2 and (await store.after("lobby", 1, 10))[0] == [new]
        assert await store.attachment("lobby", image.id) == image
    finally:
        await store.close()
    assert pragma(sqlite_path, "user_version") == SCHEMA_VERSION


async def test_refuses_a_newer_schema_and_leaves_it_alone(sqlite_path: Path) -> None:
    sqlite_path.parent.mkdir()
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()

    store = SqliteHistory(sqlite_path)
    with pytest.raises(
        HistoryError, match=rf"schema version {SCHEMA_VERSION + 1}, newer than the {SCHEMA_VERSION}"
    ):
        await store.start()
    await store.close()
    assert pragma(sqlite_path, "user_version") == SCHEMA_VERSION + 1


async def test_refuses_a_file_that_is_not_sqlite_and_leaves_it_alone(sqlite_path: Path) -> None:
    sqlite_path.parent.mkdir()
    garbage = b"these are my notes, not a database\n" * 200
    sqlite_path.write_bytes(garbage)

    store = SqliteHistory(sqlite_path)
    with pytest.raises(HistoryError, match="not a SQLite database or it is corrupt"):
        await store.start()
    with pytest.raises(HistoryError):  # a second attempt fails the same way, no reset
        await store.after("lobby", 0, 1)
    await store.close()
    assert sqlite_path.read_bytes() == garbage


async def test_refuses_another_applications_sqlite_database(sqlite_path: Path) -> None:
    sqlite_path.parent.mkdir()
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE invoices (n)")
    conn.close()

    with pytest.raises(HistoryError, match="not a Talkex message history"):
        await SqliteHistory(sqlite_path).start()
    assert pragma(sqlite_path, "journal_mode") == "delete"  # not even switched to WAL


async def test_refuses_a_path_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(HistoryError, match="cannot create the folder"):
        await SqliteHistory(tmp_path / "a-file" / "talkex.db").start()


async def test_a_bad_message_fails_alone(opened: SqliteHistory) -> None:
    """A body UTF-8 cannot encode must not fail the other appends of its batch."""
    results = await asyncio.gather(
        opened.append("lobby", "ann", "before", SENT_AT),
        opened.append("lobby", "ann", "\ud800", SENT_AT),
        opened.append("lobby", "ann", "after", SENT_AT),
        return_exceptions=True,
    )
    assert isinstance(results[1], UnicodeEncodeError)
    page, _ = await opened.after("lobby", 0, 10)
    assert [(m.id, m.body) for m in page] == [(1, "before"), (2, "after")]


async def test_usable_from_another_event_loop(opened: SqliteHistory) -> None:
    """The embedded server runs its own loop on its own thread; futures go to the right loop."""
    await opened.append("lobby", "ann", "here", SENT_AT)

    async def elsewhere() -> list[int]:
        await opened.append("lobby", "bob", "there", SENT_AT)
        page, _ = await opened.after("lobby", 0, 10)
        return [m.id for m in page]

    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.extend(asyncio.run(elsewhere())))
    thread.start()
    await asyncio.get_running_loop().run_in_executor(None, thread.join)
    assert seen == [1, 2]


CHILD = """
import asyncio, sys
from talkex_widget.backends.history.sqlite import SqliteHistory

async def main(path):
    store = SqliteHistory(path)
    await store.start()

    async def send(i):
        message, _ = await store.append("lobby", "ann", f"m{i}", "2026-11-29T15:40:01.123Z")
        print(message.id, flush=True)  # acknowledged: must survive what follows

    i = 0
    while True:  # waves of concurrent appends, so kills land mid-batch
        await asyncio.gather(*(send(i + k) for k in range(25)))
        i += 25

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.slow
async def test_acknowledged_messages_survive_sigkill(sqlite_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(sqlite_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: list[int] = []
    try:
        assert child.stdout is not None
        while len(acked) < 1000:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"writer exited early: {child.stderr.read() if child.stderr else ''}")
            acked.append(int(line))
    finally:
        child.send_signal(signal.SIGKILL)
        stdout, _ = child.communicate(timeout=30)
    acked += [int(line) for line in stdout.splitlines(keepends=True) if line.endswith("\n")]
    assert child.returncode == -signal.SIGKILL

    store = SqliteHistory(sqlite_path)
    try:
        page, _ = await store.after("lobby", 0, 10**6)
    finally:
        await store.close()
    stored = [m.id for m in page]
    assert stored == list(range(1, len(stored) + 1))
    assert len(acked) == len(set(acked))
    assert set(acked) <= set(stored)
