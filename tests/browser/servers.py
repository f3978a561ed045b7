"""Servers for the browser tests beyond ``chat_server``: restartable on their port, seeded.

Nothing here touches Playwright, so the conftest can import it without starting a browser.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Sequence
from dataclasses import replace

from talkex_widget.client import RoomClient, Socket
from talkex_widget.notebook.embedded import ServerThread
from talkex_widget.server.app import ServerConfig

__all__ = ["RestartableServer", "post_messages", "start_url"]


class RestartableServer:
    """A server that can be stopped and started again on the same port, like a process restart.

    Give it a SQLite ``db`` so history outlives the restart. The port is fixed after the first
    start; a new start retries for a while when the old socket is not released yet.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.thread = ServerThread(config).start()
        self.config = replace(config, port=self.thread.port)

    @property
    def port(self) -> int:
        return self.config.port

    def stop(self) -> None:
        self.thread.stop()

    def start(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.thread = ServerThread(self.config).start()
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # polling the port, not waiting for the page
            else:
                return


def start_url(server: ServerThread | RestartableServer, token: str) -> str:
    """The address ``talkex serve`` prints: the page keeps the token in a cookie and drops it."""
    return f"http://127.0.0.1:{server.port}/?token={token}"


def post_messages(
    server: ServerThread, token: str, room: str, nickname: str, bodies: Sequence[str]
) -> list[int]:
    """Post ``bodies`` through the Python client, on the server's own loop; returns the ids."""

    async def run() -> list[int]:
        socket = Socket(f"http://127.0.0.1:{server.port}/", {"nickname": nickname, "token": token})
        await socket.connect()
        try:
            client = RoomClient(socket, room)
            await client.join()
            return [await client.send(body) for body in bodies]
        finally:
            await socket.disconnect()

    return server.call(run(), timeout=60)
