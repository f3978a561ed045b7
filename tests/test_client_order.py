"""The Python client handles frames in the order the server sent them: a join reply is applied
before the broadcast that follows it, even when both arrive in one read.

A real server cannot be made to put a change right behind a join reply on demand, so a
minimal Phoenix endpoint here answers a join with the reply and a ``msg_changed`` in a single
write: the client reads both frames before the coroutine that awaits the reply resumes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import tornado.web
import tornado.websocket
from tornado.httpserver import HTTPServer

from talkex_widget.client import RoomClient, Socket
from talkex_widget.server.framing import text_frame

from .helpers import eventually, free_port

PLAIN = {"id": 5, "author": "ann", "body": "helo", "sent_at": "2026-12-02T17:00:00Z", "seq": 5}
EDITED = {**PLAIN, "body": "hello", "edited_at": "2026-12-02T17:00:01Z", "seq": 6}


class ReplyThenChange(tornado.websocket.WebSocketHandler):
    """Answers ``phx_join`` with the message as it was, then at once its change."""

    def on_message(self, message: str | bytes) -> None:
        join_ref, ref, topic, event, _payload = orjson.loads(message)
        if event != "phx_join":
            return
        response: dict[str, Any] = {"messages": [PLAIN], "has_more": False, "seq": 5}
        reply = [join_ref, ref, topic, "phx_reply", {"status": "ok", "response": response}]
        change = [None, None, topic, "msg_changed", EDITED]
        frames = text_frame(orjson.dumps(reply)) + text_frame(orjson.dumps(change))
        assert self.ws_connection is not None
        self.ws_connection.stream.write(frames)  # type: ignore[attr-defined]


@pytest.fixture
async def endpoint() -> AsyncIterator[str]:
    port = free_port()
    server = HTTPServer(tornado.web.Application([(r"/socket/websocket", ReplyThenChange)]))
    server.listen(port, "127.0.0.1")
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_a_change_right_behind_the_join_reply_finds_the_join_applied(endpoint: str) -> None:
    socket = Socket(endpoint, {"nickname": "bob"})
    await socket.connect()
    room = RoomClient(socket, "lobby")
    try:
        await room.join()
        await eventually(lambda: room.messages.get(5) == EDITED, what="the edit")
        assert room.last_seen_seq == 6  # the change counted as seen: no gap at the next rejoin
    finally:
        await socket.disconnect()
