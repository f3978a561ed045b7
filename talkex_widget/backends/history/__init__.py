"""Message history: the small interface every store implements, and the URL that picks one.

The server, the CLI and the tests code against :class:`HistoryStore` only. A backend is chosen
by URL scheme and imported lazily (the encode/broadcaster pattern), so ``memory://`` never pays
for sqlite and the ``redis://`` store depends on an optional extra.

Ids are per room, start at 1 and only grow: a client that saw id ``n`` can ask for "everything
after ``n``" after a reconnect and get exactly what it missed, in order. ``client_id`` makes a
retried ``new_msg`` (sent again because its reply was lost) land once instead of twice.

A message may carry ``content`` (a shared table, code or figure: :mod:`~talkex_widget.core.kinds`)
and one :class:`Attachment` (a figure's image), stored in the same write as the message: a
refused or failed post leaves neither behind, and a retry stores the image once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talkex_widget.core.messages import Attachment, StoredMessage

__all__ = [
    "Attachment",
    "HistoryError",
    "HistoryStore",
    "LatestPage",
    "StoredMessage",
    "UnknownMessage",
    "check_limit",
    "from_url",
    "store_url",
]


class HistoryError(Exception):
    """The store cannot do its job; the message says why in words a user can act on.

    Raised for a corrupt or foreign database file, a schema newer than this version knows, a
    path that cannot be created or written, or a store used after :meth:`HistoryStore.close`.
    The server reports it instead of crashing, and never "fixes" it by starting a fresh history.
    """


class UnknownMessage(LookupError):
    """No message with this id in the room (never stored, or trimmed away)."""

    def __init__(self, room: str, message_id: int) -> None:
        super().__init__(f"no message {message_id} in room {room}")
        self.reason = f"unknown message {message_id}"


def check_limit(limit: int) -> None:
    """Refuse a page size below 1: a zero-sized page would report "more exist" forever."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")


@dataclass(frozen=True, slots=True)
class LatestPage:
    """What a join reads from the store: see :meth:`HistoryStore.latest_page`."""

    messages: list[StoredMessage]
    """The latest messages, ascending."""
    has_more: bool
    """Whether older messages exist."""
    seq: int
    """The room's ``seq``, read before the page: a change after it is broadcast."""
    read_id: int
    """The person's read position (see :meth:`HistoryStore.read_position`)."""


class HistoryStore(ABC):
    """Where a room's messages live. All methods are coroutines and never block the event loop."""

    async def start(self) -> None:  # noqa: B027 - optional hook, deliberately not abstract
        """Open resources ahead of first use, so that failures surface at server start-up.

        The server always awaits it. Stores that need no set-up inherit this no-op.
        """

    @abstractmethod
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
        """Store a message under the room's next id and return it with ``True``.

        When ``client_id`` is given and ``(room, author, client_id)`` is already stored, return
        ``(original, False)`` and store nothing: the sender is retrying. Returns only once the
        message is durable, so an acknowledged message is never lost by a crash. ``content``
        is kept as given (JSON-able); ``attachment`` is stored with the message, atomically.
        """

    @abstractmethod
    async def attachment(self, room: str, attachment_id: str) -> Attachment | None:
        """The attachment stored with a message of ``room``, or ``None`` (never another
        room's: the id alone does not open an image to someone outside its room)."""

    @abstractmethod
    async def after(self, room: str, after_id: int, limit: int) -> tuple[list[StoredMessage], bool]:
        """The first ``limit`` messages with ``id > after_id``, ascending; ``True`` if more follow.

        This is how a reconnecting client catches up on what it missed.
        """

    @abstractmethod
    async def before(
        self, room: str, before_id: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        """The ``limit`` newest messages with ``id < before_id`` (``None``: the latest).

        Returned ascending so a page can be prepended as is; ``True`` if older ones exist.
        This is how a client shows recent history on join and scrolls back.
        """

    @abstractmethod
    async def update(
        self, room: str, message_id: int, change: Callable[[StoredMessage], StoredMessage]
    ) -> tuple[StoredMessage, bool]:
        """Apply ``change`` to message ``message_id`` atomically; ``True`` if it changed.

        ``change`` is pure (a store may call it again when a concurrent write got in first)
        and raises to refuse. A changed message takes the room's next ``seq``; an unchanged
        one is not written. Raises :class:`UnknownMessage` for an id the room does not hold.
        """

    @abstractmethod
    async def changed_after(
        self, room: str, after_seq: int, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        """Messages whose latest ``seq`` is above ``after_seq``, in ``seq`` order, each once
        in its current state; ``True`` if more follow. How a client catches up on new messages
        and on edits, deletes and reactions alike."""

    @abstractmethod
    async def last_seq(self, room: str) -> int:
        """The room's latest ``seq`` (0 for a room without messages)."""

    @abstractmethod
    async def rooms(self) -> list[str]:
        """Names of rooms that hold at least one message, sorted."""

    @abstractmethod
    async def read_position(self, room: str, person: str) -> int:
        """The id of the last message ``person`` has read in ``room``; 0 before any.

        Kept with the history so that it survives reloads and follows a person from one
        device to another: unread counts and the "new messages" line come from it.
        """

    @abstractmethod
    async def mark_read(self, room: str, person: str, message_id: int) -> int:
        """Move ``person``'s read position in ``room`` forward to ``message_id``; return it.

        Only forward: a device that was behind changes nothing. Held at the room's latest id,
        so no message is read before it exists. Atomic however many servers share the store.
        """

    async def latest_page(self, room: str, person: str, limit: int) -> LatestPage:
        """What a join shows ``person``: the room's ``seq``, then its ``limit`` newest
        messages, and where ``person`` has read to.

        One call, so that a store able to read all three in one go does (SQLite: one trip to
        its reader thread instead of three, for every join); this version asks in turn.
        """
        seq = await self.last_seq(room)
        messages, more = await self.before(room, None, limit)
        return LatestPage(messages, more, seq, await self.read_position(room, person))

    @abstractmethod
    async def close(self) -> None:
        """Flush pending writes and release resources. Idempotent; later calls fail."""


def from_url(url: str) -> HistoryStore:
    """Build the store a URL names, importing only that backend.

    ``memory://`` keeps history in this process only. ``sqlite:///`` followed by a path opens
    a file, so ``f"sqlite:///{path}"`` works for any path: ``sqlite:///talkex.db`` is relative
    to the working directory and ``sqlite:////var/lib/talkex.db`` (four slashes) is absolute,
    as in SQLAlchemy. ``redis://HOST:PORT/DB`` (or ``rediss://``) keeps history in Redis, shared
    by every server of a cluster; ``?max_len=N`` caps each room. The returned store does no I/O
    until :meth:`HistoryStore.start`.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"history URL {url!r} has no scheme; use memory:// or sqlite:///PATH")
    if scheme == "memory":
        if rest:
            raise ValueError(f"history URL {url!r}: memory:// takes no path")
        from talkex_widget.backends.history.memory import MemoryHistory

        return MemoryHistory()
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise ValueError(
                f"history URL {url!r}: write sqlite:///PATH (three slashes, then the path)"
            )
        path = rest[1:]
        if not path:
            raise ValueError(f"history URL {url!r} names no file; write sqlite:///PATH")
        from talkex_widget.backends.history.sqlite import SqliteHistory

        return SqliteHistory(path)
    if scheme in ("redis", "rediss"):
        from talkex_widget.backends.history.redis import RedisHistory

        return RedisHistory(url)
    raise ValueError(
        f"history URL {url!r} has unknown scheme {scheme!r}; "
        "supported: memory://, sqlite:///PATH, redis://HOST:PORT/DB"
    )


def store_url(value: str) -> str:
    """A history store URL from what people type: a URL, ``memory``, or a plain file path.

    Used by ``--db`` and by the embedded server, so both read a path the same way.
    """
    if "://" in value:
        return value
    if value == "memory":
        return "memory://"
    return "sqlite:///" + str(Path(value).expanduser().resolve())
