"""ChatWidget and the magics in real kernels: one embedded server shared through the runtime
file, messages between kernels, and a server that keeps serving while its kernel is busy."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from talkex_widget.client import RoomClient, Socket
from talkex_widget.notebook.embedded import LoopThread

from .conftest import Kernel, runtime_file, wait_for

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def open_room(kernel: Kernel, nickname: str, room: str = "lobby") -> str:
    """Create ``w`` in the kernel; returns its server_url."""
    kernel.run(
        "from talkex_widget import ChatWidget\n"
        f"w = ChatWidget(room={room!r}, nickname={nickname!r})"
    )
    return kernel.value("w.server_url")


def read_runtime(root: Path) -> dict[str, Any]:
    return json.loads(runtime_file(root).read_text())


def test_extension_magics_and_unload(start_kernel: Any, jupyter_root: Path) -> None:
    kernel = start_kernel()
    kernel.run("%load_ext talkex_widget")
    assert "No Talkex server yet" in kernel.run("%talkex").stdout
    assert "usage: %talkex" in kernel.run("%talkex bogus").stdout

    served = kernel.run("%talkex serve").stdout
    info = read_runtime(jupyter_root)
    assert info["pid"] == kernel.pid
    assert (
        served.strip()
        == f"Talkex server: {info['url']} (embedded in this kernel, pid {info['pid']})"
    )
    # the server runs on its own thread, not the kernel's main thread
    threads = kernel.value("[t.name for t in __import__('threading').enumerate()]")
    assert "talkex-server" in threads

    shown = kernel.run("%chat lobby")
    assert any(WIDGET_VIEW in d for d in shown.data)
    status = kernel.run("%talkex").stdout
    assert info["url"] in status and "#lobby as " in status
    assert info["token"] not in status  # outputs are saved with the notebook

    assert "Stopped" in kernel.run("%talkex stop").stdout
    assert not runtime_file(jupyter_root).exists()
    assert "runs no Talkex server" in kernel.run("%talkex stop").stdout

    kernel.run("%talkex serve")
    assert runtime_file(jupyter_root).exists()
    kernel.run("%unload_ext talkex_widget")
    assert not runtime_file(jupyter_root).exists()
    assert kernel.value("'talkex' in get_ipython().magics_manager.magics['line']") is False
    assert "talkex-server" not in kernel.value(
        "[t.name for t in __import__('threading').enumerate()]"
    )


def test_connect_magic_and_talkex_url(start_kernel: Any, jupyter_root: Path) -> None:
    owner = start_kernel()
    url = open_room(owner, "ada")
    token = read_runtime(jupyter_root)["token"]
    # a kernel told where the server is (TALKEX_URL, token in the URL) does not read the file
    elsewhere = jupyter_root / "elsewhere"
    guest = start_kernel(TALKEX_URL=f"{url}?token={token}", JUPYTER_RUNTIME_DIR=str(elsewhere))
    assert open_room(guest, "bob") == url
    assert not (elsewhere / "talkex-server.json").exists()
    assert guest.value("w.presence") == {"ada": "online", "bob": "online"}

    third = start_kernel(JUPYTER_RUNTIME_DIR=str(jupyter_root / "third"))
    third.run("%load_ext talkex_widget")
    assert "Not connected" in third.run("%talkex connect http://127.0.0.1:9/").stdout
    out = third.run(f"%talkex connect {url}?token={token}").stdout
    assert out.strip() == f"Talkex server: {url} (chosen with %talkex connect)"
    assert open_room(third, "cy") == url


def test_two_kernels_share_one_server(start_kernel: Any, jupyter_root: Path) -> None:
    a = start_kernel()
    url = open_room(a, "ada")
    info = read_runtime(jupyter_root)
    assert info["url"] == url and info["pid"] == a.pid
    assert stat.S_IMODE(os.stat(runtime_file(jupyter_root)).st_mode) == 0o600

    b = start_kernel()
    assert open_room(b, "bob") == url  # found through the runtime file
    assert (
        b.value("__import__('talkex_widget.notebook.embedded').notebook.embedded.manager().owned")
        is None
    )

    message_id = a.value("w.send('hello from A')")
    wait_for(
        lambda: any(m["body"] == "hello from A" for m in b.value("w.messages")),
        what="A's message in B",
    )
    assert [m["id"] for m in b.value("w.messages") if m["body"] == "hello from A"] == [message_id]
    assert b.value("w.presence") == {"ada": "online", "bob": "online"}

    a.run("w.status = 'away'")
    wait_for(lambda: b.value("w.presence")["ada"] == "away", what="ada away in B")

    # B shuts down first: not its file, so it stays; A's shutdown removes it.
    b.shutdown()
    assert read_runtime(jupyter_root)["pid"] == a.pid
    a.shutdown()
    wait_for(lambda: not runtime_file(jupyter_root).exists(), what="runtime file removed")


def test_busy_kernel_keeps_serving(start_kernel: Any, jupyter_root: Path) -> None:
    a = start_kernel()
    url = open_room(a, "ada")
    b = start_kernel()
    open_room(b, "bob")
    a.run("seen = []\nw.on_message(seen.append)")

    token = read_runtime(jupyter_root)["token"]
    loop = LoopThread("test-client").start()
    try:

        async def join() -> RoomClient:
            socket = Socket(url, {"nickname": "py", "token": token})
            await socket.connect()
            room = RoomClient(socket, "lobby")
            await room.join()
            return room

        py = loop.call(join())

        sleeping = a.start("import time; time.sleep(30)")  # interrupted below
        a.busy(sleeping)

        def ada_meta() -> dict[str, Any]:
            return loop.run(lambda: (py.presence.list().get("ada") or [{}])[-1])

        # The room sees what A is running, from A's presence while the cell runs.
        wait_for(lambda: ada_meta().get("status") == "busy", what="ada busy while A runs")
        assert ada_meta()["activity"] == "running import time; time.sleep(30)"
        assert loop.run(py.presence.statuses)["ada"] == "busy"
        round_trip = b.value(
            "(lambda t0: (w.send('from B while A sleeps'), __import__('time').monotonic() - t0))"
            "(__import__('time').monotonic())"
        )
        wait_for(
            lambda: any(m["body"] == "from B while A sleeps" for m in py.ordered()),
            what="B's message at the Python client",
        )
        loop.call(py.send("from Python while A sleeps"))
        wait_for(
            lambda: any(m["body"] == "from Python while A sleeps" for m in b.value("w.messages")),
            what="the Python client's message in B",
        )
        assert not a.reply_ready(sleeping), "A finished sleeping: the test proved nothing"
        assert round_trip[1] < 5.0, f"B's send took {round_trip[1]:.2f} s"
        a.manager.interrupt_kernel()
        wait_for(lambda: a.reply_ready(sleeping), what="A interrupted")
        wait_for(lambda: ada_meta().get("status") == "online", what="ada online after the cell")
        assert "activity" not in ada_meta()
        # A's own client kept receiving during the sleep
        bodies = [m["body"] for m in a.value("seen")]
        assert "from B while A sleeps" in bodies and "from Python while A sleeps" in bodies
        loop.call(py.socket.disconnect())
    finally:
        loop.stop()
