"""The app in hub mode against a stand-in for the hub's API (``GET /hub/api/user``), so hub
mode is exercised in every run; tests/hub drive a real JupyterHub, proxy and browsers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

pytest.importorskip("jupyterhub", reason="JupyterHub mode needs the jupyterhub extra")

import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from talkex_widget.client import ConnectError, RoomClient, Socket
from talkex_widget.server.app import TalkexServer
from talkex_widget.server.config import ServerConfig
from talkex_widget.server.hub import HubSettings

from ..helpers import check_group_room, eventually, free_port

ACCESS = "access:services!service=talkex"
USERS: dict[str, dict[str, Any]] = {
    "alice-token": {"kind": "user", "name": "alice", "groups": ["data"], "scopes": [ACCESS]},
    "dave-token": {"kind": "user", "name": "dave", "groups": [], "scopes": [ACCESS]},
    "erin-token": {
        "kind": "user",
        "name": "erin",
        "scopes": [ACCESS],
        "user_info": {
            "display_name": "Erin Example",
            "color": "#0e7490",
            "avatar_url": "https://avatars.example/erin.png",
        },
    },
    "carol-token": {"kind": "user", "name": "carol", "groups": [], "scopes": ["self"]},
    "service-token": {"kind": "service", "name": "other", "scopes": [ACCESS]},
}


class FakeHubUser(tornado.web.RequestHandler):
    """``GET /hub/api/user``: the model of the token's owner, 403 for unknown tokens."""

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        if token not in USERS:
            raise tornado.web.HTTPError(403)
        self.finish(orjson.dumps(USERS[token]))


@pytest.fixture
async def hub_server() -> AsyncIterator[str]:
    """Talkex in hub mode on a free port, asking the stand-in hub; its base URL."""
    api_port = free_port()
    api = tornado.web.Application([("/hub/api/user", FakeHubUser)]).listen(api_port, "127.0.0.1")
    port = free_port()
    settings = HubSettings.from_env(
        {
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
            "JUPYTERHUB_SERVICE_PREFIX": "/services/talkex/",
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{api_port}/hub/api",
            "JUPYTERHUB_API_TOKEN": "service-secret",
            "JUPYTERHUB_CLIENT_ID": "service-talkex",
        }
    )
    server = TalkexServer(ServerConfig(host="127.0.0.1", port=port, hub=settings))
    await server.start()
    try:
        yield f"http://127.0.0.1:{port}/services/talkex/"
    finally:
        await server.stop()
        api.stop()


async def fetch(url: str, **headers: str) -> Any:
    try:
        return await AsyncHTTPClient().fetch(url, headers=headers, follow_redirects=False)
    except HTTPClientError as exc:
        return exc.response


async def test_every_route_is_under_the_prefix(hub_server: str) -> None:
    assert (await fetch(hub_server + "healthz")).code == 200
    root = hub_server.replace("/services/talkex/", "/")
    assert (await fetch(root + "healthz")).code == 404
    assert (await fetch(root + "api/origins")).code == 404
    static = await fetch(hub_server + "static/talkex.css")
    assert static.code in (200, 404)  # 404 only when the JS bundle is not built


async def test_a_page_without_a_login_goes_to_the_hubs_oauth_and_back(hub_server: str) -> None:
    response = await fetch(hub_server + "rooms/lobby")
    assert response.code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/hub/api/oauth2/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == ["service-talkex"]
    assert query["redirect_uri"] == ["/services/talkex/oauth_callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert "service-talkex-oauth-state" in response.headers["Set-Cookie"]


async def test_a_page_with_a_token_names_the_user_and_the_base(hub_server: str) -> None:
    page = await fetch(hub_server, Authorization="token alice-token")
    assert page.code == 200
    html = page.body.decode()
    assert 'data-base="/services/talkex/"' in html and 'data-user="alice"' in html
    assert "/services/talkex/static/page.js" in html


async def test_carol_and_other_services_get_no_page(hub_server: str) -> None:
    refused = await fetch(hub_server, Authorization="token carol-token")
    assert refused.code == 403 and ACCESS in refused.body.decode()
    assert (await fetch(hub_server, Authorization="token service-token")).code == 302


async def test_sockets_are_the_hub_user_and_group_rooms_are_the_groups(hub_server: str) -> None:
    alice = Socket(hub_server, {"token": "alice-token", "nickname": "bob"})
    dave = Socket(hub_server, {"token": "dave-token"})
    await alice.connect()
    await dave.connect()
    try:
        lobby = RoomClient(alice, "lobby")
        await lobby.join()
        await eventually(lambda: "alice" in lobby.presence.state, what="alice by her hub name")
        assert "bob" not in lobby.presence.state
        await check_group_room(member=alice, outsider=dave)
    finally:
        await alice.disconnect()
        await dave.disconnect()
    with pytest.raises(ConnectError, match=ACCESS):
        await Socket(hub_server, {"token": "carol-token"}).connect()


async def test_the_messages_api_keeps_group_rooms_to_members(hub_server: str) -> None:
    url = hub_server + "api/rooms/group.data.lobby/messages"
    assert (await fetch(url, Authorization="token alice-token")).code == 200
    refused = await fetch(url, Authorization="token dave-token")
    assert refused.code == 403 and b"not a member of group data" in refused.body


async def test_presence_shows_the_hubs_name_colour_and_avatar(hub_server: str) -> None:
    erin = Socket(hub_server, {"token": "erin-token"})
    await erin.connect()
    try:
        lobby = RoomClient(erin, "lobby")
        await lobby.join()
        await eventually(lambda: "erin" in lobby.presence.state, what="erin by her hub name")
        (meta,) = lobby.presence.state["erin"]["metas"]
        assert (meta["display_name"], meta["color"], meta["avatar_url"]) == (
            "Erin Example",
            "#0e7490",
            "https://avatars.example/erin.png",
        )
    finally:
        await erin.disconnect()
    me = orjson.loads((await fetch(hub_server + "api/me", Authorization="token erin-token")).body)
    assert me["color"] == "#0e7490" and me["avatar_url"] == "https://avatars.example/erin.png"


async def test_a_refused_oauth_callback_logs_no_code(
    hub_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The OAuth callback's URL carries the code the hub issued: a refusal (here, a state that
    matches no cookie) is logged, by Tornado and by the access log, without it."""
    code = "oauth-code-" + "7" * 24
    with caplog.at_level(logging.DEBUG):
        refused = await fetch(hub_server + f"oauth_callback?code={code}&state=unknown")
    assert refused.code in (400, 403)
    assert "oauth_callback" in caplog.text
    assert code not in caplog.text
