"""The HTTP handlers: pages, health, the history API and the origins API."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from talkex_widget.server.app import TalkexServer
from tests.conftest import TOKEN, JoinRoom, base_url, ws_url
from tests.helpers import RawSocket


async def test_healthz_counts_rooms_and_connections_for_token_holders(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    await join_room("alice", "one")
    await join_room("bob", "two")
    client = AsyncHTTPClient()
    anonymous = await client.fetch(base_url(server) + "healthz")
    assert json.loads(anonymous.body) == {"status": "ok"}
    for url, headers in [
        (f"healthz?token={TOKEN}", {}),
        ("healthz", {"Authorization": f"token {TOKEN}"}),
        ("healthz", {"Authorization": f"Bearer {TOKEN}"}),
        ("healthz", {"Cookie": f"talkex-token-{server.port}={TOKEN}"}),
    ]:
        health = json.loads((await client.fetch(base_url(server) + url, headers=headers)).body)
        assert health["status"] == "ok", headers
        assert health["rooms"] == 2 and health["connections"] == 2
        assert health["version"]
    wrong = await client.fetch(base_url(server) + "healthz?token=wrong")
    assert json.loads(wrong.body) == {"status": "ok"}


async def test_pages_need_the_token_then_keep_it_in_a_cookie(server: TalkexServer) -> None:
    client = AsyncHTTPClient()
    with pytest.raises(HTTPClientError) as info:
        await client.fetch(base_url(server))
    assert info.value.code == 403
    first = await client.fetch(
        base_url(server) + f"rooms/lobby?token={TOKEN}", follow_redirects=False, raise_error=False
    )
    assert first.code == 302 and first.headers["Location"] == "/rooms/lobby"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = await client.fetch(
        base_url(server) + "rooms/lobby", headers={"Cookie": cookie.split(";")[0]}
    )
    assert b'id="talkex-root"' in page.body


async def test_history_api_pages_back(server: TalkexServer, join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    ids = [await alice.send(f"m{i}") for i in range(5)]
    client = AsyncHTTPClient()
    response = await client.fetch(
        base_url(server) + f"api/rooms/lobby/messages?limit=2&before_id={ids[-1]}&token={TOKEN}"
    )
    page = json.loads(response.body)
    assert [m["body"] for m in page["messages"]] == ["m2", "m3"]
    assert page["has_more"] is True
    for bad in ("limit=0", "limit=abc", "before_id=-1"):
        response = await client.fetch(
            base_url(server) + f"api/rooms/lobby/messages?{bad}&token={TOKEN}", raise_error=False
        )
        assert response.code == 400 and json.loads(response.body)["error"]
    response = await client.fetch(base_url(server) + "api/rooms/lobby/messages", raise_error=False)
    assert response.code == 403


async def test_a_token_holder_vouches_for_a_jupyter_origin(server: TalkexServer) -> None:
    jupyter = "http://127.0.0.1:8888"
    url = ws_url(server, nickname="nb")
    with pytest.raises(HTTPClientError) as info:  # unknown page origin: refused
        await RawSocket.open(url, Origin=jupyter)
    assert info.value.code == 403
    client = AsyncHTTPClient()
    api = base_url(server) + "api/origins"
    for headers, body, code in [
        ({}, json.dumps({"origin": jupyter}), 403),
        ({"Cookie": f"talkex-token-{server.port}={TOKEN}"}, json.dumps({"origin": jupyter}), 403),
        ({"Authorization": f"token {TOKEN}"}, json.dumps({"origin": "javascript:alert(1)"}), 400),
        ({"Authorization": f"token {TOKEN}"}, json.dumps({"origin": 5}), 400),
        ({"Authorization": f"token {TOKEN}"}, "not json", 400),
    ]:
        response = await client.fetch(
            api, method="POST", body=body, headers=headers, raise_error=False
        )
        assert response.code == code, (headers, body, response.body)
    response = await client.fetch(
        api,
        method="POST",
        body=json.dumps({"origin": jupyter}),
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert jupyter in json.loads(response.body)["allowed"]
    sock = await RawSocket.open(url, Origin=jupyter)
    sock.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await sock.reply_to("1"))["status"] == "ok"
    sock.close()


async def _page_shell(server: TalkexServer) -> str:
    page = await AsyncHTTPClient().fetch(
        base_url(server) + "rooms/lobby", headers={"Cookie": f"talkex-token-{server.port}={TOKEN}"}
    )
    return page.body.decode()


async def test_a_page_of_a_standalone_server_names_no_host(server: TalkexServer) -> None:
    assert 'data-hosted-by=""' in await _page_shell(server)


@pytest.mark.server_config(hosted_by="notebook")
async def test_a_page_of_a_notebook_hosted_server_says_so(server: TalkexServer) -> None:
    """The page then tells a long outage as the notebook having stopped (js RoomView)."""
    assert 'data-hosted-by="notebook"' in await _page_shell(server)
