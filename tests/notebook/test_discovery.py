"""Server URLs, the runtime file kernels share, and how a kernel picks its server."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from talkex_widget.notebook import discovery
from talkex_widget.notebook.discovery import ServerInfo, parse_server_url
from talkex_widget.notebook.embedded import ServerManager, ServerThread

from ..jupyter_dirs import JupyterDirs
from .conftest import STANDALONE_TOKEN


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_parse_server_url_takes_the_token_out() -> None:
    info = parse_server_url("http://127.0.0.1:4000/?token=abc")
    assert (info.url, info.token) == ("http://127.0.0.1:4000/", "abc")
    assert "abc" not in repr(info)
    assert parse_server_url("ws://host:1/prefix", "env").url == "http://host:1/prefix/"
    assert parse_server_url("wss://host/", None).url == "https://host/"
    assert parse_server_url("http://h:2", "env").token == "env"
    for bad in ("127.0.0.1:4000", "ftp://host/", "http:///nohost"):
        with pytest.raises(ValueError, match="not a Talkex server URL"):
            parse_server_url(bad)


def test_runtime_file_is_private_and_only_its_owner_removes_it(jupyter_dirs: JupyterDirs) -> None:
    path = discovery.publish(ServerInfo("http://127.0.0.1:1/", "secret", os.getpid()))
    assert path == jupyter_dirs.talkex_runtime_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "url": "http://127.0.0.1:1/",
        "token": "secret",
        "pid": os.getpid(),
    }
    assert discovery.read_runtime_file() == ServerInfo("http://127.0.0.1:1/", "secret", os.getpid())
    assert not discovery.forget(os.getpid() + 1)
    assert path.exists()
    assert discovery.forget()
    assert not path.exists()
    assert not discovery.forget()


def test_find_running_ignores_stale_files(
    jupyter_dirs: JupyterDirs, standalone: ServerThread
) -> None:
    url = f"http://127.0.0.1:{standalone.port}/"
    assert discovery.find_running() is None  # no file
    discovery.runtime_file().write_text("{not json")
    assert discovery.find_running() is None
    discovery.publish(ServerInfo(url, STANDALONE_TOKEN, dead_pid()))
    assert discovery.find_running() is None  # its process is gone
    discovery.publish(ServerInfo("http://127.0.0.1:9/", "t", os.getpid()))
    assert discovery.find_running() is None  # alive, but nothing answers
    discovery.publish(ServerInfo(url, STANDALONE_TOKEN, os.getpid()))
    assert discovery.find_running() == ServerInfo(url, STANDALONE_TOKEN, os.getpid())
    stats = discovery.health(ServerInfo(url))
    assert stats is not None and stats["status"] == "ok"


def test_manager_starts_publishes_and_stops_the_embedded_server(
    servers: ServerManager, jupyter_dirs: JupyterDirs
) -> None:
    assert servers.server(start=False) is None
    info = servers.server()
    assert info is not None and info == servers.owned == servers.current
    assert info.url.startswith("http://127.0.0.1:") and info.pid == os.getpid()
    assert info.token and len(info.token) >= 32
    assert discovery.read_runtime_file() == info
    assert discovery.healthy(info)
    # history goes to a SQLite file in the Jupyter data directory
    assert (jupyter_dirs.data / "talkex" / "history.db").exists()
    assert servers.server() == info  # the same one, not a second server
    assert servers.stop()
    assert not discovery.runtime_file().exists()
    assert not discovery.healthy(info)
    assert not servers.stop()


def test_manager_replaces_a_stale_runtime_file(servers: ServerManager) -> None:
    discovery.publish(ServerInfo("http://127.0.0.1:9/", "old", dead_pid()))
    info = servers.server()
    assert info is not None and info.token != "old"
    assert discovery.read_runtime_file() == info


def test_manager_joins_the_server_another_process_published(
    servers: ServerManager, standalone: ServerThread
) -> None:
    other = ServerInfo(f"http://127.0.0.1:{standalone.port}/", STANDALONE_TOKEN, os.getppid())
    discovery.publish(other)
    assert servers.server() == other
    assert servers.owned is None
    assert not servers.stop()  # not ours to stop
    assert discovery.read_runtime_file() == other


def test_talkex_url_and_connect_take_precedence(
    servers: ServerManager, standalone: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{standalone.port}/"
    monkeypatch.setenv("TALKEX_URL", url)
    monkeypatch.setenv("TALKEX_TOKEN", STANDALONE_TOKEN)
    assert servers.server() == ServerInfo(url, STANDALONE_TOKEN)
    assert not discovery.runtime_file().exists()  # nothing started, nothing published

    local = servers.serve()  # explicit: the local shared server wins over TALKEX_URL
    assert local == servers.owned and servers.server() == local

    with pytest.raises(ConnectionError):
        servers.connect("http://127.0.0.1:9/?token=x")
    assert servers.connect(f"{url}?token=other") == ServerInfo(url, "other")
    assert servers.server() == ServerInfo(url, "other")


def test_followers_hear_about_a_new_server(servers: ServerManager) -> None:
    heard: list[ServerInfo] = []

    class Follower:
        def server_changed(self, info: ServerInfo) -> None:
            heard.append(info)

    follower = Follower()
    servers.follow(follower)
    first = servers.server()
    servers.server()
    servers.stop()
    second = servers.serve()
    assert heard == [first, second] and first != second
