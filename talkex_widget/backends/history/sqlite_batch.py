"""The SQLite store's write path: appends queued for the writer thread, written in one
transaction per batch, and handed back to their event loops.

Apart from :mod:`.sqlite` so that the store (threads, connections, queries) and the batch
(what one transaction does, and how its outcomes reach the awaiting coroutines) each read in
one sitting.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson

from talkex_widget.backends.history import Attachment, StoredMessage
from talkex_widget.backends.history.sqlite_changes import (
    CHANGE_COLUMNS,
    change_fields,
    split_row,
)

__all__ = ["COLUMNS", "Append", "Outcome", "insert_batch", "row_message", "settle"]

COLUMNS = f"id, author, body, sent_at, client_id, content, {CHANGE_COLUMNS}"
"""The columns every message query selects, in the order :func:`row_message` reads them."""


@dataclass(slots=True)
class Append:
    """An append waiting for the writer thread, with the future its coroutine awaits."""

    room: str
    author: str
    body: str
    sent_at: str
    client_id: str | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[StoredMessage, bool]]
    content: dict[str, Any] | None = None
    attachment: Attachment | None = None


Outcome = tuple[StoredMessage, bool] | BaseException


def insert_batch(conn: sqlite3.Connection, batch: list[Append]) -> list[tuple[StoredMessage, bool]]:
    """Store a batch in one transaction. Dedupe sees earlier appends of the same batch."""
    results: list[tuple[StoredMessage, bool]] = []
    counters: dict[str, list[int]] = {}  # room -> [last_id, last_seq], written back at the end
    conn.execute("BEGIN IMMEDIATE")
    try:
        for request in batch:
            room, author, client_id = request.room, request.author, request.client_id
            if client_id is not None:
                original = conn.execute(
                    f"SELECT {COLUMNS} FROM messages"
                    " WHERE room = ? AND author = ? AND client_id = ?",
                    (room, author, client_id),
                ).fetchone()
                if original is not None:
                    results.append((row_message(room, original), False))
                    continue
            counter = counters.get(room)
            if counter is None:
                row = conn.execute(
                    "SELECT last_id, last_seq FROM rooms WHERE name = ?", (room,)
                ).fetchone()
                counter = counters[room] = list(row) if row else [0, 0]
            counter[0] += 1
            counter[1] += 1  # stored as NULL: id + the room's shift (see .sqlite_changes)
            message = StoredMessage(
                counter[0],
                room,
                author,
                request.body,
                request.sent_at,
                client_id,
                request.content,
                seq=counter[1],
            )
            content = None if request.content is None else orjson.dumps(request.content)
            conn.execute(
                "INSERT INTO messages (room, id, author, body, sent_at, client_id, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (room, message.id, author, message.body, message.sent_at, client_id, content),
            )
            if request.attachment is not None:
                attachment = request.attachment
                conn.execute(
                    "INSERT INTO attachments (room, id, message_id, content_type, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (room, attachment.id, message.id, attachment.content_type, attachment.data),
                )
            results.append((message, True))
        # OR REPLACE rewrites the whole row, every column named: about 2 µs a message less
        # than an upsert when batches are small. A column added to ``rooms`` must be named here.
        conn.executemany(
            "INSERT OR REPLACE INTO rooms (name, last_id, last_seq) VALUES (?, ?, ?)",
            [(room, last_id, last_seq) for room, (last_id, last_seq) in counters.items()],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


def settle(batch: list[Append], outcomes: list[Outcome]) -> None:
    """From the writer thread: hand each outcome to its future, one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]]
    by_loop = defaultdict(list)
    for request, outcome in zip(batch, outcomes, strict=True):
        by_loop[request.loop].append((request.future, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, outcome in settled:
        if future.done():  # the caller was cancelled; the message is stored all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def row_message(room: str, row: tuple[Any, ...]) -> StoredMessage:
    """A message from a row of :data:`COLUMNS`: its own columns, then its latest change."""
    own, changes = split_row(row)
    message_id, author, body, sent_at, client_id, content = own
    parsed = None if content is None else orjson.loads(content)
    return StoredMessage(
        message_id, room, author, body, sent_at, client_id, parsed, **change_fields(changes)
    )
