"""The message types that the server posts, the backends store and every reader receives.

In the core, not in a backend, so that pure code (the transcript, the service) can speak of a
stored message without importing a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Attachment", "StoredMessage"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """The bytes of a message's image, stored beside it and served by its own URL.

    Kept out of :class:`StoredMessage` so that history pages, catch-up and broadcasts carry
    only the image's metadata (in ``content["attachment"]``), never megabytes of pixels.
    """

    id: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as stored. ``sent_at`` is ISO 8601 UTC, e.g. ``"2026-11-29T15:40:01.123Z"``.

    It is the server's clock, not the sender's, so every reader sorts and shows the same time.
    ``content`` is ``None`` for a plain text message; a shared result holds its ``kind``
    (``table``, ``code``, ``figure``) and that kind's fields (see :mod:`.kinds`), which travel
    beside ``body`` on the wire so that clients that know no kinds still show the body.
    """

    id: int
    room: str
    author: str
    body: str
    sent_at: str
    client_id: str | None = None
    content: dict[str, Any] | None = None
    seq: int = 0
    """Place in the room's one sequence of changes (see :mod:`.changes`); 0 when unknown."""
    edited_at: str | None = None
    deleted_at: str | None = None
    """Set once the message is deleted: the body is erased and a tombstone stays in its place."""
    reactions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(emoji, who)`` pairs in the fixed order of :data:`.changes.REACTIONS`, each ``who`` in
    the order people reacted; a tuple so that a message stays immutable and comparable."""

    @property
    def kind(self) -> str:
        return str(self.content["kind"]) if self.content else "text"

    def to_wire(self) -> dict[str, Any]:
        """The ``new_msg`` payload. The room is left out: the frame's topic already names it."""
        wire: dict[str, Any] = dict(self.content) if self.content else {}
        wire.update(id=self.id, body=self.body, author=self.author, sent_at=self.sent_at)
        if self.client_id is not None:
            wire["client_id"] = self.client_id
        if self.seq:
            wire["seq"] = self.seq
        if self.edited_at is not None:
            wire["edited_at"] = self.edited_at
        if self.deleted_at is not None:
            wire["deleted_at"] = self.deleted_at
        if self.reactions:
            wire["reactions"] = {emoji: list(who) for emoji, who in self.reactions}
        return wire
