"""Helpers for tests that run on a plain thread while the code under test runs on loop threads
(the widget's background loop, an embedded server, a kernel in another process).

:func:`wait_until` is the synchronous twin of ``tests.helpers.eventually``: such tests wait for
the state they expect, never a fixed time. :class:`PyClient` is a chat client on its own loop
thread that reads, posts and watches presence beside kernels and browsers.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from talkex_widget.client import RoomClient, Socket
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import LoopThread

__all__ = ["PyClient", "Trap", "wait_until"]


def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)


class PyClient:
    """A Python chat client on its own loop thread.

    ``announced`` lists every status change the room's presence diffs announced (an updated
    meta, which carries ``phx_ref_prev``; not a join), in arrival order, as ``(monotonic time,
    nickname, status)``: a flip too quick to poll for still shows there.
    """

    def __init__(self, info: ServerInfo, nickname: str, room: str) -> None:
        self.loop = LoopThread("test-client").start()
        self.announced: list[tuple[float, str, str]] = []

        async def join() -> RoomClient:
            params = {"nickname": nickname, **({"token": info.token} if info.token else {})}
            sock = Socket(info.url, params)
            await sock.connect()
            client = RoomClient(sock, room)
            client.channel.on("presence_diff", self._record)
            await client.join()
            return client

        self.room = self.loop.call(join())

    def _record(self, diff: dict[str, Any]) -> None:
        now = time.monotonic()
        for nickname, presence in diff.get("joins", {}).items():
            for meta in presence.get("metas", []):
                if "phx_ref_prev" in meta:
                    self.announced.append((now, nickname, meta.get("status", "online")))

    def statuses(self, nickname: str) -> list[str]:
        """The status changes announced for ``nickname`` since this client joined."""
        return self.loop.run(lambda: [s for _, who, s in self.announced if who == nickname])

    def bodies(self) -> list[str]:
        return self.loop.run(lambda: [m["body"] for m in self.room.ordered()])

    def wait_for(self, body: str, timeout: float = 15.0) -> None:
        wait_until(lambda: body in self.bodies(), timeout, f"{body!r} at the Python client")

    def send(self, body: str) -> int:
        return self.loop.call(self.room.send(body))

    def meta(self, nickname: str) -> dict[str, Any]:
        """``nickname``'s latest presence meta (empty while absent)."""
        return self.loop.run(lambda: (self.room.presence.list().get(nickname) or [{}])[-1])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.call(self.room.socket.disconnect())
        self.loop.stop()


class Trap:
    """A loopback port that records every connection made to it and what it was sent, and
    answers nothing: where a forged URL points, to prove nobody went there (or with what)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.received: list[bytes] = []
        """What each connection sent within a second of opening, one entry per connection."""
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="trap", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed
                return
            with conn:
                with self._lock:
                    self.received.append(b"")
                    index = len(self.received) - 1
                conn.settimeout(1.0)
                data = b""
                with contextlib.suppress(OSError):
                    data = conn.recv(65536)
                with self._lock:
                    self.received[index] = data

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self.received)

    def close(self) -> None:
        self._server.close()
