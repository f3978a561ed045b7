"""Shared fixtures: a real server on a free loopback port, and clients that talk to it.

The server has the rate limits out of the way (:data:`RELAXED`). A test about a limit or an
option says which with ``@pytest.mark.server_config(**fields)``: its server then has the
:class:`ServerConfig` defaults, the production ones, plus those fields.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

import pytest

from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.limits import Limits
from talkex_widget.server.app import ServerConfig, SocketHandler, TalkexServer

from .helpers import RawSocket

TOKEN = "test-token"
RELAXED = Limits(messages_per_window=100_000, frames_per_window=1_000_000)
"""Rate limits out of the way for tests about something else."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server_config(**fields): the ServerConfig fields of the test's server"
    )


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[TalkexServer]:
    """A Talkex server in this test's event loop, memory backends, token ``TOKEN``."""
    marker = request.node.get_closest_marker("server_config")
    fields = {"limits": RELAXED} if marker is None else marker.kwargs
    srv = TalkexServer(ServerConfig(**{"port": 0, "token": TOKEN, **fields}))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def base_url(srv: TalkexServer) -> str:
    return f"http://127.0.0.1:{srv.port}/"


def drop_connections(srv: TalkexServer, nickname: str) -> None:
    """Cut a user's sockets from the server side, as a network drop would."""
    for session in list(srv.service.sessions):
        if session.peer.nickname == nickname:
            assert isinstance(session.peer, SocketHandler)
            session.peer.close(1001, "test drop")


Connect = Callable[..., Awaitable[Socket]]


@pytest.fixture
async def connect(server: TalkexServer) -> AsyncIterator[Connect]:
    """``await connect("alice")`` -> a connected :class:`Socket`; all closed after the test."""
    sockets: list[Socket] = []

    async def _connect(nickname: str, token: str = TOKEN, **kwargs: object) -> Socket:
        sock = Socket(base_url(server), {"nickname": nickname, "token": token}, **kwargs)
        await sock.connect()
        sockets.append(sock)
        return sock

    yield _connect
    for sock in sockets:
        with contextlib.suppress(Exception):
            await sock.disconnect()


JoinRoom = Callable[..., Awaitable[RoomClient]]


@pytest.fixture
async def join_room(connect: Connect) -> JoinRoom:
    """``await join_room("alice", "lobby")`` -> a joined :class:`RoomClient`."""

    async def _join(nickname: str, room: str = "lobby", **kwargs: object) -> RoomClient:
        client = RoomClient(await connect(nickname, **kwargs), room)
        await client.join()
        return client

    return _join


Raw = Callable[..., Awaitable[RawSocket]]


def ws_url(srv: TalkexServer, **params: str) -> str:
    query = {"vsn": "2.0.0", "token": TOKEN, **params}
    return f"ws://127.0.0.1:{srv.port}/socket/websocket?{urlencode(query)}"


@pytest.fixture
async def raw(server: TalkexServer) -> AsyncIterator[Raw]:
    """``await raw("alice")`` -> a :class:`RawSocket` for frame-exact tests."""
    opened: list[RawSocket] = []

    async def _raw(nickname: str = "alice", **params: str) -> RawSocket:
        sock = await RawSocket.open(ws_url(server, nickname=nickname, **params))
        opened.append(sock)
        return sock

    yield _raw
    for sock in opened:
        sock.close()
