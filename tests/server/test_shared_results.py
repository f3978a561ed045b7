"""Shared results over the wire: table, code and figure pushes, and the attachment route.

A figure travels base64 in its ``new_msg``; the broadcast and history carry only its
metadata; the image is served to people of its room with its proven type and ``nosniff``.
An oversized or non-image figure is refused with the reason, and nothing is stored.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from tornado.httpclient import AsyncHTTPClient

from talkex_widget.core.kinds import parse_post
from talkex_widget.core.rooms import RoomRules
from talkex_widget.server.app import ServerConfig, TalkexServer
from tests.conftest import RELAXED, TOKEN
from tests.helpers import RawSocket
from tests.images import jpeg_header, png

MAX_ATTACHMENT = 4096


@pytest.fixture
async def server() -> AsyncIterator[TalkexServer]:
    rules = RoomRules(max_attachment=MAX_ATTACHMENT)
    srv = TalkexServer(ServerConfig(port=0, token=TOKEN, limits=RELAXED, rules=rules))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def joined(srv: TalkexServer, nickname: str) -> RawSocket:
    url = f"ws://127.0.0.1:{srv.port}/socket/websocket?vsn=2.0.0&token={TOKEN}"
    sock = await RawSocket.open(url + f"&nickname={nickname}")
    assert (await sock.join())["status"] == "ok"
    return sock


async def push(sock: RawSocket, ref: str, payload: dict[str, Any]) -> dict[str, Any]:
    sock.send(["1", ref, "room:lobby", "new_msg", payload])
    return await sock.reply_to(ref)


async def fetch(srv: TalkexServer, path: str, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"token {token}"} if token else {}
    url = f"http://127.0.0.1:{srv.port}{path}"
    return await AsyncHTTPClient().fetch(url, headers=headers, raise_error=False)


async def test_table_code_and_figure_reach_history_and_the_image_route(
    server: TalkexServer,
) -> None:
    sock = await joined(server, "ann")
    try:
        table = {"columns": ["a", "b"], "rows": [[1, "x"]], "total_rows": 80}
        assert (await push(sock, "2", {"kind": "table", "table": table}))["status"] == "ok"
        code = {"kind": "code", "body": "    x = 1\n", "language": "Python"}
        assert (await push(sock, "3", code))["status"] == "ok"
        image = png(3, 2)
        figure = {"kind": "figure", "body": "loss", "image": base64.b64encode(image).decode()}
        assert (await push(sock, "4", figure))["status"] == "ok"
        meta = (await push(sock, "5", {"body": "after"}))["response"]
        history = await server.service.history.before("lobby", None, 10)
        figure_meta = history[0][2].content["attachment"]  # type: ignore[index]
        sock.send(["1", "6", "room:lobby", "attachment", {"id": figure_meta["id"]}])
        fetched = await sock.reply_to("6")
        assert fetched["status"] == "ok"
        assert fetched["response"]["type"] == "image/png"
        assert base64.b64decode(fetched["response"]["data"]) == image
        sock.send(["1", "7", "room:lobby", "attachment", {"id": "x" * 22}])
        assert "no such attachment" in (await sock.reply_to("7"))["response"]["reason"]
    finally:
        sock.close()
    assert meta["id"] == 4
    page = await fetch(server, "/api/rooms/lobby/messages")
    messages = orjson.loads(page.body)["messages"]
    shared_table, shared_code, shared_figure, _ = messages
    assert shared_table["kind"] == "table" and shared_table["body"] == "table (80 rows × 2 columns)"
    assert shared_table["table"]["rows"] == [[1, "x"]]
    assert (shared_code["kind"], shared_code["body"], shared_code["language"]) == (
        "code",
        "    x = 1",
        "python",
    )
    meta = shared_figure["attachment"]
    assert shared_figure["body"] == "loss" and "image" not in shared_figure
    assert (meta["type"], meta["width"], meta["height"], meta["size"]) == (
        "image/png",
        3,
        2,
        len(image),
    )
    served = await fetch(server, f"/api/rooms/lobby/attachments/{meta['id']}")
    assert served.code == 200 and served.body == image
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert (await fetch(server, f"/api/rooms/lobby/attachments/{meta['id']}", None)).code == 403
    assert (await fetch(server, f"/api/rooms/other/attachments/{meta['id']}")).code == 404


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png(400, 400) + b"\x00" * MAX_ATTACHMENT, "image is too large"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "no SVG"),
        (b"<html><script>alert(1)</script></html>", "not a PNG or JPEG"),
        (png()[:40], "truncated"),
        (jpeg_header()[:6], "broken JPEG"),
    ],
)
async def test_a_bad_figure_is_refused_with_a_reason_and_nothing_is_stored(
    server: TalkexServer, data: bytes, reason: str
) -> None:
    sock = await joined(server, "ann")
    try:
        figure = {"kind": "figure", "image": base64.b64encode(data).decode()}
        refused = await push(sock, "2", figure)
        assert refused["status"] == "error" and reason in refused["response"]["reason"]
    finally:
        sock.close()
    assert await server.service.history.rooms() == []


async def test_a_jpeg_figure_is_taken() -> None:
    rules = RoomRules()
    post = parse_post({"kind": "figure", "image": base64.b64encode(jpeg_header()).decode()}, rules)
    assert post.content is not None
    assert post.content["attachment"]["type"] == "image/jpeg"
    assert (post.content["attachment"]["width"], post.content["attachment"]["height"]) == (3, 4)
    with pytest.raises(ValueError, match="base64"):
        parse_post({"kind": "figure", "image": "not base64!"}, rules)
