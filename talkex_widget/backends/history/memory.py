"""History kept in this process's memory: for tests and for ``--db memory``.

Each room is a list in id order, so paging is two bisections and a slice. Every method runs
to completion without awaiting, which makes each one atomic on the event loop: no locks needed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import replace
from operator import attrgetter
from typing import Any

from talkex_widget.backends.history import (
    Attachment,
    HistoryError,
    HistoryStore,
    StoredMessage,
    UnknownMessage,
    check_limit,
)

__all__ = ["MemoryHistory"]

_by_id = attrgetter("id")
_by_seq = attrgetter("seq")


class MemoryHistory(HistoryStore):
    """A :class:`HistoryStore` that forgets everything when the process ends."""

    def __init__(self) -> None:
        self._rooms: dict[str, list[StoredMessage]] = {}
        self._by_client_id: dict[tuple[str, str, str], StoredMessage] = {}
        self._seqs: dict[str, int] = {}
        self._attachments: dict[tuple[str, str], Attachment] = {}
        self._reads: dict[tuple[str, str], int] = {}  # (room, person) -> id read up to
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise HistoryError("the message history store is closed")

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
        self._check_open()
        key = (room, author, client_id) if client_id is not None else None
        if key is not None and (original := self._by_client_id.get(key)) is not None:
            return original, False
        messages = self._rooms.setdefault(room, [])
        next_id = messages[-1].id + 1 if messages else 1
        message = StoredMessage(next_id, room, author, body, sent_at, client_id, content)
        message = replace(message, seq=self._next_seq(room))
        messages.append(message)
        if attachment is not None:
            self._attachments[(room, attachment.id)] = attachment
        if key is not None:
            self._by_client_id[key] = message
        return message, True

    async def after(self, room: str, after_id: int, limit: int) -> tuple[list[StoredMessage], bool]:
        self._check_open()
        check_limit(limit)
        messages = self._rooms.get(room, [])
        start = bisect_right(messages, after_id, key=_by_id)
        end = start + limit
        return messages[start:end], end < len(messages)

    async def before(
        self, room: str, before_id: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        self._check_open()
        check_limit(limit)
        messages = self._rooms.get(room, [])
        end = len(messages) if before_id is None else bisect_left(messages, before_id, key=_by_id)
        start = max(0, end - limit)
        return messages[start:end], start > 0

    async def attachment(self, room: str, attachment_id: str) -> Attachment | None:
        self._check_open()
        return self._attachments.get((room, attachment_id))

    async def update(
        self, room: str, message_id: int, change: Callable[[StoredMessage], StoredMessage]
    ) -> tuple[StoredMessage, bool]:
        self._check_open()
        messages = self._rooms.get(room, [])
        index = bisect_left(messages, message_id, key=_by_id)
        if index == len(messages) or messages[index].id != message_id:
            raise UnknownMessage(room, message_id)
        current = messages[index]
        changed = change(current)
        if changed == current:
            return current, False
        changed = replace(changed, seq=self._next_seq(room))
        messages[index] = changed
        return changed, True

    async def changed_after(
        self, room: str, after_seq: int, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        self._check_open()
        check_limit(limit)
        changed = sorted((m for m in self._rooms.get(room, []) if m.seq > after_seq), key=_by_seq)
        return changed[:limit], len(changed) > limit

    async def last_seq(self, room: str) -> int:
        self._check_open()
        return self._seqs.get(room, 0)

    def _next_seq(self, room: str) -> int:
        self._seqs[room] = seq = self._seqs.get(room, 0) + 1
        return seq

    async def rooms(self) -> list[str]:
        self._check_open()
        return sorted(self._rooms)

    async def read_position(self, room: str, person: str) -> int:
        self._check_open()
        return self._reads.get((room, person), 0)

    async def mark_read(self, room: str, person: str, message_id: int) -> int:
        self._check_open()
        messages = self._rooms.get(room, [])
        latest = messages[-1].id if messages else 0
        position = max(self._reads.get((room, person), 0), min(message_id, latest))
        self._reads[(room, person)] = position
        return position

    async def close(self) -> None:
        self._closed = True
