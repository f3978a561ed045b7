"""Failover in this process: when is a host gone, who takes over, and on which port.
(tests/kernel/test_failover.py does it with real kernels.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import pytest

from talkex_widget import ChatWidget
from talkex_widget.notebook import discovery, takeover
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import ServerManager, ServerThread, embedded_config
from talkex_widget.server.app import ServerConfig

from ..jupyter_dirs import JupyterDirs
from .conftest import ViewSpy
from .threaded import wait_until


def ended_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process that lives until the test ends it (plays the host kernel)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield child.pid
    child.kill()
    child.wait()


@pytest.fixture
def occupied() -> Iterator[socket.socket]:
    """A loopback port something else listens on."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


@dataclass
class FakeHost:
    """A :class:`takeover.Host` that records what the watch decided."""

    info: ServerInfo | None
    lock: AbstractContextManager[object] = field(default_factory=nullcontext)
    adopted: list[ServerInfo] = field(default_factory=list)
    taken: list[tuple[ServerThread, ServerInfo]] = field(default_factory=list)

    def watched(self) -> ServerInfo | None:
        return self.info

    def embedded_config(self) -> ServerConfig:
        return embedded_config()

    def adopt(self, info: ServerInfo) -> None:
        self.adopted.append(info)

    def took_over(self, thread: ServerThread, info: ServerInfo) -> None:
        self.taken.append((thread, info))


def test_a_host_is_gone_when_its_process_ended_or_nothing_listens(
    occupied: socket.socket, live_pid: int
) -> None:
    port = occupied.getsockname()[1]
    listened = ServerInfo(f"http://127.0.0.1:{port}/", "t", pid=live_pid)
    assert not takeover.host_gone(listened, None)
    assert takeover.host_gone(ServerInfo(listened.url, "t", pid=ended_pid()), listened)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        free = unused.getsockname()[1]
    silent = ServerInfo(f"http://127.0.0.1:{free}/", "t", pid=live_pid)
    assert takeover.host_gone(silent, None)  # it stopped its server and removed the file
    assert not takeover.host_gone(silent, silent)  # the file says it serves: taken at its word


def test_taken_over_on_another_port_when_the_old_one_is_taken(
    jupyter_dirs: JupyterDirs, occupied: socket.socket
) -> None:
    port = occupied.getsockname()[1]
    gone = ServerInfo(f"http://127.0.0.1:{port}/", "the-token", pid=ended_pid(), view_key="vk")
    host = FakeHost(gone)
    takeover.check(host)
    ((thread, new),) = host.taken
    try:
        assert new.url != gone.url and new.pid == os.getpid()
        assert (new.token, new.view_key) == ("the-token", "vk")  # the clients' credentials
        assert new.store == embedded_config().db  # the host named none: the default store
        assert discovery.read_runtime_file() == new

        # a second survivor finds it under the lock and follows, starting nothing
        other = FakeHost(gone)
        takeover.check(other)
        assert other.adopted == [new] and other.taken == []
    finally:
        thread.stop()


def test_nothing_happens_while_the_host_serves(jupyter_dirs: JupyterDirs, live_pid: int) -> None:
    server = ServerThread(ServerConfig(port=0, token="t")).start()
    try:
        info = ServerInfo(f"http://127.0.0.1:{server.port}/", "t", pid=live_pid)
        discovery.publish(info)
        host = FakeHost(info)
        takeover.check(host)
        assert host.adopted == host.taken == []
    finally:
        server.stop()


def test_widgets_and_views_follow_a_takeover_to_a_new_port(
    servers: ServerManager, live_pid: int, jupyter_dirs: JupyterDirs
) -> None:
    """Another "kernel" (``live_pid``) hosts; it dies and its port is taken meanwhile."""
    config = embedded_config()
    hosted = ServerThread(config).start()
    first = ServerInfo(
        f"http://127.0.0.1:{hosted.port}/", config.token, pid=live_pid, store=config.db
    )
    discovery.publish(first)
    widget = ChatWidget(nickname="ada")
    try:
        assert widget.server_url == first.url and servers.owned is None
        views = ViewSpy(widget)
        views.say({"kind": "hello", "view": "v1", "origin": "http://jupyter.example:8888"})
        views.wait(lambda m: m["kind"] == "config" and m.get("host") == "notebook")
        before = widget.send("before")

        servers._watch.stop()  # hold the watch while the port changes hands
        hosted.stop()
        with socket.create_server(("127.0.0.1", hosted.port)):
            os.kill(live_pid, 9)
            servers._watch.start()
            wait_until(lambda: servers.owned is not None, 15, "this process took over")
        new = discovery.read_runtime_file()
        assert new is not None and new.url != first.url and new.pid == os.getpid()
        assert widget.server_url == new.url
        # the page's origin was vouched for: the new server knows it from the start
        assert servers._owned is not None
        assert "http://jupyter.example:8888" in servers._owned.config.allow_origins
        views.wait(lambda m: m["kind"] == "config" and m["server_url"] == new.url)
        after = widget.send("after")
        assert [m["id"] for m in widget.messages] == [before, after]  # the same history
    finally:
        widget.close()


def test_the_host_starts_its_server_again_when_its_process_died_alone(
    servers: ServerManager, jupyter_dirs: JupyterDirs
) -> None:
    """The kernel lives but its server's child process was killed (out of memory, by hand):
    the kernel's own watch starts it again, on the same port, token and history."""
    widget = ChatWidget(nickname="ada")
    try:
        first = discovery.read_runtime_file()
        assert first is not None and first == servers.owned and first.server_pid is not None
        before = widget.send("before")
        os.kill(first.server_pid, 9)
        wait_until(
            lambda: servers.owned is not None and servers.owned.server_pid != first.server_pid,
            15,
            "the kernel started its server again",
        )
        again = discovery.read_runtime_file()
        assert again == servers.owned and again is not None
        assert (again.url, again.token, again.pid) == (first.url, first.token, os.getpid())
        after = widget.send("after")
        assert [m["id"] for m in widget.messages] == [before, after]
    finally:
        widget.close()
