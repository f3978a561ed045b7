"""Who a request is (:mod:`talkex_widget.server.identity`), the group-room check a join goes
through, and the hub mode of the app and of ``talkex serve`` without a hub to ask."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from talkex_widget.core.auth import Identity
from talkex_widget.core.hub_access import HubUser
from talkex_widget.server.identity import Admission

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
