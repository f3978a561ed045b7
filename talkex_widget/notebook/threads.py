"""Event loops on threads of their own: a Talkex server's, and the kernel's background loop.

In a kernel the cell code runs on the kernel's loop; a server on that loop stops answering
while a cell sleeps or computes. Running it on a private thread keeps the chat alive during a
long cell. Browser tests use the same runner to host a server beside a synchronous Playwright.

The widget's Python clients and comm relays run on a second background loop
(:class:`LoopThread`), not on the server's: stopping or switching servers (``%talkex stop``,
``%talkex connect``) never takes the clients down with it, and the server's loop serves
sockets only, exactly as a standalone ``talkex serve`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, TypeVar

from talkex_widget.server.app import ServerConfig, TalkexServer

__all__ = ["SWITCH_INTERVAL", "LoopThread", "ServerThread"]

T = TypeVar("T")

SWITCH_INTERVAL = 0.001
"""The interpreter's switch interval (seconds; Python's default is 0.005) while a kernel hosts
the server on a thread: behind a busy cell the server waits less for the GIL at each wake-up
(busy p50 about halved in ``benchmarks/host_busy.py``), for under 1% of the cell's time."""


class ServerThread:
    """A :class:`TalkexServer` on a :class:`LoopThread` of its own.

    Start with :meth:`start`, stop with :meth:`stop`; ``url``/``port`` once started. With
    ``switch_interval``, :func:`sys.setswitchinterval` is set to it while the server runs.
    """

    def __init__(self, config: ServerConfig, *, switch_interval: float | None = None) -> None:
        self.config = config
        self.server: TalkexServer | None = None
        self._loop = LoopThread("talkex-server")
        self._switch_interval = switch_interval
        self._saved_interval: float | None = None

    @property
    def pid(self) -> int:
        """The process serving: this one."""
        return os.getpid()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop.loop

    @property
    def port(self) -> int:
        assert self.server is not None, "server not started"
        return self.server.port

    @property
    def url(self) -> str:
        assert self.server is not None, "server not started"
        return self.server.url

    def start(self, timeout: float = 30.0) -> ServerThread:
        """Bind and serve; a bind or config error is raised here, in the caller."""
        self._loop.start()
        try:
            self.server = self._loop.run(lambda: TalkexServer(self.config), timeout)
            self._loop.call(self.server.start(), timeout)
        except BaseException:
            self.server = None
            self._loop.stop()
            raise
        if self._switch_interval is not None:
            self._saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(self._switch_interval)
        return self

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop from another thread and wait for it."""
        return self._loop.call(work, timeout)

    @property
    def running(self) -> bool:
        return self._loop.running

    def stop(self, timeout: float = 30.0) -> None:
        """Close sockets (1001), flush the history store, and end the thread."""
        if not self.running or self.server is None:
            return
        try:
            self.call(self.server.stop(), timeout)
        finally:
            self._loop.stop(timeout)
            self._restore_interval()

    def _restore_interval(self) -> None:
        """Back to the interval from before :meth:`start`, unless someone changed it since."""
        saved, ours = self._saved_interval, self._switch_interval
        if saved is not None and ours and math.isclose(sys.getswitchinterval(), ours):
            sys.setswitchinterval(saved)
        self._saved_interval = None


class LoopThread:
    """An asyncio loop on a daemon thread, for work that must go on while a cell is busy.

    The widget's Python clients and its comm relays live here: a blocked kernel loop does not
    stop them, and the kernel thread reaches them only through :meth:`call`, :meth:`run` and
    :meth:`call_soon`, which are safe from any thread.
    """

    def __init__(self, name: str = "talkex-loop") -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopThread:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self.loop = loop
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        started.wait()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def in_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule a coroutine on the loop; returns a thread-safe future."""
        assert self.loop is not None, "loop not started"
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the loop and wait for its result (``TimeoutError`` after
        ``timeout``; the work is then cancelled). Refused on the loop's own thread, where
        waiting would deadlock."""
        if self.in_thread():
            work.close()
            raise RuntimeError(f"cannot wait for the {self.name} loop from its own thread")
        future = self.submit(work)
        try:
            return future.result(timeout)
        except (FutureTimeoutError, TimeoutError):
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def run(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Call ``fn`` on the loop's thread (to read state the loop owns) and return its result."""
        if self.in_thread():
            return fn()
        assert self.loop is not None, "loop not started"
        future: Future[T] = Future()

        def go() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)

        self.loop.call_soon_threadsafe(go)
        return future.result(timeout)

    def call_soon(self, fn: Callable[..., object], *args: object) -> None:
        assert self.loop is not None, "loop not started"
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what still runs on the loop, then end the thread."""
        if not self.running or self.loop is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.call(cancel_all(), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        assert self._thread is not None
        self._thread.join(timeout)
