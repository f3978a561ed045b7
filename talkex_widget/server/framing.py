"""WebSocket framing for the Tornado shell: one broadcast reaching many sockets, framed once.

Handing a broadcast's text to each socket's ``write_message`` re-encodes it to UTF-8, re-frames
it and creates a task per socket. The service instead hands the *same* ``str`` object to every
member of a room, so a :class:`FrameCache` shared by an app's sockets, which remembers the text
object it framed last, frames a broadcast once and gives every socket the same bytes.
"""

from __future__ import annotations

__all__ = ["FrameCache", "text_frame"]


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size <= 0xFFFF:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


class FrameCache:
    """The frame of the last text object framed, recognised by identity.

    Identity, not equality: comparing a long text costs what framing it again would, while the
    same object arriving again means "the same broadcast". The cache holds a reference to
    the text, so its ``id`` cannot be reused by another string while it is cached. The pair is
    replaced in one assignment, so a cache shared across threads never pairs a text with
    another text's frame.
    """

    def __init__(self) -> None:
        self._last: tuple[str, bytes] = ("", text_frame(b""))

    def frame(self, text: str) -> bytes:
        """``text``'s WebSocket frame, built only if ``text`` is not the object framed last."""
        last = self._last
        if last[0] is text:
            return last[1]
        frame = text_frame(text.encode())
        self._last = (text, frame)
        return frame
