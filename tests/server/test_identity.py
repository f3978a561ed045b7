"""Who a request is (:mod:`talkex_widget.server.identity`), the group-room check a join goes
through, and the hub mode of the app and of ``talkex serve`` without a hub to ask."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from tornado.httpclient import HTTPClientError

from talkex_widget.core.auth import Identity, issue_view_token
from talkex_widget.core.hub_access import HubUser
from talkex_widget.core.profiles import Profile
from talkex_widget.server.app import ServerConfig, TalkexServer
from talkex_widget.server.identity import Admission

from ..helpers import RawSocket
from .conftest import MakeService, flush
from .fakes import FakePeer


def test_only_hub_groups_close_rooms() -> None:
    data_member = HubUser("alice", "alice", groups=frozenset({"data"}))
    outsider = HubUser("dave", "dave")
    assert Admission(Identity(None)).room_refusal("group.data.lobby") is None
    assert Admission(Identity("alice"), user=data_member).room_refusal("group.data.x") is None
    refusal = Admission(Identity("dave"), user=outsider).room_refusal("group.data.x")
    assert refusal == "not a member of group data"


async def test_a_refused_room_is_an_error_reply_and_no_presence(
    make_service: MakeService,
) -> None:
    service = await make_service()
    peer = FakePeer("dave", closed_rooms={"group.data.lobby": "not a member of group data"})
    session = service.open_session(peer)
    await session.receive(json.dumps(["1", "1", "room:group.data.lobby", "phx_join", {}]))
    (reply,) = peer.take()
    assert reply[3:] == [
        "phx_reply",
        {"status": "error", "response": {"reason": "not a member of group data"}},
    ]
    flush(service)
    assert peer.take() == []
    assert service.stats()["rooms"] == 0
    await session.receive(json.dumps(["2", "2", "room:lobby", "phx_join", {}]))
    assert peer.take()[0][4]["status"] == "ok"  # the socket carries on


def test_jupyterhub_mode_outside_a_hub_says_what_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    result = subprocess.run(
        [sys.executable, "-m", "talkex_widget", "serve", "--jupyterhub", "--db", "memory://"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "JUPYTERHUB_SERVICE_URL" in result.stderr
    assert "JUPYTERHUB_API_TOKEN" in result.stderr


# -- how people are shown: the profile in their presence meta, from verified identities only ---

VIEW_KEY = "identity-view-key"
IO = Profile("Io Lee", "var(--jp-collaborator-color3)", "https://avatars.example/io.png")


@pytest.fixture
async def viewer_server() -> AsyncIterator[TalkexServer]:
    """A server taking the shared token ``shared`` and viewer tokens signed with VIEW_KEY."""
    srv = TalkexServer(ServerConfig(port=0, token="shared", view_key=VIEW_KEY))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def presence_meta(srv: TalkexServer, query: str, join: dict[str, Any]) -> dict[str, Any]:
    """The meta the socket opened with ``query`` is tracked with, once joined with ``join``."""
    ws = await RawSocket.open(f"ws://127.0.0.1:{srv.port}/socket/websocket?vsn=2.0.0&{query}")
    try:
        ws.send(["1", "1", "room:looks", "phx_join", join])
        assert (await ws.reply_to("1"))["status"] == "ok"
        frame = await ws.until(lambda f: f[3] in ("presence_state", "presence_diff"))
        people = frame[4] if frame[3] == "presence_state" else frame[4]["joins"]
        if not people:  # the state came before our own join: it is in the next diff
            frame = await ws.until(lambda f: f[3] == "presence_diff" and f[4]["joins"])
            people = frame[4]["joins"]
        ((_, entry),) = people.items()
        (meta,) = entry["metas"]
        return {k: v for k, v in meta.items() if k not in ("phx_ref", "online_at")}
    finally:
        ws.close()


async def test_a_viewer_token_puts_the_viewers_name_and_colour_in_presence(
    viewer_server: TalkexServer,
) -> None:
    token = issue_view_token(VIEW_KEY, "io", ttl=60, profile=IO)
    meta = await presence_meta(viewer_server, f"token={token}", {})
    assert meta == {
        "status": "online",
        "display_name": "Io Lee",
        "color": "var(--jp-collaborator-color3)",
        "avatar_url": "https://avatars.example/io.png",
    }


async def test_nobody_else_can_set_how_a_person_is_shown(viewer_server: TalkexServer) -> None:
    """The shared token names nobody: no profile, whatever the query or the join says. A
    viewer token signed with another key, or edited, is no token at all."""
    claims = "display_name=Ada&color=%23ff0000&avatar_url=https://evil.example/a.png"
    join = {"display_name": "Ada", "color": "#ff0000", "avatar_url": "https://evil.example/"}
    meta = await presence_meta(viewer_server, f"token=shared&nickname=mallory&{claims}", join)
    assert meta == {"status": "online"}
    forged = issue_view_token("another-key", "ada", ttl=60, profile=Profile("Ada", "#ff0000"))
    header, payload, signature = issue_view_token(VIEW_KEY, "io", ttl=60, profile=IO).split(".")
    claims_json = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    edited = base64.urlsafe_b64encode(orjson.dumps({**claims_json, "display_name": "Ada"}))
    for token in (forged, f"{header}.{edited.decode().rstrip('=')}.{signature}"):
        with pytest.raises(HTTPClientError) as refused:
            await presence_meta(viewer_server, f"token={token}", {})
        assert refused.value.code == 403


async def test_a_status_change_keeps_the_profile(make_service: MakeService) -> None:
    service = await make_service()
    peer = FakePeer("io", profile=IO.meta())
    session = service.open_session(peer)
    await session.receive(json.dumps(["1", "1", "room:looks", "phx_join", {}]))
    flush(service)
    await session.receive(json.dumps(["1", "2", "room:looks", "new_status", {"status": "away"}]))
    flush(service)
    (meta,) = service.tracker.state("room:looks")["io"]["metas"]
    assert meta["status"] == "away"
    assert {k: meta[k] for k in IO.meta()} == IO.meta()
