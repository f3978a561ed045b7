"""ChatWidget and the magics in real kernels: one embedded server shared through the runtime
file, messages between kernels, and a server that keeps serving while its kernel is busy."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

from talkex_widget.notebook.child import CHILD_MODULE
from talkex_widget.notebook.discovery import ServerInfo

from ..jupyter_dirs import JupyterDirs
from ..notebook.threaded import PyClient, wait_until
from .conftest import Kernel

StartKernel = Callable[..., Kernel]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def open_room(kernel: Kernel, nickname: str, room: str = "lobby") -> str:
    """Create ``w`` in the kernel; returns its server_url."""
    kernel.run(
        "from talkex_widget import ChatWidget\n"
        f"w = ChatWidget(room={room!r}, nickname={nickname!r})"
    )
    return kernel.value("w.server_url")


def read_runtime(dirs: JupyterDirs) -> dict[str, Any]:
    return json.loads(dirs.talkex_runtime_file.read_text())


def embedded_servers(kernel: Kernel) -> int:
    """How many embedded servers run beside ``kernel``'s main thread: server threads
    (``TALKEX_EMBEDDED=thread``) and child processes (the default)."""
    threads = kernel.value("[t.name for t in __import__('threading').enumerate()]")
    children = 0
    for child in psutil.Process(kernel.pid).children():
        with contextlib.suppress(psutil.Error):  # ended meanwhile, or a zombie
            children += CHILD_MODULE in child.cmdline()
    return threads.count("talkex-server") + children


@pytest.fixture
def observe(jupyter_dirs: JupyterDirs) -> Iterator[Callable[[str], PyClient]]:
    """``observe(url)``: a Python client named ``py`` in the lobby of the kernels' server."""
    clients: list[PyClient] = []

    def _observe(url: str) -> PyClient:
        info = ServerInfo(url, read_runtime(jupyter_dirs)["token"])
        clients.append(PyClient(info, "py", "lobby"))
        return clients[-1]

    yield _observe
    for client in clients:
        client.close()


def test_extension_magics_and_unload(start_kernel: StartKernel, jupyter_dirs: JupyterDirs) -> None:
    kernel = start_kernel()
    kernel.run("%load_ext talkex_widget")
    assert "No Talkex server yet" in kernel.run("%talkex").stdout
    assert "usage: %talkex" in kernel.run("%talkex bogus").stdout

    served = kernel.run("%talkex serve").stdout
    info = read_runtime(jupyter_dirs)
    assert info["pid"] == kernel.pid
    assert (
        served.strip()
        == f"Talkex server: {info['url']} (embedded in this kernel, pid {info['pid']})"
    )
    # the server runs beside the kernel's main thread: in a child process (or on a thread)
    assert embedded_servers(kernel) == 1
    assert info["server_pid"] != kernel.pid

    shown = kernel.run("%chat lobby")
    assert any(WIDGET_VIEW in d for d in shown.data)
    status = kernel.run("%talkex").stdout
    assert info["url"] in status and "#lobby as " in status
    assert info["token"] not in status  # outputs are saved with the notebook

    assert "Stopped" in kernel.run("%talkex stop").stdout
    assert not jupyter_dirs.talkex_runtime_file.exists()
    assert "runs no Talkex server" in kernel.run("%talkex stop").stdout

    kernel.run("%talkex serve")
    assert jupyter_dirs.talkex_runtime_file.exists()
    kernel.run("%unload_ext talkex_widget")
    assert not jupyter_dirs.talkex_runtime_file.exists()
    assert kernel.value("'talkex' in get_ipython().magics_manager.magics['line']") is False
    assert embedded_servers(kernel) == 0


def test_connect_magic_and_talkex_url(start_kernel: StartKernel, jupyter_dirs: JupyterDirs) -> None:
    owner = start_kernel()
    url = open_room(owner, "ada")
    token = read_runtime(jupyter_dirs)["token"]
    # a kernel told where the server is (TALKEX_URL, token in the URL) does not read the file
    elsewhere = jupyter_dirs.root / "elsewhere"
    guest = start_kernel(TALKEX_URL=f"{url}?token={token}", JUPYTER_RUNTIME_DIR=str(elsewhere))
    assert open_room(guest, "bob") == url
    assert not (elsewhere / "talkex-server.json").exists()
    wait_until(
        lambda: guest.value("w.presence") == {"ada": "online", "bob": "online"},
        what="both in the guest's presence",
    )

    third = start_kernel(JUPYTER_RUNTIME_DIR=str(jupyter_dirs.root / "third"))
    third.run("%load_ext talkex_widget")
    assert "Not connected" in third.run("%talkex connect http://127.0.0.1:9/").stdout
    out = third.run(f"%talkex connect {url}?token={token}").stdout
    assert out.strip() == f"Talkex server: {url} (chosen with %talkex connect)"
    assert open_room(third, "cy") == url


def test_two_kernels_share_one_server(start_kernel: StartKernel, jupyter_dirs: JupyterDirs) -> None:
    a = start_kernel()
    url = open_room(a, "ada")
    info = read_runtime(jupyter_dirs)
    assert info["url"] == url and info["pid"] == a.pid
    assert stat.S_IMODE(os.stat(jupyter_dirs.talkex_runtime_file).st_mode) == 0o600

    b = start_kernel()
    assert open_room(b, "bob") == url  # found through the runtime file
    assert (
        b.value("__import__('talkex_widget.notebook.embedded').notebook.embedded.manager().owned")
        is None
    )

    message_id = a.value("w.send('hello from A')")
    wait_until(
        lambda: any(m["body"] == "hello from A" for m in b.value("w.messages")),
        what="A's message in B",
    )
    assert [m["id"] for m in b.value("w.messages") if m["body"] == "hello from A"] == [message_id]
    wait_until(
        lambda: b.value("w.presence") == {"ada": "online", "bob": "online"},
        what="both online in B",
    )

    a.run("w.status = 'away'")
    wait_until(lambda: b.value("w.presence")["ada"] == "away", what="ada away in B")

    # B shuts down first: not its file, so it stays; A's shutdown removes it.
    b.shutdown()
    assert read_runtime(jupyter_dirs)["pid"] == a.pid
    a.shutdown()
    wait_until(lambda: not jupyter_dirs.talkex_runtime_file.exists(), what="runtime file removed")


def test_quick_cells_leave_presence_alone(
    start_kernel: StartKernel, observe: Callable[[str], PyClient]
) -> None:
    a = start_kernel()
    url = open_room(a, "ada")
    py = observe(url)
    wait_until(lambda: py.meta("ada").get("status") == "online", what="ada online at py")
    joined_ref = py.meta("ada")["phx_ref"]

    for cell in ("w.presence", "x = 1", "w.messages", "%load_ext talkex_widget", "%talkex"):
        a.run(cell)
    a.run("w.status = 'away'")  # a change that is seen: everything before it has arrived
    wait_until(lambda: py.meta("ada").get("status") == "away", what="ada away at py")
    # the away update replaced the meta ada joined with: no busy/online flip came between
    assert py.meta("ada")["phx_ref_prev"] == joined_ref


def test_busy_kernel_keeps_serving(
    start_kernel: StartKernel, observe: Callable[[str], PyClient]
) -> None:
    a = start_kernel()
    url = open_room(a, "ada")
    b = start_kernel()
    open_room(b, "bob")
    a.run("seen = []\nw.on_message(seen.append)")
    py = observe(url)

    sleeping = a.start("import time; time.sleep(30)")  # interrupted below
    a.busy(sleeping)

    # Once the cell has run for busy_after (2 s), the room sees what A is running.
    wait_until(lambda: py.meta("ada").get("status") == "busy", what="ada busy while A runs")
    assert py.meta("ada")["activity"] == "running import time; time.sleep(30)"
    round_trip = b.value(
        "(lambda t0: (w.send('from B while A sleeps'), __import__('time').monotonic() - t0))"
        "(__import__('time').monotonic())"
    )
    wait_until(
        lambda: any(m["body"] == "from B while A sleeps" for m in py.room.ordered()),
        what="B's message at the Python client",
    )
    py.send("from Python while A sleeps")
    wait_until(
        lambda: any(m["body"] == "from Python while A sleeps" for m in b.value("w.messages")),
        what="the Python client's message in B",
    )
    assert not a.reply_ready(sleeping), "A finished sleeping: the test proved nothing"
    assert round_trip[1] < 5.0, f"B's send took {round_trip[1]:.2f} s"
    a.manager.interrupt_kernel()
    wait_until(lambda: a.reply_ready(sleeping), what="A interrupted")
    wait_until(lambda: py.meta("ada").get("status") == "online", what="ada online after the cell")
    assert "activity" not in py.meta("ada")
    # A's own client kept receiving during the sleep; its callbacks run on their own thread
    wanted = {"from B while A sleeps", "from Python while A sleeps"}
    wait_until(
        lambda: wanted <= {m["body"] for m in a.value("seen")}, what="both messages in A's seen"
    )
