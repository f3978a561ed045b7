"""Test helpers: waiting on conditions (never fixed sleeps), ports, raw frames, history."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from talkex_widget.client import PushError, RoomClient, Socket


def free_port() -> int:
    """A loopback port free right now, for servers that must come back on the same port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def room_history(port: int, token: str, room: str) -> list[dict[str, Any]]:
    """Every stored message of ``room`` through the HTTP API, oldest first: what the server
    kept, asked in a way that does not depend on the client under test."""
    messages: list[dict[str, Any]] = []
    before = ""
    while True:
        url = f"http://127.0.0.1:{port}/api/rooms/{room}/messages?limit=200&token={token}{before}"
        with urllib.request.urlopen(url, timeout=10) as response:
            page = json.load(response)
        messages[:0] = page["messages"]
        if not page["has_more"] or not page["messages"]:
            return messages
        before = f"&before_id={page['messages'][0]['id']}"


def api_request(
    url: str,
    *,
    method: str = "GET",
    token: str | None = None,
    body: Any = None,
    timeout: float = 30,
) -> tuple[bytes, Message]:
    """A request to a Jupyter or JupyterHub REST API (``Authorization: token``, a JSON
    ``body``) that bypasses any HTTP proxy of the environment: the raw answer and its headers."""
    headers = {"Authorization": f"token {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return response.read(), response.headers


def api_json(url: str, **kwargs: Any) -> Any:
    """The JSON answer of :func:`api_request` (``None`` when it has no body)."""
    answer, _ = api_request(url, **kwargs)
    return json.loads(answer) if answer else None


async def check_group_room(member: Socket, outsider: Socket, group: str = "data") -> None:
    """A hub group's room (``group.<group>.lobby``) refuses ``outsider``, saying why, and lets
    ``member`` in: the same rule whether the hub is real or faked."""
    room = f"group.{group}.lobby"
    with pytest.raises(PushError, match=f"not a member of group {group}"):
        await RoomClient(outsider, room).join()
    await RoomClient(member, room).join()


async def eventually(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``condition`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (KeyError, IndexError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.01)


class RawSocket:
    """A bare WebSocket speaking frames by hand, for exact protocol assertions."""

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self.conn = conn
        self.received: list[list[Any]] = []

    @classmethod
    async def open(cls, url: str, **headers: str) -> RawSocket:
        conn = await websocket_connect(HTTPRequest(url, headers=headers or None))
        return cls(conn)

    def send(self, frame: list[Any] | str | bytes) -> None:
        text = frame if isinstance(frame, (str, bytes)) else json.dumps(frame)
        self.conn.write_message(text, binary=isinstance(text, bytes))

    async def recv(self, timeout: float = 5.0) -> list[Any] | None:
        """The next frame, or ``None`` when the server closed the socket."""
        data = await asyncio.wait_for(self.conn.read_message(), timeout)
        if data is None:
            return None
        frame = json.loads(data)
        self.received.append(frame)
        return frame

    async def until(self, match: Callable[[list[Any]], bool], timeout: float = 5.0) -> list[Any]:
        """Read frames until one matches; earlier ones stay in ``received``."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError("socket closed while waiting")
            if match(frame):
                return frame

    async def reply_to(self, ref: str, timeout: float = 5.0) -> dict[str, Any]:
        frame = await self.until(lambda f: f[3] == "phx_reply" and f[1] == ref, timeout)
        return frame[4]

    async def join(self, topic: str = "room:lobby", ref: str = "1") -> dict[str, Any]:
        """Join ``topic`` (``ref`` as join and message ref) and return the server's reply."""
        self.send([ref, ref, topic, "phx_join", {}])
        return await self.reply_to(ref)

    async def nothing(self, within: float = 0.3) -> None:
        """Assert no frame arrives within ``within`` seconds."""
        try:
            frame = await self.recv(within)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame}")

    def close(self) -> None:
        self.conn.close()
