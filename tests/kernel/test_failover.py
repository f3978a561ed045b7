"""Failover between real kernels: the kernel hosting the embedded server goes (shut down, or
killed with SIGKILL) and a kernel that used it takes over on the same port, token and history;
its widget and a page's client (a Python client, with phoenix.js's reconnect and rejoin rules)
keep the room with every acknowledged message exactly once."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from talkex_widget.notebook.discovery import ServerInfo, process_alive

from ..helpers import room_history
from ..jupyter_dirs import JupyterDirs
from ..notebook.threaded import PyClient, wait_until
from .conftest import Kernel
from .test_kernels import embedded_servers, open_room, read_runtime

StartKernel = Callable[..., Kernel]

TAKEOVER_TIMEOUT = 30.0
"""Seconds for a survivor to notice (about 1 s), take over, and for clients to come back (their
reconnect backoff reaches 5 s); generous, as the machine is shared."""

OWNS_SERVER = "__import__('talkex_widget.notebook.embedded').notebook.embedded.manager().owned"


@pytest.fixture
def page() -> Iterator[Callable[[str, str], PyClient]]:
    """``page(url, token)``: a client named ``page`` in the lobby, outside every kernel."""
    clients: list[PyClient] = []

    def _page(url: str, token: str) -> PyClient:
        clients.append(PyClient(ServerInfo(url, token), "page", "lobby"))
        return clients[-1]

    yield _page
    for client in clients:
        client.close()


def end(kernel: Kernel, how: str) -> None:
    if how == "shutdown":
        kernel.shutdown()
    else:
        os.kill(kernel.pid, signal.SIGKILL)


def ids(messages: list[dict[str, Any]]) -> list[int]:
    return [m["id"] for m in messages]


def metas(client: PyClient) -> dict[str, int]:
    """How many connections each person has in ``client``'s view of the room."""
    return client.loop.run(lambda: {k: len(v) for k, v in client.room.presence.list().items()})


@pytest.mark.parametrize("how", ["shutdown", "sigkill"])
def test_a_follower_takes_over_when_the_host_goes(
    start_kernel: StartKernel,
    jupyter_dirs: JupyterDirs,
    page: Callable[[str, str], PyClient],
    how: str,
) -> None:
    a, b = start_kernel(), start_kernel()
    url = open_room(a, "ada")
    assert open_room(b, "bob") == url
    host = read_runtime(jupyter_dirs)
    assert host["pid"] == a.pid
    reader = page(url, host["token"])
    acknowledged = [
        a.value("w.send('from ada')"),
        b.value("w.send('from bob')"),
        reader.send("from the page"),
    ]
    wait_until(lambda: set(acknowledged) <= set(ids(b.value("w.messages"))), what="all in B")

    end(a, how)
    # B sends at once: the send waits for the server to be back (its socket may close under
    # it: the message stays pending and is pushed again after the rejoin), and is stored once.
    acknowledged.append(b.value("w.send('while nobody hosts', timeout=30)", timeout=40))
    wait_until(lambda: read_runtime(jupyter_dirs)["pid"] == b.pid, TAKEOVER_TIMEOUT, "B took over")
    taken = read_runtime(jupyter_dirs)
    assert (taken["url"], taken["token"]) == (url, host["token"])  # same port, same token
    assert b.value(f"{OWNS_SERVER} is not None")
    assert not process_alive(host["server_pid"])  # A's server process went with A

    wait_until(
        lambda: b.value("w.presence") == {"bob": "online", "page": "online"},
        TAKEOVER_TIMEOUT,
        "ada gone, bob and the page back, in B",
    )
    wait_until(lambda: metas(reader) == {"bob": 1, "page": 1}, TAKEOVER_TIMEOUT, "page presence")
    acknowledged.append(reader.send("the page after the takeover"))
    acknowledged.append(b.value("w.send('bob after the takeover')"))

    port, token = urlsplit(url).port or 0, host["token"]
    history = room_history(port, token, "lobby")
    assert sorted(set(acknowledged)) == sorted(acknowledged)
    assert set(acknowledged) <= set(ids(history))
    assert len(set(ids(history))) == len(history)  # nothing twice
    wait_until(lambda: ids(b.value("w.messages")) == ids(history), what="B holds the history")
    assert b.value("w.messages") == history
    wait_until(lambda: ids(reader.room.ordered()) == ids(history), what="the page caught up")


def test_two_followers_race_and_one_serves(
    start_kernel: StartKernel, jupyter_dirs: JupyterDirs
) -> None:
    a, b, c = start_kernel(), start_kernel(), start_kernel()
    url = open_room(a, "ada")
    assert open_room(b, "bob") == open_room(c, "cy") == url
    a_pid = a.pid

    end(a, "sigkill")
    wait_until(
        lambda: read_runtime(jupyter_dirs)["pid"] in (b.pid, c.pid),
        TAKEOVER_TIMEOUT,
        "a follower took over",
    )
    owners = [k for k in (b, c) if k.value(f"{OWNS_SERVER} is not None")]
    assert len(owners) == 1, "exactly one server"
    assert read_runtime(jupyter_dirs)["pid"] == owners[0].pid != a_pid
    for kernel in (b, c):
        assert kernel.value("w.server_url") == read_runtime(jupyter_dirs)["url"]
        assert embedded_servers(kernel) == (1 if kernel is owners[0] else 0)
        wait_until(
            lambda kernel=kernel: kernel.value("w.presence") == {"bob": "online", "cy": "online"},
            TAKEOVER_TIMEOUT,
            "both connected",
        )
    sent = c.value("w.send('cy after the race')")
    wait_until(lambda: sent in ids(b.value("w.messages")), what="C's message in B")
