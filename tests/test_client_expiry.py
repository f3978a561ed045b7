"""A Python client whose signed token expires stops reconnecting and says why, instead of
retrying forever with a token the server refuses; a token refreshed in time keeps it going."""

from __future__ import annotations

import time

import pytest

from talkex_widget.client import RoomClient, TokenExpired
from talkex_widget.client.socket import token_expiry
from talkex_widget.core.auth import issue_token
from talkex_widget.server.app import TalkexServer

from .conftest import RELAXED, Connect, drop_connections
from .helpers import eventually

SECRET = "a-test-secret-that-is-long-enough-to-sign"
pytestmark = pytest.mark.server_config(secret=SECRET, limits=RELAXED)


async def joined(connect: Connect, nickname: str, ttl: float) -> RoomClient:
    token = issue_token(SECRET, nickname, ttl)
    client = RoomClient(await connect(nickname, token=token), "lobby")
    await client.join()
    return client


async def test_an_expired_token_stops_the_reconnecting_with_a_clear_error(
    server: TalkexServer, connect: Connect
) -> None:
    ada = await joined(connect, "ada", ttl=2)
    told: list[TokenExpired] = []
    ada.socket.on_stop.append(told.append)
    await eventually(lambda: ada.socket.stopped is not None, timeout=10, what="the stop")
    assert "the server closed the connection: its signed token expired" in str(ada.socket.stopped)
    assert "fresh token" in str(ada.socket.stopped)
    assert told == [ada.socket.stopped]
    task = ada.socket._task
    await eventually(lambda: task is not None and task.done(), what="the reconnect loop's end")
    await eventually(lambda: not server.service.sessions, what="ada's session closed")
    assert not ada.socket.connected  # and nothing knocks at the door any more
    with pytest.raises(TokenExpired, match="fresh token"):
        await ada.send("anyone?")
    with pytest.raises(TokenExpired):
        await ada.socket.wait_connected()


async def test_a_token_that_expired_while_the_socket_was_down_stops_it(
    server: TalkexServer, connect: Connect
) -> None:
    bo = await joined(connect, "bo", ttl=3600)
    bo.socket.params["token"] = issue_token(SECRET, "bo", ttl=-10)  # as if hours had passed
    drop_connections(server, "bo")
    await eventually(lambda: bo.socket.stopped is not None, what="the stop")
    assert "while the connection was down" in str(bo.socket.stopped)


async def test_a_token_refreshed_before_it_expires_keeps_the_socket_going(
    server: TalkexServer, connect: Connect
) -> None:
    cy = await joined(connect, "cy", ttl=2)
    closes: list[None] = []
    cy.socket.on_close.append(lambda: closes.append(None))
    cy.socket.params["token"] = issue_token(SECRET, "cy", ttl=3600)
    await eventually(lambda: closes, timeout=10, what="the server's close at expiry")
    await eventually(lambda: cy.channel.state == "joined", timeout=10, what="the rejoin")
    assert cy.socket.stopped is None
    assert await cy.send("still here") > 0


def test_token_expiry_reads_a_signed_tokens_payload() -> None:
    now = time.time()
    assert token_expiry(issue_token(SECRET, "ada", 60, now=now)) == int(now + 60)
    for not_signed in (None, "", "shared-token", "a.b", "talkex.!!!.sig", "talkex.e30.sig"):
        assert token_expiry(not_signed) is None
