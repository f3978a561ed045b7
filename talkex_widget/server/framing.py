"""WebSocket framing for the Tornado shell: one broadcast reaching many sockets, framed once.

Handing a broadcast's text to each socket's ``write_message`` re-encodes it to UTF-8, re-frames
it and creates a task per socket. The service instead hands the *same* ``str`` object to every
member of a room, so a :class:`FrameCache` shared by an app's sockets, which remembers the text
objects it framed last, frames a broadcast once and gives every socket the same bytes.
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
    """The frames of the last two text objects framed, recognised by identity.

    Identity, not equality: comparing a long text costs what framing it again would, while the
    same object arriving again means "the same broadcast". Two, because a presence flush
    alternates between each joiner's own ``presence_state`` and the one diff they all get
    after it: with only the last text remembered, that diff (thousands of joins in a storm)
    was encoded and framed again for every joiner. The cache holds references to the texts, so
    their ``id`` cannot be reused by other strings while they are cached. Both pairs are
    replaced in one assignment, so a cache shared across threads never pairs a text with
    another text's frame.
    """

    def __init__(self) -> None:
        empty = ("", text_frame(b""))
        self._recent: tuple[tuple[str, bytes], tuple[str, bytes]] = (empty, empty)

    def frame(self, text: str) -> bytes:
        """``text``'s WebSocket frame, built only if ``text`` is not one of the two objects
        framed last."""
        last, before = self._recent
        if last[0] is text:
            return last[1]
        if before[0] is text:
            self._recent = (before, last)
            return before[1]
        frame = text_frame(text.encode())
        self._recent = ((text, frame), last)
        return frame
