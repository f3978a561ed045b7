"""What a front end can make a kernel do, driven as an attacker would: forged comm messages
(widget updates and custom messages) sent straight to a real kernel, with everything the kernel
broadcasts (what a saved notebook could hold) and writes to its own stderr searched for secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from talkex_widget.notebook.embedded import ServerThread
from talkex_widget.server.app import ServerConfig

from ..jupyter_dirs import JupyterDirs
from ..notebook.threaded import Trap
from .conftest import IOPub, Kernel

StartKernel = Callable[..., Kernel]

LOUD_LOGS = """\
import logging, sys
for _name in ("talkex", "tornado"):
    _log = logging.getLogger(_name)
    _log.setLevel(logging.DEBUG)
    for _stream in (sys.stderr, sys.__stderr__):
        _log.addHandler(logging.StreamHandler(_stream))
"""
"""Every talkex and tornado log line (the embedded server's access log too), down to DEBUG,
into cell outputs and onto the process's stderr."""
TOKEN = "token-from-the-environment"


@pytest.fixture
def standalone() -> Iterator[ServerThread]:
    """A server outside the kernels, whose token the kernels get from the environment."""
    thread = ServerThread(ServerConfig(port=0, token=TOKEN)).start()
    yield thread
    thread.stop()


@pytest.fixture
def trap() -> Iterator[Trap]:
    listener = Trap()
    yield listener
    listener.close()


def open_widget(kernel: Kernel) -> str:
    """``w`` in the kernel; returns its comm id."""
    kernel.run(f"{LOUD_LOGS}from talkex_widget import ChatWidget\nw = ChatWidget(nickname='ada')")
    return str(kernel.value("w.model_id"))


def custom(content: dict[str, Any]) -> dict[str, Any]:
    """A custom message from a view, as a comm message's data."""
    return {"method": "custom", "content": content}


def closed(iopub: IOPub, comm_id: str, conn: int) -> dict[str, Any]:
    """Wait for the kernel to tell the view that relay ``conn`` is closed."""
    iopub.wait(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"]["data"].get("content", {}).get("kind") == "relay_closed"
            and m["content"]["data"]["content"].get("conn") == conn
        )
    )
    (found,) = [
        c for c in iopub.custom(comm_id) if c["kind"] == "relay_closed" and c["conn"] == conn
    ]
    return found


@pytest.mark.parametrize("where", ["standalone", "embedded"])
def test_relay_failures_write_no_token(
    start_kernel: StartKernel,
    jupyter_dirs: JupyterDirs,
    standalone: ServerThread,
    trap: Trap,
    where: str,
) -> None:
    """A kernel using another server (the relay's own lines), and one hosting the embedded
    server, whose output also carries that server's log lines for the refused sockets."""
    if where == "standalone":
        kernel = start_kernel(TALKEX_URL=f"http://127.0.0.1:{standalone.port}/", TALKEX_TOKEN=TOKEN)
    else:
        kernel = start_kernel()
    comm_id = open_widget(kernel)
    if where == "standalone":
        token, port = TOKEN, standalone.port
    else:
        published = json.loads(jupyter_dirs.talkex_runtime_file.read_text())
        token, port = published["token"], urlsplit(published["url"]).port
    iopub = kernel.watch()
    socket = f"ws://127.0.0.1:{port}/socket/websocket"
    attempts = {
        # another server, the real token in the query: refused before any connection
        1: f"ws://127.0.0.1:{trap.port}/socket/websocket?vsn=2.0.0&nickname=ada&token={token}",
        # the token smuggled into the path
        2: f"{socket}/{token}?vsn=2.0.0&nickname=ada",
        # the right server, a wrong token: the server refuses the upgrade
        3: f"{socket}?vsn=2.0.0&nickname=ada&token=wrong-{token}",
        # the right token and a nickname the server refuses
        4: f"{socket}?vsn=2.0.0&nickname=%20&token={token}",
    }
    for conn, url in attempts.items():
        kernel.comm_send(
            comm_id, custom({"kind": "relay_open", "view": "v1", "conn": conn, "url": url})
        )
    reasons = {conn: closed(iopub, comm_id, conn) for conn in attempts}
    assert reasons[1]["code"] == reasons[2]["code"] == 1008
    assert reasons[3]["code"] == reasons[4]["code"] == 1006
    kernel.run("import sys; sys.stderr.flush(); sys.__stderr__.flush()")

    broadcast, stderr = iopub.text(), kernel.log.read_text()
    assert "relay refused for view v1" in broadcast + stderr  # the failures were logged...
    assert "could not open" in broadcast + stderr
    if where == "embedded":  # the server's access log, refused upgrades included, is there too
        assert "403 GET /socket/websocket" in broadcast + stderr
    assert token not in broadcast and token not in stderr  # ...and no token with them
    assert trap.connections == 0


def test_a_view_cannot_repoint_the_kernel(
    start_kernel: StartKernel, standalone: ServerThread, trap: Trap
) -> None:
    url = f"http://127.0.0.1:{standalone.port}/"
    kernel = start_kernel(TALKEX_URL=url, TALKEX_TOKEN=TOKEN)
    comm_id = open_widget(kernel)
    assert kernel.value("w.server_url") == url
    iopub = kernel.watch()

    forged = {"method": "update", "state": {"server_url": trap.url}, "buffer_paths": []}
    kernel.comm_send(comm_id, forged)
    # The kernel answers with its own value, so the views stay in step with it.
    iopub.wait(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"]["data"].get("method") == "update"
            and m["content"]["data"]["state"].get("server_url") == url
        )
    )
    relay = f"ws://127.0.0.1:{trap.port}/socket/websocket?vsn=2.0.0&nickname=ada"
    kernel.comm_send(comm_id, custom({"kind": "relay_open", "view": "v1", "conn": 1, "url": relay}))
    assert closed(iopub, comm_id, 1)["code"] == 1008

    assert kernel.value("w.server_url") == url
    assert kernel.value("w.send('still here')") >= 1
    # the other traits stay the views' to change
    kernel.comm_send(comm_id, {"method": "update", "state": {"status": "away"}, "buffer_paths": []})
    assert kernel.value("w.status") == "away"  # the shell took the update first: in order
    assert trap.connections == 0
    assert TOKEN not in iopub.text()
