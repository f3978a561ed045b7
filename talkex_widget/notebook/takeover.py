"""Failover: when the kernel hosting the embedded server goes away, a kernel that used it
takes over.

The embedded server lives in the first kernel that needed it, and kernels come and go
(shut down, restarted, killed). Without this, every other kernel, view and page would go on
retrying a dead address until someone thought of ``%talkex serve``.

Every kernel that talks to an embedded server (another kernel's, found in the runtime file, or
its own) runs a :class:`HostWatch`: a daemon thread that looks once a second, cheaply (the
runtime file, and whether the host's processes run). The host is gone when its process has
ended (a zombie not yet reaped counts), when the child process serving for it has
(:mod:`.child`), or when the file no longer names it and nothing listens on its port (it
stopped its server: ``%talkex stop``, or a shutdown, which removes the file). The host kernel
watches its own child the same way, and starts it again if it died alone.

A survivor then takes the runtime file's lock and looks again: another survivor may have taken
over already, and then it follows that one, so two survivors racing end with one server. If
not, it starts the server again with the host's token, viewer key and history store, on the
same port where it can (once the old server's process has let it go): every socket, page and
view then reconnects by itself to the address it knows, with the credentials it holds. Where
the port is taken, a free one is used and published; widgets and their views move to it (a
page on the old address cannot follow). Nothing is lost or doubled: the history is the same
store, and clients rejoin with the last id they saw and resend unconfirmed messages with their
``client_id``, which the store deduplicates.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Protocol
from urllib.parse import urlsplit

from talkex_widget.notebook.child import EmbeddedServer, server_info, start_embedded_server
from talkex_widget.notebook.discovery import (
    HEALTH_TIMEOUT,
    ServerInfo,
    healthy,
    process_alive,
    publish,
    read_runtime_file,
    runtime_lock,
)
from talkex_widget.server.config import ServerConfig

__all__ = [
    "GONE_MESSAGE",
    "POLL_INTERVAL",
    "Host",
    "HostWatch",
    "check",
    "host_gone",
    "listening",
    "start_in_place_of",
    "successor",
    "vouch",
]

log = logging.getLogger("talkex.takeover")

POLL_INTERVAL = 1.0
"""Seconds between two looks at the host: failover within a second or two, for the price of a
file read and a loopback connect per second."""
RELEASE_TIMEOUT = 5.0
"""Seconds a survivor waits for the old server's process to end and free its port (a child
stops within milliseconds of its kernel) before it takes another port."""
GONE_MESSAGE = "the notebook hosting this chat has stopped; it will resume when a notebook opens it"
"""What a view or page shows when its notebook-hosted server stays away (see the config's
``host`` field in :mod:`.views`)."""


class Host(Protocol):
    """What the watch needs from the process's :class:`~.embedded.ServerManager`."""

    lock: AbstractContextManager[object]
    """Held while the process's choice of server changes."""

    def watched(self) -> ServerInfo | None:
        """The other kernel's embedded server this process uses, if any."""

    def embedded_config(self) -> ServerConfig:
        """A fresh embedded server's configuration, as this process would start one."""

    def adopt(self, info: ServerInfo) -> None:
        """Another kernel serves in place of the host now: use ``info``."""

    def took_over(self, server: EmbeddedServer, info: ServerInfo) -> None:
        """This process serves in place of the host now."""


def listening(info: ServerInfo, timeout: float = 1.0) -> bool:
    """Whether something accepts connections on ``info``'s port.

    Only a refusal counts as "no": a server too busy to answer quickly is still there.
    """
    parts = urlsplit(info.url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout):
            return True
    except ConnectionRefusedError:
        return False
    except OSError:
        return True


def host_gone(info: ServerInfo, published: ServerInfo | None) -> bool:
    """The kernel serving ``info`` has stopped serving: its process ended (or is a zombie), or
    it no longer names ``info`` in the runtime file (``published``) and nothing listens on its
    port. While the file still names it, its word is taken: no connection is made, so the
    host's server is not woken every second by every follower."""
    if info.pid is not None and not process_alive(info.pid):
        return True
    if info.server_pid is not None and not process_alive(info.server_pid):
        return True  # its server's process died, though the kernel lives
    if _same_host(info, published):
        return False  # the host removes the file when it stops serving
    return not listening(info)


def _same_host(info: ServerInfo, published: ServerInfo | None) -> bool:
    """The runtime file names the very server ``info`` is (the same kernel, address and token,
    and the same process serving)."""
    return (
        published is not None
        and (published.pid, published.server_pid) == (info.pid, info.server_pid)
        and published.same_server(info)
    )


def successor(info: ServerInfo, published: ServerInfo | None) -> ServerInfo | None:
    """The server the runtime file names instead of ``info``, if one does and it answers."""
    if published is None or published.pid is None or _same_host(info, published):
        return None
    if not process_alive(published.pid) or not healthy(published):
        return None
    return published


def start_in_place_of(info: ServerInfo, base: ServerConfig) -> tuple[EmbeddedServer, ServerInfo]:
    """Start the server ``info`` was, in this process: same token, viewer key and history store,
    the same port where it is free; publish it in the runtime file (call under its lock)."""
    config = replace(
        base,
        port=urlsplit(info.url).port or 0,
        token=info.token,
        view_key=info.view_key or base.view_key,
        db=info.store or base.db,
    )
    if info.server_pid is not None:
        _wait_for_end(info.server_pid, RELEASE_TIMEOUT)
    try:
        server = start_embedded_server(config)
    except OSError as exc:  # the port is someone else's now
        log.info("port %s is taken (%s): taking over on another one", config.port, exc)
        server = start_embedded_server(replace(config, port=0))
    new = server_info(server)
    publish(new)
    log.info("took over the Talkex server of process %s at %s", info.pid, new.url)
    return server, new


def _wait_for_end(pid: int, timeout: float) -> None:
    """Until process ``pid`` has ended (a dead kernel's child stops by itself), at most
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while pid != os.getpid() and process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def vouch(info: ServerInfo, origins: Iterable[str]) -> None:
    """Tell ``info``'s server (with its token) that these browser origins may open sockets, as
    :mod:`.views` does for each view's hello; a refusal is logged, the views then relay."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    for origin in sorted(origins):
        request = urllib.request.Request(
            info.url + "api/origins",
            data=json.dumps({"origin": origin}).encode(),
            headers={"Authorization": f"token {info.token or ''}"},
            method="POST",
        )
        try:
            opener.open(request, timeout=HEALTH_TIMEOUT).close()
        except OSError as exc:
            log.info("the server did not accept the origin %s: %s", origin, exc)


def check(host: Host) -> None:
    """One look: follow a successor, or take over when the host is gone, else nothing."""
    info = host.watched()
    if info is None:
        return
    published = read_runtime_file()
    found = successor(info, published)
    if found is None and not host_gone(info, published):
        return
    server: EmbeddedServer | None = None
    # The manager's lock, then the file's: the order ServerManager takes them in. The file's
    # is let go before widgets move, which may take a while.
    with host.lock:
        with runtime_lock():
            if host.watched() != info:  # changed meanwhile (%talkex connect, serve...)
                return
            published = read_runtime_file()
            found = successor(info, published)
            if found is None:
                if not host_gone(info, published):
                    return
                server, found = start_in_place_of(info, host.embedded_config())
        if server is not None:
            host.took_over(server, found)
        else:
            log.info("following the Talkex server at %s (process %s)", found.url, found.pid)
            host.adopt(found)


class HostWatch:
    """A daemon thread running :func:`check` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, host: Host, interval: float = POLL_INTERVAL) -> None:
        self.host = host
        self.interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="talkex-host-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                check(self.host)
            except Exception:  # a store that will not open, a full disk: try again next time
                log.exception("could not take over the Talkex server")
