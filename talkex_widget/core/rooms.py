"""Room rules: what counts as a valid room, nickname, message and status.

Pure functions with the reasons users see, shared by the server (authoritative) and by the
Python client and CLI (early, friendly errors). The limits live in :class:`RoomRules` so a
deployment can tune them without touching the code that enforces them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from talkex_widget.core.names import NameRefused, check_visible

__all__ = [
    "DEFAULT_RULES",
    "KINDS",
    "STATUSES",
    "TOPIC_PREFIX",
    "RoomError",
    "RoomRules",
    "iso_now",
    "online_meta",
    "room_from_topic",
    "topic_for",
]

TOPIC_PREFIX = "room:"
STATUSES = ("online", "away", "busy")
"""``busy`` goes beyond the seed's online/away: a kernel running a long cell can say so."""
KINDS = ("kernel",)
"""Connection kinds a join may declare (``kind`` in its payload, kept in the presence meta).

``kernel`` is a notebook kernel's own link: the person is there through a view of that
notebook already, so lists count it as no extra tab. No kind means a person's view or page.
"""

_ROOM_RE = re.compile(r"[A-Za-z0-9_.\-]+")


class RoomError(ValueError):
    """A request the room rules refuse; ``reason`` is shown to the user as is.

    ``retry_after`` (seconds) marks a refusal that passes with time (a rate limit): the
    client keeps the message and sends it again then, instead of dropping it.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def iso_now(now: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, the form JavaScript's ``Date`` parses."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def topic_for(room: str) -> str:
    return TOPIC_PREFIX + room


def room_from_topic(topic: str) -> str | None:
    """The room a topic names, or ``None`` when the topic is not a room topic at all."""
    if not topic.startswith(TOPIC_PREFIX):
        return None
    return topic[len(TOPIC_PREFIX) :]


@dataclass(frozen=True, slots=True)
class RoomRules:
    max_room_name: int = 64
    max_nickname: int = 32
    max_body: int = 4000
    max_activity: int = 80
    """Longest ``activity`` text in a presence meta (what a busy person is running)."""
    max_attachment: int = 1024 * 1024
    """Largest image a message may carry (a figure shared from a kernel), in bytes; 0 takes
    none. The WebSocket frame limit grows to carry it (:func:`~.kinds.attachment_frame_bytes`)."""

    def room_name(self, name: str) -> str:
        if not name:
            raise RoomError("room name must not be empty")
        if len(name) > self.max_room_name:
            raise RoomError(f"room name must be at most {self.max_room_name} characters")
        if not _ROOM_RE.fullmatch(name):
            raise RoomError("room name may only use letters, digits, '-', '_' and '.'")
        return name

    def nickname(self, raw: Any) -> str:
        """Trimmed nickname; refuses what lets one person pass for another or for nobody:
        controls, bidi overrides, zero-width and filler characters, variation selectors,
        combining marks with no letter (:func:`~talkex_widget.core.names.check_visible`).

        Every way a name enters goes through here: the socket's nickname or signed token,
        ``talkex token``, and so the Python client, which hears the server's refusal.
        """
        if not isinstance(raw, str):
            raise RoomError("nickname is required")
        name = raw.strip()
        if not name:
            raise RoomError("nickname must not be empty")
        if len(name) > self.max_nickname:
            raise RoomError(f"nickname must be at most {self.max_nickname} characters")
        try:
            return check_visible(name)
        except NameRefused as exc:
            raise RoomError(exc.reason) from None

    def body(self, payload: dict[str, Any]) -> str:
        body = payload.get("body")
        if not isinstance(body, str):
            raise RoomError("body must be a string")
        body = body.strip()
        if not body:
            raise RoomError("message is empty")
        if len(body) > self.max_body:
            raise RoomError(f"message is too long ({len(body)} characters, limit {self.max_body})")
        return body

    def client_id(self, payload: dict[str, Any]) -> str | None:
        client_id = payload.get("client_id")
        if client_id is None:
            return None
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
            raise RoomError("client_id must be a string of 1 to 64 characters")
        return client_id

    def status(self, payload: dict[str, Any]) -> str:
        status = payload.get("status")
        if status not in STATUSES:
            raise RoomError(f"status must be one of {', '.join(STATUSES)}")
        return str(status)

    def activity(self, payload: dict[str, Any]) -> str | None:
        """Optional words beside a status ("running train.ipynb"); shown to everyone, so held
        to the nickname's rules and kept short: presence metas are copied to every member."""
        activity = payload.get("activity")
        if activity is None:
            return None
        if not isinstance(activity, str):
            raise RoomError("activity must be a string")
        activity = activity.strip()
        if len(activity) > self.max_activity:
            raise RoomError(f"activity must be at most {self.max_activity} characters")
        if not activity.isprintable():
            raise RoomError("activity may not contain control or invisible formatting characters")
        return activity or None

    def kind(self, payload: dict[str, Any]) -> str | None:
        """The optional connection kind of a join (see :data:`KINDS`)."""
        kind = payload.get("kind")
        if kind is None:
            return None
        if kind not in KINDS:
            raise RoomError(f"kind must be one of {', '.join(KINDS)}")
        return str(kind)

    def optional_int(self, payload: dict[str, Any], field: str, *, minimum: int = 0) -> int | None:
        value = payload.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise RoomError(f"{field} must be an integer ≥ {minimum}")
        return value

    def history_limit(
        self, payload: dict[str, Any], *, default: int = 50, maximum: int = 200
    ) -> int:
        limit = self.optional_int(payload, "limit", minimum=1)
        if limit is None:
            return default
        if limit > maximum:
            raise RoomError(f"limit must be at most {maximum}")
        return limit


DEFAULT_RULES = RoomRules()


def online_meta(
    status: str = "online",
    now: datetime | None = None,
    activity: str | None = None,
    kind: str | None = None,
) -> dict[str, str]:
    """The presence meta a fresh join tracks; ``kind`` stays through status changes."""
    meta = {"status": status, "online_at": iso_now(now)}
    if activity:
        meta["activity"] = activity
    if kind:
        meta["kind"] = kind
    return meta
