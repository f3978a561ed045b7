"""Someone in a room through the Python client, driven from a sync browser test.

Shared by the issue-15 browser tests: a notebook kernel's own link (``kind="kernel"``), a
person who posts or types from Python while a page watches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from talkex_widget.client import RoomClient, Socket

from .conftest import TOKEN

__all__ = ["PythonPerson", "python_person", "read_position"]


@dataclass
class PythonPerson:
    """A joined :class:`RoomClient` and the server thread that runs its coroutines."""

    server: Any
    client: RoomClient

    def send(self, body: str) -> dict[str, Any]:
        return self.server.call(self.client.send(body), timeout=30)

    def push(self, event: str, payload: dict[str, Any]) -> Any:
        """Any push on the room's channel (``typing``, ``read`` ...); the reply's response."""
        return self.server.call(self.client.channel.push(event, payload), timeout=30)

    def set_status(self, status: str, activity: str | None = None) -> None:
        self.server.call(self.client.set_status(status, activity), timeout=30)


@contextmanager
def python_person(
    server: Any, nickname: str, room: str = "lobby", *, kind: str | None = None
) -> Iterator[PythonPerson]:
    """``nickname`` joined to ``room`` for the ``with`` block (``kind="kernel"``: a kernel link)."""

    async def start() -> tuple[Socket, RoomClient]:
        socket = Socket(f"http://127.0.0.1:{server.port}/", {"nickname": nickname, "token": TOKEN})
        await socket.connect()
        client = RoomClient(socket, room, kind=kind)
        await client.join()
        return socket, client

    socket, client = server.call(start(), timeout=30)
    try:
        yield PythonPerson(server, client)
    finally:
        server.call(socket.disconnect(), timeout=30)


def read_position(server: Any, nickname: str, room: str = "lobby") -> int:
    """``nickname``'s read position in ``room`` as the server keeps it (a join's ``read_id``)."""

    async def ask() -> int:
        socket = Socket(f"http://127.0.0.1:{server.port}/", {"nickname": nickname, "token": TOKEN})
        await socket.connect()
        try:
            response = await RoomClient(socket, room, kind="kernel").join()
            return int(response["read_id"])
        finally:
            await socket.disconnect()

    return server.call(ask(), timeout=30)
