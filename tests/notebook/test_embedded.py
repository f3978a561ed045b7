"""The server on its own thread keeps answering while the calling thread is blocked."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest

from talkex_widget.client import RoomClient, Socket
from talkex_widget.notebook.child import start_embedded_server
from talkex_widget.notebook.embedded import ServerThread, embedded_config
from talkex_widget.server.app import ServerConfig


async def test_server_thread_serves_while_the_starting_thread_blocks() -> None:
    thread = ServerThread(ServerConfig(port=0, token="t")).start()
    try:
        socket = Socket(f"http://127.0.0.1:{thread.port}/", {"nickname": "a", "token": "t"})
        await socket.connect()
        room = RoomClient(socket, "lobby")
        await room.join()
        # Block this thread's loop the way a busy cell blocks a kernel: the server,
        # on its own loop, has already answered; a second thread's client proves it keeps going.
        answered = threading.Event()

        def other_client() -> None:
            import asyncio

            async def go() -> None:
                s = Socket(f"http://127.0.0.1:{thread.port}/", {"nickname": "b", "token": "t"})
                await s.connect()
                r = RoomClient(s, "lobby")
                await r.join()
                await r.send("while a is busy")
                await s.disconnect()
                answered.set()

            asyncio.run(go())

        helper = threading.Thread(target=other_client)
        helper.start()
        start = time.monotonic()
        time.sleep(1.0)  # deliberately blocking, like time.sleep in a cell
        helper.join(10)
        assert answered.is_set() and time.monotonic() - start < 10
        await socket.disconnect()
    finally:
        thread.stop()
    assert not thread.running


def test_bind_errors_reach_the_caller() -> None:
    first = ServerThread(ServerConfig(port=0, token="t")).start()
    try:
        with pytest.raises(OSError):
            ServerThread(ServerConfig(port=first.port, token="t")).start()
    finally:
        first.stop()


def test_the_embedded_servers_pages_say_they_are_notebook_hosted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a page whose notebook stopped says so instead of only "reconnecting"."""
    monkeypatch.setenv("TALKEX_DB", str(tmp_path / "history.db"))
    server = start_embedded_server(embedded_config())
    try:
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(server.url, timeout=10) as reply:  # the token URL sets a cookie
            page = reply.read().decode()
        assert 'data-hosted-by="notebook"' in page
    finally:
        server.stop()
