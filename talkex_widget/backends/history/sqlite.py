"""History in one SQLite file: the default store, stdlib only.

Threads, so the event loop never waits on the disk:

* One **writer thread** owns the write connection. ``append`` queues a request and awaits a
  future. Each time the thread wakes it takes *everything* queued and writes it in a single
  transaction, then resolves the futures (one ``call_soon_threadsafe`` per event loop per
  batch) only after ``COMMIT`` returned. A burst of N messages costs one commit, not N, and
  under load the batches grow by themselves: no timer, no added latency when idle.
* One **reader thread** owns a read-only connection. In WAL mode readers never wait for the
  writer, so scrolling back through history is not stuck behind a large batch.

Durability: WAL with ``synchronous=NORMAL``. ``COMMIT`` has handed the WAL frames to the OS
with ``write()`` before it returns, so an acknowledged message survives the process being
killed (even ``SIGKILL``); only an OS crash or power cut may lose the last transactions,
never corrupting the file. ``FULL`` would add an ``fsync`` to every batch for protection
against power loss, which is slow on the network home directories JupyterHub machines often
have, and is not worth it for chat.

Ids come from ``rooms.last_id``, read and bumped inside the write transaction: never reused,
even if messages are deleted one day, and correct when several server processes share a file.

The constructor does no I/O. :meth:`SqliteHistory.start` (or the first call of any method)
creates the folder, opens the file, checks and migrates the schema, and starts the threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import Any

from talkex_widget.backends.history import (
    Attachment,
    HistoryError,
    HistoryStore,
    LatestPage,
    StoredMessage,
    check_limit,
)
from talkex_widget.backends.history.sqlite_batch import (
    COLUMNS,
    Append,
    Outcome,
    insert_batch,
    row_message,
    settle,
)
from talkex_widget.backends.history.sqlite_changes import changed_after, update_message
from talkex_widget.backends.history.sqlite_reads import READ_POSITION, mark_read
from talkex_widget.backends.history.sqlite_schema import (
    SCHEMA_V1,
    SCHEMA_VERSION,
    SYNCHRONOUS,
    migrate,
)

__all__ = ["SCHEMA_V1", "SCHEMA_VERSION", "SYNCHRONOUS", "SqliteHistory"]


_BUSY_TIMEOUT_S = 10.0
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_by_seq = attrgetter("seq")

_Query = tuple[str, tuple[Any, ...] | dict[str, Any]]
_BEFORE = f"SELECT {COLUMNS} FROM messages WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?"
_LAST_SEQ = "SELECT last_seq FROM rooms WHERE name = ?"
_CHANGED, _UNCHANGED = changed_after(COLUMNS)


class SqliteHistory(HistoryStore):
    """A :class:`HistoryStore` in the SQLite file at ``path`` (created with its folders)."""

    def __init__(self, path: str | Path) -> None:
        if str(path) in ("", ":memory:"):
            raise ValueError("SqliteHistory needs a file path; use memory:// for in-memory history")
        self._path = Path(path)
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="talkex-history-read")
        self._read_conn: sqlite3.Connection | None = None  # used only on the reader thread
        self._queue: queue.SimpleQueue[Append | None] = queue.SimpleQueue()  # None: stop
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()  # orders "closed?" + enqueue against close's stop marker
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the file, check and migrate its schema, start the threads. Idempotent.

        Raises :class:`HistoryError` if the file is not a usable history; a later call tries
        again. Runs on the reader thread, which also serializes it against :meth:`close`.
        """
        self._check_not_closed()
        if self._writer is None:
            await asyncio.get_running_loop().run_in_executor(self._reader, self._open)

    async def close(self) -> None:
        """Write everything already queued, then stop both threads and close the file."""
        if self._closed:
            return
        await asyncio.get_running_loop().run_in_executor(self._reader, self._close)
        self._reader.shutdown(wait=False)

    def _open(self) -> None:
        if self._writer is not None:
            return
        self._check_not_closed()
        # Private: messages belong to the room, and a shared machine's default umask makes
        # new files world-readable. Existing folders and files keep the modes their owner
        # chose (a team may share one).
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"cannot create the folder for the message history {self._path}: {exc}"
            ) from exc
        try:
            _create_private_file(self._path)
        except OSError as exc:
            raise HistoryError(f"cannot create the message history {self._path}: {exc}") from exc
        write_conn = read_conn = None
        try:
            write_conn = self._connect(check_same_thread=False)
            migrate(write_conn, self._path)
            read_conn = self._connect(check_same_thread=True)
            read_conn.execute("PRAGMA query_only = ON")
        except BaseException as exc:
            for conn in (write_conn, read_conn):
                if conn is not None:
                    conn.close()
            if isinstance(exc, sqlite3.Error):
                raise _history_error(self._path, exc) from exc
            raise
        self._read_conn = read_conn
        self._writer = threading.Thread(
            target=self._write_loop, args=(write_conn,), name="talkex-history-write", daemon=True
        )
        self._writer.start()

    def _connect(self, *, check_same_thread: bool) -> sqlite3.Connection:
        # isolation_level=None: transactions are exactly the BEGIN/COMMIT written here.
        return sqlite3.connect(
            self._path,
            timeout=_BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=check_same_thread,
        )

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            if self._writer is not None:
                self._queue.put(None)
        if self._writer is not None:
            self._writer.join()
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    def _check_not_closed(self) -> None:
        if self._closed:
            raise HistoryError(f"the message history {self._path} is closed")

    async def _ensure_started(self) -> None:
        self._check_not_closed()
        if self._writer is None:
            await self.start()

    # -- writes ---------------------------------------------------------------------------

    async def append(
        self,
        room: str,
        author: str,
        body: str,
        sent_at: str,
        client_id: str | None = None,
        *,
        content: dict[str, Any] | None = None,
        attachment: Attachment | None = None,
    ) -> tuple[StoredMessage, bool]:
        """Queue the message for the writer thread; return once its batch has committed.

        Cancelling the caller does not withdraw the message: it may already be on disk.
        """
        await self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[StoredMessage, bool]] = loop.create_future()
        with self._lock:
            self._check_not_closed()
            request = Append(room, author, body, sent_at, client_id, loop, future)
            request.content, request.attachment = content, attachment
            self._queue.put(request)
        return await future

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = any(request is None for request in batch)
                appends = [request for request in batch if request is not None]
                if appends:
                    self._write_batch(conn, appends)
        finally:
            conn.close()

    def _write_batch(self, conn: sqlite3.Connection, batch: list[Append]) -> None:
        try:
            outcomes: list[Outcome] = list(insert_batch(conn, batch))
        except Exception as exc:
            if len(batch) > 1 and not isinstance(exc, sqlite3.OperationalError):
                # One transaction per append, so that one bad message (say, a lone surrogate
                # UTF-8 cannot encode) fails alone instead of taking its neighbours with it.
                # An OperationalError (disk full, locked, I/O) would only fail N times over.
                for request in batch:
                    self._write_batch(conn, [request])
                return
            error = _history_error(self._path, exc) if isinstance(exc, sqlite3.Error) else exc
            outcomes = [error] * len(batch)
        settle(batch, outcomes)

    # -- reads ----------------------------------------------------------------------------

    async def after(self, room: str, after_id: int, limit: int) -> tuple[list[StoredMessage], bool]:
        check_limit(limit)
        rows = await self._query(
            f"SELECT {COLUMNS} FROM messages WHERE room = ? AND id > ? ORDER BY id LIMIT ?",
            (room, _clamp(after_id), _clamp(limit + 1)),
        )
        return [row_message(room, row) for row in rows[:limit]], len(rows) > limit

    async def before(
        self, room: str, before_id: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        check_limit(limit)
        rows = await self._query(_BEFORE, _before_params(room, before_id, limit))
        return _descending_page(room, rows, limit)

    async def attachment(self, room: str, attachment_id: str) -> Attachment | None:
        rows = await self._query(
            "SELECT content_type, data FROM attachments WHERE room = ? AND id = ?",
            (room, attachment_id),
        )
        return Attachment(attachment_id, rows[0][0], bytes(rows[0][1])) if rows else None

    async def update(
        self, room: str, message_id: int, change: Callable[[StoredMessage], StoredMessage]
    ) -> tuple[StoredMessage, bool]:
        """In a worker thread on a connection of its own: see :mod:`.sqlite_changes`."""
        await self._ensure_started()
        try:
            return await asyncio.to_thread(
                update_message,
                self._path,
                SYNCHRONOUS,
                COLUMNS,
                row_message,
                room,
                message_id,
                change,
            )
        except sqlite3.Error as exc:
            raise _history_error(self._path, exc) from exc

    async def changed_after(
        self, room: str, after_seq: int, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        check_limit(limit)
        params = {"room": room, "seq": _clamp(after_seq), "limit": _clamp(limit + 1)}
        changed, unchanged = await self._queries((_CHANGED, params), (_UNCHANGED, params))
        messages = sorted((row_message(room, row) for row in changed + unchanged), key=_by_seq)
        return messages[:limit], len(messages) > limit

    async def last_seq(self, room: str) -> int:
        return _first(await self._query(_LAST_SEQ, (room,)))

    async def rooms(self) -> list[str]:
        rows = await self._query("SELECT name FROM rooms ORDER BY name", ())
        return [name for (name,) in rows]

    async def read_position(self, room: str, person: str) -> int:
        return _first(await self._query(READ_POSITION, (room, person)))

    async def latest_page(self, room: str, person: str, limit: int) -> LatestPage:
        """The three reads of a join in one trip to the reader thread, in the same order."""
        check_limit(limit)
        seq, page, read = await self._queries(
            (_LAST_SEQ, (room,)),
            (_BEFORE, _before_params(room, None, limit)),
            (READ_POSITION, (room, person)),
        )
        messages, more = _descending_page(room, page, limit)
        return LatestPage(messages, more, _first(seq), _first(read))

    async def mark_read(self, room: str, person: str, message_id: int) -> int:
        """On the reader thread, with a connection of its own (see :mod:`.sqlite_reads`)."""
        await self._ensure_started()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._reader, mark_read, self._path, room, person, _clamp(message_id)
            )
        except sqlite3.Error as exc:
            raise _history_error(self._path, exc) from exc

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        (rows,) = await self._queries((sql, params))
        return rows

    async def _queries(self, *queries: _Query) -> list[list[tuple[Any, ...]]]:
        """Run ``queries`` in turn on the reader thread: one hand-over for them all, and one
        snapshot of the file (see :meth:`_fetch`)."""
        await self._ensure_started()
        return await asyncio.get_running_loop().run_in_executor(self._reader, self._fetch, queries)

    def _fetch(self, queries: tuple[_Query, ...]) -> list[list[tuple[Any, ...]]]:
        """Several queries run in one read transaction, so they all see the same commits.

        Without it a commit can land between two of them: "changed after n" reads the changed
        messages, then the plain ones, and a message changed in between is in neither (no
        longer plain, not yet changed when the first query ran), and a join missed it. In WAL
        mode a read transaction holds its snapshot without blocking the writer.
        """
        conn = self._read_conn
        if conn is None:  # closed while this query waited for the reader thread
            raise HistoryError(f"the message history {self._path} is closed")
        try:
            if len(queries) == 1:  # a single statement is a snapshot by itself
                ((sql, params),) = queries
                return [conn.execute(sql, params).fetchall()]
            conn.execute("BEGIN")
            try:
                return [conn.execute(sql, params).fetchall() for sql, params in queries]
            finally:
                conn.execute("COMMIT")  # nothing written: it only lets the snapshot go
        except sqlite3.Error as exc:
            raise _history_error(self._path, exc) from exc


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600, unless something is there already.

    Done *before* SQLite opens it, so no message is ever written with a wider mode; SQLite
    gives the ``-wal`` and ``-shm`` files it creates the mode of the database file. An empty
    file is a new database to SQLite. ``O_EXCL``: an existing file is never touched.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _before_params(room: str, before_id: int | None, limit: int) -> tuple[Any, ...]:
    """Parameters of :data:`_BEFORE`: one row past the page tells whether more exist."""
    return room, _INT64_MAX if before_id is None else _clamp(before_id), _clamp(limit + 1)


def _descending_page(
    room: str, rows: list[tuple[Any, ...]], limit: int
) -> tuple[list[StoredMessage], bool]:
    """A page read newest first by :data:`_BEFORE`, returned ascending, and whether more exist."""
    return [row_message(room, row) for row in reversed(rows[:limit])], len(rows) > limit


def _first(rows: list[tuple[Any, ...]]) -> int:
    """The integer a one-value query found; 0 for no row (no room yet, nothing read yet)."""
    return int(rows[0][0]) if rows else 0


def _clamp(n: int) -> int:
    """Keep a client-supplied id inside SQLite's integer range instead of overflowing."""
    return max(_INT64_MIN, min(n, _INT64_MAX))


def _history_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    """Say what a SQLite error means for the user: a bad file, or a file we cannot use."""
    if type(exc) is sqlite3.DatabaseError:  # SQLITE_NOTADB and SQLITE_CORRUPT, not subclasses
        return HistoryError(
            f"{path} is not a usable message history: it is not a SQLite database or it is "
            f"corrupt ({exc}); move it aside or use another file"
        )
    return HistoryError(f"cannot read or write the message history {path}: {exc}")
