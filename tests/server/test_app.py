"""make_app and TalkexServer: the configuration reaches the service and the clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from talkex_widget.core.rooms import RoomRules
from talkex_widget.server.app import ServerConfig, TalkexServer
from tests.conftest import RELAXED, TOKEN
from tests.helpers import RawSocket


@pytest.fixture
async def small_server() -> AsyncIterator[TalkexServer]:
    config = ServerConfig(port=0, token=TOKEN, limits=RELAXED, rules=RoomRules(max_body=280))
    srv = TalkexServer(config)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_the_join_reply_tells_clients_the_configured_max_body(
    small_server: TalkexServer,
) -> None:
    url = f"ws://127.0.0.1:{small_server.port}/socket/websocket?vsn=2.0.0&token={TOKEN}"
    sock = await RawSocket.open(url + "&nickname=ann")
    try:
        reply = await sock.join()
        assert reply["status"] == "ok"
        assert reply["response"]["limits"]["max_body"] == 280
        sock.send(["1", "2", "room:lobby", "new_msg", {"body": "x" * 281}])
        refused = await sock.reply_to("2")
        assert "limit 280" in refused["response"]["reason"]
    finally:
        sock.close()
