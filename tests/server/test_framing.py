"""WebSocket text frames, built once per broadcast (talkex_widget.server.framing)."""

from __future__ import annotations

import pytest
from tornado.websocket import WebSocketProtocol13

from talkex_widget.server.framing import FrameCache, text_frame


class _Capture:
    """Enough of an IOStream for Tornado's own framing to write into."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


def tornado_frame(payload: bytes) -> bytes:
    protocol = WebSocketProtocol13.__new__(WebSocketProtocol13)
    protocol.mask_outgoing = False
    protocol._wire_bytes_out = 0
    protocol.stream = _Capture()  # type: ignore[assignment]
    protocol._write_frame(True, 0x1, payload)
    return protocol.stream.data  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_text_frame_is_the_frame_tornado_would_write(size: int) -> None:
    payload = b"x" * size
    assert text_frame(payload) == tornado_frame(payload)


def test_a_broadcast_is_framed_once_as_utf8() -> None:
    text = '[null,null,"room:caf\u00e9","new_msg",{"body":"\u2603 snow"}]'
    cache = FrameCache()
    frame = cache.frame(text)
    assert frame == text_frame(text.encode())
    assert cache.frame(text) is frame  # the same text object again: the same bytes, not rebuilt


def test_another_text_object_is_framed_again_even_when_equal() -> None:
    cache = FrameCache()
    first = "".join(["[null,null,", '"phoenix","x",{}]'])
    equal = "".join(["[null,null,", '"phoenix","x",{}]'])
    assert first == equal and first is not equal
    frame = cache.frame(first)
    assert cache.frame(equal) == frame and cache.frame(equal) is not frame
    other = cache.frame("[]")
    assert other == text_frame(b"[]") and cache.frame(first) == frame


def test_a_presence_flush_frames_its_diff_once_between_the_joiners_states() -> None:
    """state, diff, state, diff...: each joiner's own state, then the one diff for them all."""
    cache = FrameCache()
    diff = '[null,null,"room:lobby","presence_diff",{"joins":{},"leaves":{}}]'
    first = cache.frame(diff)
    for ref in range(3):
        state = f'["{ref}",null,"room:lobby","presence_state",{{}}]'
        assert cache.frame(state) == text_frame(state.encode())
        assert cache.frame(diff) is first
    assert cache.frame("[]") == text_frame(b"[]") and cache.frame(diff) is first
