"""The kernel's choice of server, and the embedded one it may run.

:class:`ServerManager` decides which server a kernel talks to (see :mod:`.discovery` for the
runtime file kernels share), starts the embedded server in a child process
(:mod:`.child`; on a thread with ``TALKEX_EMBEDDED=thread``) when no kernel runs one yet, and
watches the one it uses, to take over when the kernel hosting it goes away, or to start its
own again if its process died (:mod:`.takeover`). The threads the widgets' clients run on live
in :mod:`.threads` (re-exported here).
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from jupyter_core.paths import jupyter_data_dir

from talkex_widget.notebook.child import EmbeddedServer, server_info, start_embedded_server
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
from talkex_widget.notebook.takeover import HostWatch, vouch
from talkex_widget.notebook.threads import LoopThread, ServerThread
from talkex_widget.server.app import ServerConfig

__all__ = [
    "LoopThread",
    "ServerFollower",
    "ServerManager",
    "ServerThread",
    "embedded_config",
    "manager",
]

log = logging.getLogger("talkex.embedded")


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
        hosted_by="notebook",  # pages say "the notebook hosting this chat has stopped" when it goes
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

    While the current server is another kernel's embedded one, a :class:`~.takeover.HostWatch`
    looks after it: this process follows whoever serves in its place, or serves itself.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        """Held while the choice of server changes (also by the host watch)."""
        self._owned: EmbeddedServer | None = None
        self._owned_info: ServerInfo | None = None
        self._chosen: ServerInfo | None = None
        self._current: ServerInfo | None = None
        self._loop: LoopThread | None = None
        self._followers: weakref.WeakSet[ServerFollower] = weakref.WeakSet()
        self._atexit = False
        self._watch = HostWatch(self)
        self.origins: set[str] = set()
        """Browser origins this process's views were vouched for (see :mod:`.views`): a server
        it takes over starts knowing them, one another kernel takes over is told them."""

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
        with self.lock:
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
        with self.lock:
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
            if found is None and not start:
                return None
            if found is None:
                server = start_embedded_server(self.embedded_config())
                found = server_info(server)
                publish(found)
                log.info("started the embedded Talkex server at %s", found.url)
                self._owned, self._owned_info = server, found
            self._watch.start()
            self._register_atexit()
            return found

    def serve(self) -> ServerInfo:
        """Use the local shared server: the one running (here or in another kernel's process)
        or a new embedded one. Overrides ``TALKEX_URL`` and :meth:`connect` for this process."""
        with self.lock:
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
        with self.lock:
            self._chosen = info
            self._switch(info)
        return info

    def _switch(self, info: ServerInfo) -> None:
        """Make ``info`` current; the followers move only if its address or token changed (a
        server taken over in place keeps both, and its clients reconnect by themselves)."""
        moved = not info.same_server(self._current)
        self._current = info
        if not moved:
            return
        for follower in list(self._followers):
            try:
                follower.server_changed(info)
            except Exception:
                log.exception("could not move %r to %s", follower, info.url)

    def stop(self) -> bool:
        """Stop this process's embedded server and remove its runtime file (if it is ours)."""
        with self.lock:
            server, info = self._owned, self._owned_info
            self._owned = self._owned_info = None
            if server is None or info is None:
                return False
            try:
                server.stop()
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
        self._watch.stop()
        with self.lock:
            self.stop()
            if self._loop is not None:
                self._loop.stop()
                self._loop = None
            self._chosen = self._current = None

    # -- what the host watch asks of it (see :class:`~.takeover.Host`) ----------------------

    def watched(self) -> ServerInfo | None:
        """The current server if another kernel (still alive or not) runs it, or if this one
        does and its process died."""
        info = self._current
        if info is None or info.pid is None:
            return None
        if info.pid == os.getpid():
            owned = self._owned
            dead = owned is not None and not owned.running and info == self._owned_info
            return info if dead else None
        return info

    def embedded_config(self) -> ServerConfig:
        """:func:`embedded_config`, knowing the origins this process's views come from: their
        direct sockets reconnect at once, before any view could say hello again."""
        return replace(embedded_config(), allow_origins=tuple(sorted(self.origins)))

    def adopt(self, info: ServerInfo) -> None:
        """Another kernel serves in place of the one we used: use its server, and vouch for
        our views' origins there (it knows its own views' only)."""
        with self.lock:
            self._replace(info)
        vouch(info, self.origins)

    def took_over(self, server: EmbeddedServer, info: ServerInfo) -> None:
        """This process serves in place of the kernel that is gone (or of its own server's
        process, which died)."""
        with self.lock:
            if self._owned is not None:
                self._owned.stop()  # a dead child: collect it
            self._owned, self._owned_info = server, info
            self._register_atexit()
            self._replace(info)

    def _replace(self, info: ServerInfo) -> None:
        old = self._current
        if old is not None and old.same_server(self._chosen):
            self._chosen = info  # %talkex serve chose the shared server: this is it now
        self._switch(info)

    def _register_atexit(self) -> None:
        if not self._atexit:
            atexit.register(self.shutdown)
            self._atexit = True


_manager = ServerManager()


def manager() -> ServerManager:
    """The process-wide :class:`ServerManager`."""
    return _manager
