"""The embedded server in a child process: it serves, says why it cannot, keeps its
configuration out of ``/proc``, and lives and dies with the kernel that started it."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkex_widget.core.limits import Limits
from talkex_widget.core.rooms import RoomRules
from talkex_widget.notebook import child
from talkex_widget.notebook.child import EmbeddedProcess, config_from_dict, config_to_dict
from talkex_widget.notebook.discovery import ServerInfo, healthy, process_alive
from talkex_widget.notebook.takeover import listening
from talkex_widget.notebook.threads import SWITCH_INTERVAL, ServerThread
from talkex_widget.server.config import ServerConfig

from ..helpers import room_history
from .threaded import PyClient, wait_until

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

TOKEN = "child-token-not-on-the-command-line"


@pytest.fixture
def started() -> Iterator[EmbeddedProcess]:
    server = EmbeddedProcess(ServerConfig(port=0, token=TOKEN, view_key="child-view-key"))
    yield server.start()
    server.stop()


def info(server: EmbeddedProcess) -> ServerInfo:
    return ServerInfo(f"http://127.0.0.1:{server.port}/", TOKEN)


def test_it_serves_until_stopped(started: EmbeddedProcess) -> None:
    assert started.running and started.pid != os.getpid()
    assert started.url == f"http://127.0.0.1:{started.port}/?token={TOKEN}"
    reader = PyClient(info(started), "ada", "lobby")
    try:
        sent = reader.send("hello from the kernel's child")
        reader.wait_for("hello from the kernel's child")
        assert [m["id"] for m in room_history(started.port, TOKEN, "lobby")] == [sent]
    finally:
        reader.close()
    started.stop()
    assert not started.running
    assert not listening(info(started))


def test_a_port_in_use_is_an_os_error_that_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use") as raised:
            EmbeddedProcess(ServerConfig(port=port, token=TOKEN)).start()
    assert raised.value.errno == errno.EADDRINUSE


def test_a_bad_configuration_is_refused_before_any_child() -> None:
    server = EmbeddedProcess(ServerConfig(host="0.0.0.0", port=0, token=""))
    with pytest.raises(ValueError, match="without a token"):
        server.start()
    assert not server.running


def test_the_childs_own_errors_reach_the_caller(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="history URL 'bogus://x' has unknown scheme"):
        EmbeddedProcess(ServerConfig(port=0, token=TOKEN, db="bogus://x")).start()
    (tmp_path / "file").touch()
    unusable = f"sqlite:///{tmp_path}/file/history.db"  # a folder that is a file
    with pytest.raises(RuntimeError, match="could not start: HistoryError: cannot create"):
        EmbeddedProcess(ServerConfig(port=0, token=TOKEN, db=unusable)).start()


@linux_only
def test_the_configuration_is_not_in_proc(started: EmbeddedProcess) -> None:
    """Anyone on the machine may read a process's command line; the token goes over stdin."""
    for part in ("cmdline", "environ"):
        seen = Path(f"/proc/{started.pid}/{part}").read_bytes()
        assert TOKEN.encode() not in seen and b"child-view-key" not in seen


def test_the_configuration_survives_its_trip_as_json() -> None:
    config = ServerConfig(
        port=0,
        token="t",
        db="sqlite:////tmp/history.db",
        allow_origins=("http://jupyter.example:8888",),
        rules=RoomRules(max_body=300),
        limits=Limits(messages_per_window=7),
        view_key="vk",
    )
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config
    with pytest.raises(ValueError, match="unknown server settings: colour"):
        config_from_dict({**config_to_dict(config), "colour": "blue"})


def test_the_environment_chooses_thread_or_process(monkeypatch: pytest.MonkeyPatch) -> None:
    assert child.hosting({}) == "process"
    assert child.hosting({child.EMBEDDED_ENV: "Thread"}) == "thread"
    with pytest.raises(ValueError, match="TALKEX_EMBEDDED='fork': expected one of process, thread"):
        child.hosting({child.EMBEDDED_ENV: "fork"})

    monkeypatch.setenv(child.EMBEDDED_ENV, "thread")
    before = sys.getswitchinterval()
    server = child.start_embedded_server(ServerConfig(port=0, token="t"))
    try:
        assert isinstance(server, ServerThread) and server.pid == os.getpid()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        assert child.server_info(server).server_pid is None  # the kernel is the server
    finally:
        server.stop()
    assert sys.getswitchinterval() == pytest.approx(before)


def test_the_thread_that_started_it_may_end() -> None:
    """Linux sends the death signal when the starting *thread* ends (here, as with a takeover
    started by the host watch): the child must tell that from its kernel's death."""
    made: list[EmbeddedProcess] = []
    starter = threading.Thread(
        target=lambda: made.append(EmbeddedProcess(ServerConfig(port=0, token=TOKEN)).start())
    )
    starter.start()
    starter.join(60)
    (server,) = made
    try:
        assert healthy(info(server)) and healthy(info(server))
        assert server.running
    finally:
        server.stop()


KERNEL = textwrap.dedent(
    """
    import os, sys, time
    from talkex_widget.notebook.child import EmbeddedProcess
    from talkex_widget.server.config import ServerConfig

    server = EmbeddedProcess(ServerConfig(port=0, token="t")).start()
    if sys.argv[1] == "fork" and os.fork() == 0:  # holds the child's stdin open, like a
        time.sleep(600)                           # multiprocessing worker forked by a cell
    print(server.pid, flush=True)
    time.sleep(600)
    """
)


@pytest.mark.parametrize("fork", ["plain", "fork"])
def test_it_stops_when_its_kernel_is_killed(fork: str) -> None:
    """SIGKILL of the kernel: its child goes too (stdin ends; on Linux the death signal, which
    alone is left when a process forked from the kernel keeps stdin open)."""
    if fork == "fork" and not sys.platform.startswith("linux"):
        pytest.skip("the parent's death signal is Linux's")
    kernel = subprocess.Popen(
        [sys.executable, "-c", KERNEL, fork], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert kernel.stdout is not None
        server_pid = int(kernel.stdout.readline())
        assert process_alive(server_pid)
        kernel.kill()
        kernel.wait()
        wait_until(lambda: not process_alive(server_pid), 15, "the server process to end")
    finally:
        with contextlib.suppress(ProcessLookupError):  # the forked sleeper, if any
            os.killpg(kernel.pid, signal.SIGKILL)
        kernel.wait()
