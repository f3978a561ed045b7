"""A Talkex server on its own thread and event loop.

In a kernel the cell code runs on the kernel's loop; a server on that loop stops answering
while a cell sleeps or computes. Running it on a private thread keeps the chat alive during a
long cell. Browser tests use the same runner to host a server beside a synchronous Playwright.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from .server import ServerConfig, TalkexServer

__all__ = ["ServerThread"]

T = TypeVar("T")


class ServerThread:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url``/``port`` once started."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.server: TalkexServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.server is not None, "server not started"
        return self.server.port

    @property
    def url(self) -> str:
        assert self.server is not None, "server not started"
        return self.server.url

    def start(self, timeout: float = 30.0) -> ServerThread:
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="talkex-server", daemon=True
        )
        self._thread.start()
        ready.result(timeout)  # re-raises a bind or config error in the caller
        return self

    def _run(self, ready: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.server = TalkexServer(self.config)
            loop.run_until_complete(self.server.start())
        except BaseException as exc:
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop from another thread and wait for it."""
        assert self.loop is not None, "server not started"
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Close sockets (1001), flush the history store, and end the thread."""
        if not self.running or self.loop is None or self.server is None:
            return
        try:
            self.call(self.server.stop(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            assert self._thread is not None
            self._thread.join(timeout)
