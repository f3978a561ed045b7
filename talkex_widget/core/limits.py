"""What one connection may cost the server, and the token buckets that enforce rates.

A chat server inside a kernel listens on its own port, outside Jupyter's protection; every
limit here keeps one careless or hostile client from degrading the chat for everyone else.
All are configurable (``talkex serve --help``); the defaults suit a team on one hub.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TYPING_INTERVAL", "TYPING_TTL", "CloseCode", "Limits", "TokenBucket"]

TYPING_INTERVAL = 3.0
"""Seconds between two typing events of one sender in one room that are passed on: the server
drops extras (server/typing.py), and clients send no more often (client/room.py,
js/src/lib/typing.js)."""
TYPING_TTL = 6.0
"""Seconds a client shows a name after its last typing event (js/src/lib/typing.js)."""


class CloseCode:
    """WebSocket close codes Talkex uses (RFC 6455 section 7.4.1)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    INVALID_DATA = 1007
    POLICY = 1008
    TOO_BIG = 1009


@dataclass(frozen=True, slots=True)
class Limits:
    max_frame_bytes: int = 64 * 1024
    """Larger frames close the socket with 1009."""
    max_connections_per_nickname: int = 20
    """Sockets per identity: per signed name with ``--secret`` (or the hub's user), so nobody
    without that person's token can use up their slots; with a shared token, where anyone may
    type any name, per name and client address. 0 means unlimited."""
    max_connections_per_ip: int = 1000
    """0 means unlimited. Behind JupyterHub's proxy every user shares one address: keep it high."""
    max_connections: int = 20_000
    """Open sockets in all, whatever their address: past it the upgrade gets 503 ("server is
    full"). Many addresses (an IPv6 /64) cannot exhaust memory and file descriptors. 0 means
    unlimited."""
    max_request_bytes: int = 16 * 1024
    """Largest HTTP request body. The API takes a few hundred bytes; a declared larger body is
    refused with 413 before a byte of it is read. WebSocket frames have their own limit."""
    messages_per_window: int = 20
    message_window: float = 10.0
    """``new_msg`` beyond this rate gets an error reply ("you are sending too fast")."""
    frames_per_window: int = 200
    frame_window: float = 10.0
    """Any frames beyond this rate are a flood: the socket is closed with 1008."""
    max_send_buffer_bytes: int = 1024 * 1024
    """A client that stops reading is dropped once this much waits for it."""
    handshake_timeout: float = 10.0
    """A TCP connection that has not completed its HTTP request by then is closed."""


class TokenBucket:
    """``capacity`` events per ``window`` seconds, refilled continuously (bursts allowed)."""

    def __init__(
        self, capacity: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / window
        self.clock = clock
        self.tokens = float(capacity)
        self.updated = clock()

    def wait(self) -> float:
        """Seconds until the next token: what a refused client should wait before retrying."""
        missing = 1 - self.tokens
        return max(0.0, missing / self.rate)

    def take(self) -> bool:
        """Spend one token; ``False`` when the bucket is empty (the event is over the limit)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
