"""A Talkex server on its own thread and event loop, and the kernel's choice of server.

In a kernel the cell code runs on the kernel's loop; a server on that loop stops answering
while a cell sleeps or computes. Running it on a private thread keeps the chat alive during a
long cell. Browser tests use the same runner to host a server beside a synchronous Playwright.

The widget's Python clients and comm relays run on a second background loop
(:class:`LoopThread`), not on the server's: stopping or switching servers (``%talkex stop``,
``%talkex connect``) never takes the clients down with it, and the server's loop serves
sockets only, exactly as a standalone ``talkex serve`` does. :class:`ServerManager` decides
which server a kernel talks to (see :mod:`.discovery` for the runtime file kernels share).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from pathlib import Path
from typing import Any, Protocol, TypeVar

from jupyter_core.paths import jupyter_data_dir

from talkex_widget.notebook.discovery import (
    ServerInfo,
    find_running,
    forget,
    healthy,
    parse_server_url,
    publish,
    runtime_lock,
    server_from_env,
)
from talkex_widget.server.app import ServerConfig, TalkexServer

__all__ = [
    "LoopThread",
    "ServerFollower",
    "ServerManager",
    "ServerThread",
    "embedded_config",
    "manager",
]

log = logging.getLogger("talkex.embedded")

T = TypeVar("T")


class ServerThread:
    """A :class:`TalkexServer` on a :class:`LoopThread` of its own.

    Start with :meth:`start`, stop with :meth:`stop`; ``url``/``port`` once started.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.server: TalkexServer | None = None
        self._loop = LoopThread("talkex-server")

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


def embedded_config() -> ServerConfig:
    """Loopback only, any free port, a fresh random token; history in a SQLite file in the
    Jupyter data directory (``TALKEX_DB`` overrides), so it outlives kernel restarts."""
    from talkex_widget.backends.history import store_url

    db = os.environ.get("TALKEX_DB") or str(Path(jupyter_data_dir()) / "talkex" / "history.db")
    return ServerConfig(
        host="127.0.0.1",
        port=0,
        token=secrets.token_urlsafe(32),
        db=store_url(db),
        view_key=secrets.token_urlsafe(32),  # for the Jupyter extension's viewer tokens
    )


class ServerFollower(Protocol):
    """Told when the process's current server changes (a widget created without ``server=``)."""

    def server_changed(self, info: ServerInfo) -> None: ...


class ServerManager:
    """Which server this process (a kernel) talks to, and the embedded one it may run.

    The current server is, in order: the one chosen with :meth:`connect` or :meth:`serve`;
    ``TALKEX_URL`` (with ``TALKEX_TOKEN`` if the URL has no token, see
    :func:`~.discovery.server_from_env`); the embedded server of this
    process; the one another kernel published in the runtime file; else a new embedded server,
    published for the others. Finding and starting happen under the runtime-file lock, so two
    kernels starting together end up on one server.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owned: ServerThread | None = None
        self._owned_info: ServerInfo | None = None
        self._chosen: ServerInfo | None = None
        self._current: ServerInfo | None = None
        self._loop: LoopThread | None = None
        self._followers: weakref.WeakSet[ServerFollower] = weakref.WeakSet()
        self._atexit = False

    @property
    def owned(self) -> ServerInfo | None:
        """The embedded server this process runs, if any."""
        return self._owned_info if self._owned is not None and self._owned.running else None

    @property
    def current(self) -> ServerInfo | None:
        """The server last resolved, without looking again."""
        return self._current

    def loop(self) -> LoopThread:
        """The process's background loop (started on first use, stopped at exit)."""
        with self._lock:
            if self._loop is None or not self._loop.running:
                self._loop = LoopThread().start()
                self._register_atexit()
            return self._loop

    def follow(self, follower: ServerFollower) -> None:
        self._followers.add(follower)

    def unfollow(self, follower: ServerFollower) -> None:
        self._followers.discard(follower)

    def server(self, *, start: bool = True) -> ServerInfo | None:
        """The current server, found or (with ``start``) started now."""
        with self._lock:
            info = self._resolve(start)
            if info is not None:
                self._switch(info)
            return info

    def _resolve(self, start: bool) -> ServerInfo | None:
        if self._chosen is not None:
            return self._chosen
        return server_from_env() or self._local(start)

    def _local(self, start: bool) -> ServerInfo | None:
        if self.owned is not None:
            return self.owned
        with runtime_lock():
            found = find_running()
            if found is not None or not start:
                return found
            thread = ServerThread(embedded_config()).start()
            info = ServerInfo(
                f"http://127.0.0.1:{thread.port}/",
                thread.config.token,
                view_key=thread.config.view_key,
                pid=os.getpid(),
            )
            publish(info)
            log.info("started the embedded Talkex server at %s", info.url)
            self._owned, self._owned_info = thread, info
            self._register_atexit()
            return info

    def serve(self) -> ServerInfo:
        """Use the local shared server: the one running (here or in another kernel's process)
        or a new embedded one. Overrides ``TALKEX_URL`` and :meth:`connect` for this process."""
        with self._lock:
            info = self._local(start=True)
            assert info is not None
            self._chosen = info
            self._switch(info)
            return info

    def connect(self, url: str) -> ServerInfo:
        """Talk to the server at ``url`` (``http://HOST:PORT/?token=T``) from now on.

        Without a token in ``url``, ``TALKEX_URL``'s server gets the environment's token and
        any other server none: a token from the environment goes only where it came with.
        """
        info = parse_server_url(url)
        env = server_from_env()
        if info.token is None and env is not None and env.url == info.url:
            info = env
        if not healthy(info):
            raise ConnectionError(f"no Talkex server answers at {info.url}")
        with self._lock:
            self._chosen = info
            self._switch(info)
        return info

    def _switch(self, info: ServerInfo) -> None:
        if info.same_server(self._current):
            return
        self._current = info
        for follower in list(self._followers):
            try:
                follower.server_changed(info)
            except Exception:
                log.exception("could not move %r to %s", follower, info.url)

    def stop(self) -> bool:
        """Stop this process's embedded server and remove its runtime file (if it is ours)."""
        with self._lock:
            thread, info = self._owned, self._owned_info
            self._owned = self._owned_info = None
            if thread is None or info is None:
                return False
            try:
                thread.stop()
            finally:
                with runtime_lock():
                    forget(os.getpid())
            if info.same_server(self._chosen):
                self._chosen = None
            if info.same_server(self._current):
                self._current = None
            return True

    def shutdown(self) -> None:
        """Stop the embedded server and the background loop; the manager can start again."""
        with self._lock:
            self.stop()
            if self._loop is not None:
                self._loop.stop()
                self._loop = None
            self._chosen = self._current = None

    def _register_atexit(self) -> None:
        if not self._atexit:
            atexit.register(self.shutdown)
            self._atexit = True


_manager = ServerManager()


def manager() -> ServerManager:
    """The process-wide :class:`ServerManager`."""
    return _manager
