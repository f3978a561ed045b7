"""The Jupyter server extension: ``<base_url>talkex/`` behind Jupyter's login, as the viewer.

The session's JupyterLab (``lab``) runs with the extension enabled as ``pip install`` enables
it. A Talkex server of the test's own, published in the lab's runtime file as a kernel would
publish its embedded server, is what the route must find and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from talkex_widget.core.auth import Identity, issue_view_token, read_view_identity, read_view_token
from talkex_widget.core.profiles import Profile
from talkex_widget.notebook.discovery import read_runtime_file, runtime_file
from talkex_widget.notebook.embedded import ServerManager, ServerThread
from talkex_widget.server.app import ServerConfig

from .conftest import Lab

TOKEN = "route-shared-token"
VIEW_KEY = "route-view-key"


@pytest.fixture
def route_server(lab: Lab) -> Iterator[ServerThread]:
    """A Talkex server the lab's runtime file names (the previous file is put back after)."""
    thread = ServerThread(ServerConfig(port=0, token=TOKEN, view_key=VIEW_KEY)).start()
    path = lab.runtime / "talkex-server.json"
    before = path.read_bytes() if path.exists() else None
    info = {"url": f"http://127.0.0.1:{thread.port}/", "token": TOKEN, "pid": os.getpid()}
    path.write_text(json.dumps({**info, "view_key": VIEW_KEY}))
    path.chmod(0o600)
    yield thread
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)
    thread.stop()


def get(lab: Lab, path: str, *, auth: bool = True) -> tuple[int, Any]:
    headers = {"Authorization": f"token {lab.token}"} if auth else {}
    request = urllib.request.Request(f"{lab.url}{path}", headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def route_socket(lab: Lab, query: str, cookie: str | None) -> WebSocketClientConnection:
    """The route's socket as a page sends it: Jupyter's login in its cookie, and the chat's
    own ``token`` query parameter (which the route replaces)."""
    url = f"{lab.url.replace('http', 'ws', 1)}/talkex/socket/websocket?vsn=2.0.0&{query}"
    headers = {"Cookie": cookie} if cookie else {}
    return await websocket_connect(HTTPRequest(url, headers=headers, request_timeout=30))


async def join(ws: WebSocketClientConnection, room: str) -> None:
    await ws.write_message(orjson.dumps(["1", "1", f"room:{room}", "phx_join", {}]).decode())


async def online_until(
    ws: WebSocketClientConnection, done: Callable[[set[str]], bool], timeout: float = 15
) -> set[str]:
    """Who the socket hears is online, once ``done`` says so (presence state, then diffs)."""
    online: set[str] = set()

    async def listen() -> set[str]:
        while True:
            message = await ws.read_message()
            assert message is not None, f"closed: {ws.close_code} {ws.close_reason}"
            _, _, _, event, payload = orjson.loads(message)
            if event == "phx_reply":
                assert payload["status"] == "ok", payload
            elif event == "presence_state":
                online.clear()
                online.update(payload)
            elif event == "presence_diff":
                online.update(payload["joins"])
                online.difference_update(payload["leaves"])
            if done(online):
                return online

    return await asyncio.wait_for(listen(), timeout)


def test_the_routes_need_jupyters_login(lab: Lab, route_server: ServerThread) -> None:
    for path in ("/talkex/api/viewer", "/talkex/healthz"):
        status, _ = get(lab, path, auth=False)
        assert status == 403, path


async def test_the_socket_needs_jupyters_login(lab: Lab, route_server: ServerThread) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await route_socket(lab, "nickname=ada", None)
    assert refused.value.code == 403


async def test_another_site_cannot_use_a_viewers_login(
    lab: Lab, route_server: ServerThread
) -> None:
    """Browsers send cookies with cross-site WebSocket requests: Jupyter's origin check
    refuses them, so another site cannot chat as whoever is logged in to Jupyter."""
    url = f"{lab.url.replace('http', 'ws', 1)}/talkex/socket/websocket?vsn=2.0.0"
    headers = {"Cookie": lab.login_cookie(), "Origin": "http://evil.example"}
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(HTTPRequest(url, headers=headers, request_timeout=30))
    assert refused.value.code == 403


def test_http_goes_to_the_runtime_files_server_only(lab: Lab, route_server: ServerThread) -> None:
    status, health = get(lab, "/talkex/healthz")
    assert status == 200
    assert health["status"] == "ok"
    # Whatever the path says, the host is the runtime file's: these are paths on that server.
    for path in ("/talkex/api/http://127.0.0.2:9/healthz", "/talkex/api/@127.0.0.2:9/x"):
        status, body = get(lab, path)
        assert status == 404, (path, body)
    # The chat's own pages are not served on Jupyter's origin.
    for path in ("/talkex/", "/talkex/rooms/lobby", "/talkex/static/page.js"):
        status, body = get(lab, path)
        assert status == 404, (path, body)


def test_the_message_api_answers_through_the_route_under_jupyters_policy(
    lab: Lab, route_server: ServerThread
) -> None:
    request = urllib.request.Request(
        f"{lab.url}/talkex/api/rooms/lobby/messages", headers={"Cookie": lab.login_cookie()}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        assert response.status == 200
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert isinstance(json.loads(response.read()), dict)


def test_no_runtime_file_no_route(lab: Lab) -> None:
    path = lab.runtime / "talkex-server.json"
    before = path.read_bytes() if path.exists() else None
    path.unlink(missing_ok=True)
    try:
        status, body = get(lab, "/talkex/api/viewer")
    finally:
        if before is not None:
            path.write_bytes(before)
            path.chmod(0o600)
    assert status == 404
    assert b"no Talkex server" in body


def test_each_viewer_gets_a_token_naming_them(lab: Lab, route_server: ServerThread) -> None:
    """Without a login cookie each request is a new anonymous Jupyter user: the first to ask
    for a nickname keeps it, the next one is told apart by Jupyter's anonymous name."""
    wanted = f"ada-{os.urandom(3).hex()}"
    status, first = get(lab, f"/talkex/api/viewer?nickname={wanted}")
    assert status == 200
    assert first["nickname"] == wanted
    assert read_view_token(VIEW_KEY, first["token"]) == wanted
    assert first["server_url"] == f"http://127.0.0.1:{route_server.port}/"
    status, second = get(lab, f"/talkex/api/viewer?nickname={wanted}")
    assert second["nickname"].startswith("Anonymous ")
    assert read_view_token(VIEW_KEY, second["token"]) == second["nickname"]
    assert TOKEN not in json.dumps([first, second])


async def test_the_socket_speaks_as_the_viewer_whatever_the_page_claims(
    lab: Lab, route_server: ServerThread
) -> None:
    wanted = f"bob-{os.urandom(3).hex()}"
    forged = issue_view_token("another-key", "mallory", ttl=60)
    owner = await route_socket(lab, f"nickname={wanted}&token={forged}", lab.login_cookie())
    await join(owner, "route")
    assert await online_until(owner, lambda names: bool(names)) == {wanted}
    other = await route_socket(lab, f"nickname={wanted}", lab.login_cookie())
    await join(other, "route")
    names = await online_until(other, lambda names: len(names) == 2)
    (stranger,) = names - {wanted}
    assert stranger.startswith("Anonymous ")
    owner.close()
    other.close()


async def test_a_forged_identity_is_refused_on_the_direct_route(
    lab: Lab, route_server: ServerThread
) -> None:
    base = f"ws://127.0.0.1:{route_server.port}/socket/websocket?vsn=2.0.0"
    for token in (
        issue_view_token("another-key", "ada", ttl=60),
        issue_view_token(VIEW_KEY, "ada", ttl=-1),  # expired
        "tv1.eyJzdWIiOiJhZGEiLCJleHAiOjk5OTk5OTk5OTl9.forged",
    ):
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(f"{base}&token={token}&nickname=ada")
        assert refused.value.code == 403
    ws = await websocket_connect(
        f"{base}&token={issue_view_token(VIEW_KEY, 'carol', ttl=60)}&nickname=ada"
    )
    await join(ws, "forged")
    assert await online_until(ws, bool) == {"carol"}  # the token names carol, not the page
    ws.close()


async def test_the_embedded_server_shares_its_view_key_through_the_runtime_file_only(
    servers: ServerManager,
) -> None:
    servers.server()
    published = read_runtime_file()
    assert published is not None
    assert published.view_key
    assert published.view_key not in repr(published)
    assert runtime_file().stat().st_mode & 0o777 == 0o600
    token = issue_view_token(published.view_key, "ada", ttl=60)
    ws = await websocket_connect(
        f"{published.url.replace('http', 'ws', 1)}"
        f"socket/websocket?vsn=2.0.0&token={token}&nickname=eve"
    )
    await join(ws, "embedded")
    assert await online_until(ws, bool) == {"ada"}
    ws.close()


COLOUR = "var(--jp-collaborator-color4)"


def test_the_viewer_token_says_how_jupyterlab_shows_the_viewer(
    lab: Lab, route_server: ServerThread
) -> None:
    """Under token login Jupyter has no colour for anyone: the one JupyterLab picked in the
    viewer's browser goes into the token, if it is one of JupyterLab's own."""
    wanted = f"ada-{os.urandom(3).hex()}"
    status, first = get(lab, f"/talkex/api/viewer?nickname={wanted}&color={quote(COLOUR)}")
    assert status == 200
    assert read_view_identity(VIEW_KEY, first["token"]) == Identity(
        wanted, None, Profile(None, COLOUR)
    )
    assert first["color"] == COLOUR
    status, second = get(lab, f"/talkex/api/viewer?nickname={wanted}&color={quote('url(x)')}")
    assert status == 200
    assert read_view_identity(VIEW_KEY, second["token"]) == Identity(second["nickname"])


async def test_the_route_socket_carries_the_viewers_colour_into_presence(
    lab: Lab, route_server: ServerThread
) -> None:
    wanted = f"cy-{os.urandom(3).hex()}"
    ws = await route_socket(lab, f"nickname={wanted}&color={quote(COLOUR)}", lab.login_cookie())
    await join(ws, "colours")
    while True:
        message = await asyncio.wait_for(ws.read_message(), 15)
        assert message is not None
        _, _, _, event, payload = orjson.loads(message)
        people = payload if event == "presence_state" else payload.get("joins", {})
        if event.startswith("presence") and wanted in people:
            break
    (meta,) = people[wanted]["metas"]
    assert meta["color"] == COLOUR
    assert "display_name" not in meta  # an anonymous Jupyter user: shown as their nickname
    ws.close()
