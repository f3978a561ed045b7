"""Phoenix Channels V2 wire frames: ``[join_ref, ref, topic, event, payload]``.

Kept free of I/O so the server, the Python client and the tests share one codec, and so a
malformed frame is a typed :class:`ProtocolError` carrying whatever addressing could still be
read: the server can then answer the sender on the right topic instead of dropping the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

__all__ = [
    "PHOENIX_TOPIC",
    "Event",
    "Message",
    "ProtocolError",
    "ReplyStatus",
    "decode",
    "encode",
    "error_reply",
    "ok_reply",
    "reply",
]

PHOENIX_TOPIC = "phoenix"
"""The socket-level topic: heartbeats go there, and frame errors that name no topic."""


class Event(str, Enum):
    """Events reserved by the Phoenix protocol."""

    JOIN = "phx_join"
    LEAVE = "phx_leave"
    REPLY = "phx_reply"
    ERROR = "phx_error"
    CLOSE = "phx_close"
    HEARTBEAT = "heartbeat"


class ReplyStatus(str, Enum):
    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
    """One frame. ``join_ref`` and ``ref`` are the client's opaque strings (phoenix.js counters)."""

    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict[str, Any]


class ProtocolError(ValueError):
    """A frame that is not a valid V2 frame.

    ``topic`` and ``ref`` are set when they could be read, so the error can be answered as a
    ``phx_reply`` the sender's push is waiting on.
    """

    def __init__(
        self,
        reason: str,
        *,
        topic: str | None = None,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.topic = topic
        self.ref = ref
        self.join_ref = join_ref


_SLOTS = ("join_ref", "ref", "topic", "event", "payload")


def decode(data: str | bytes) -> Message:
    """Parse one text frame; raise :class:`ProtocolError` with a reason a person can act on."""
    try:
        frame = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not valid JSON: {exc.msg}") from None
    if not isinstance(frame, list):
        raise ProtocolError(
            f"frame must be a JSON array [join_ref, ref, topic, event, payload], "
            f"got {type(frame).__name__}"
        )
    if len(frame) != len(_SLOTS):
        raise ProtocolError(
            f"frame must have 5 elements [join_ref, ref, topic, event, payload], got {len(frame)}"
        )
    join_ref, ref, topic, event, payload = frame
    # Read the addressing first, so later errors can still be replied to.
    known_topic = topic if isinstance(topic, str) and topic else None
    known_ref = ref if isinstance(ref, str) else None
    known_join_ref = join_ref if isinstance(join_ref, str) else None

    def fail(reason: str) -> ProtocolError:
        return ProtocolError(reason, topic=known_topic, ref=known_ref, join_ref=known_join_ref)

    for name, value in (("join_ref", join_ref), ("ref", ref)):
        if value is not None and not isinstance(value, str):
            raise fail(f"{name} must be a string or null, got {_json_type(value)}")
    if not isinstance(topic, str) or not topic:
        raise fail(f"topic must be a non-empty string, got {_json_type(topic)}")
    if not isinstance(event, str) or not event:
        raise fail(f"event must be a non-empty string, got {_json_type(event)}")
    if not isinstance(payload, dict):
        raise fail(f"payload must be a JSON object, got {_json_type(payload)}")
    return Message(join_ref, ref, topic, event, payload)


def encode(message: Message) -> str:
    """Serialise a frame as the text a WebSocket text frame carries."""
    return orjson.dumps(
        [message.join_ref, message.ref, message.topic, message.event, message.payload]
    ).decode()


def reply(to: Message, status: ReplyStatus, response: dict[str, Any] | None = None) -> Message:
    """The ``phx_reply`` a client's push (matched by ``ref``) is waiting for."""
    return Message(
        to.join_ref,
        to.ref,
        to.topic,
        Event.REPLY.value,
        {"status": status.value, "response": response or {}},
    )


def ok_reply(to: Message, response: dict[str, Any] | None = None) -> Message:
    return reply(to, ReplyStatus.OK, response)


def error_reply(to: Message, reason: str, **details: Any) -> Message:
    return reply(to, ReplyStatus.ERROR, {"reason": reason, **details})


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "empty string" if not value else "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
