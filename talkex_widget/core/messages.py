"""The message types that the server posts, the backends store and every reader receives.

In the core, not in a backend, so that pure code (the transcript, the service) can speak of a
stored message without importing a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["StoredMessage"]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as stored. ``sent_at`` is ISO 8601 UTC, e.g. ``"2026-11-29T15:40:01.123Z"``.

    It is the server's clock, not the sender's, so every reader sorts and shows the same time.
    """

    id: int
    room: str
    author: str
    body: str
    sent_at: str
    client_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The ``new_msg`` payload. The room is left out: the frame's topic already names it."""
        wire: dict[str, Any] = {
            "id": self.id,
            "body": self.body,
            "author": self.author,
            "sent_at": self.sent_at,
        }
        if self.client_id is not None:
            wire["client_id"] = self.client_id
        return wire
