"""WebSocket framing: one broadcast reaching many sockets, framed once.

Encoding a frame once is not enough: handing the text to each socket's ``write_message``
re-encodes it to UTF-8, re-frames it and creates a task per socket. :class:`Broadcast` is the
frame text carrying its WebSocket frame, built once; the socket handler writes those same
bytes to every socket (see ``SocketHandler.send``).
"""

from __future__ import annotations

__all__ = ["Broadcast", "text_frame"]


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size <= 0xFFFF:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


class Broadcast(str):
    """Frame text shared by many sockets, with its WebSocket frame built once.

    A ``str`` so that any :class:`~.service.Peer` takes it as the text it is; a socket that
    can write raw bytes uses :attr:`frame` instead of encoding and framing the text again.
    """

    frame: bytes

    def __new__(cls, text: str) -> Broadcast:
        self = super().__new__(cls, text)
        self.frame = text_frame(text.encode())
        return self
