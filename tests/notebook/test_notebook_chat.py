"""ChatWidget in real notebooks: JupyterLab 4 and Notebook 7, two kernels, a busy kernel, and
the comm relay when the browser cannot reach the server."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking import BlockingKernelClient
from playwright.sync_api import expect

from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import ServerThread
from talkex_widget.server.app import ServerConfig

from .conftest import Lab, chat_cells, joined, online, open_notebook, say
from .threaded import PyClient

# Ports Chromium refuses to connect to (net::ERR_UNSAFE_PORT), while the kernel can: a server
# there is a server the browser cannot reach, the case the comm relay exists for.
UNSAFE_PORTS = (6665, 6666, 6667, 6668, 6669, 6697, 10080)


@pytest.fixture
def py_clients() -> Iterator[list[PyClient]]:
    clients: list[PyClient] = []
    yield clients
    for client in clients:
        client.close()


def kernel_client(lab: Lab, notebook: str) -> BlockingKernelClient:
    client = BlockingKernelClient(
        connection_file=str(lab.runtime / f"kernel-{lab.kernel_id(notebook)}.json")
    )
    client.load_connection_file()
    client.start_channels()
    return client


def wait_busy(client: BlockingKernelClient, msg_id: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = client.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "busy"
        ):
            return
    raise AssertionError("the kernel never started the long cell")


def finished(client: BlockingKernelClient, msg_id: str) -> bool:
    while client.shell_channel.msg_ready():
        if client.get_shell_msg(timeout=1)["parent_header"].get("msg_id") == msg_id:
            return True
    return False


def test_two_notebooks_chat_and_a_busy_kernel_does_not_stop_the_widget(
    notebooks: Lab, new_context: Any, py_clients: list[PyClient]
) -> None:
    lab = notebooks
    ada = open_notebook(
        new_context(), lab, lab.write_notebook("ada.ipynb", *chat_cells("lobby", "ada"))
    )
    ada_root = joined(ada)
    expect(ada_root).to_have_attribute("data-transport", "websocket")
    server = lab.talkex_server()  # ada's kernel started it and published it
    py = PyClient(server, "py", "lobby")
    py_clients.append(py)

    say(ada, "hello from ada's widget")
    py.wait_for("hello from ada's widget")

    bob = open_notebook(
        new_context(), lab, lab.write_notebook("bob.ipynb", *chat_cells("lobby", "bob"))
    )
    bob_root = joined(bob)
    assert lab.talkex_server() == server  # bob's kernel joined ada's server, started none
    say(bob, "hi ada, bob here")
    expect(ada_root.locator(".tx-messages")).to_contain_text("hi ada, bob here")
    py.wait_for("hi ada, bob here")
    for page in (ada, bob):
        for nickname in ("ada", "bob", "py"):
            expect(online(page).locator(f"li[data-nickname='{nickname}']")).to_have_count(1)
        # One person with one notebook is one view: the kernel's own link is no extra tab.
        for nickname in ("ada", "bob"):
            row = online(page).locator(f"li[data-nickname='{nickname}']")
            expect(row).to_have_attribute("data-count", "1")
            expect(row.locator(".tx-count")).to_have_count(0)

    kernel = kernel_client(lab, "ada.ipynb")
    try:
        # a trait set in Python reaches the view, and through it everyone
        kernel.execute("w.status = 'away'", reply=True, timeout=30)
        expect(ada_root.get_by_role("combobox", name="Status")).to_have_value("away")
        expect(online(bob).locator("li[data-nickname='ada']")).to_have_attribute(
            "data-status", "away"
        )

        # ada's kernel is busy in a long cell; her widget talks to the server on its own.
        sleeping = kernel.execute("import time; time.sleep(60)")  # interrupted below
        wait_busy(kernel, sleeping)
        py.send("sent while ada's kernel sleeps")
        expect(ada_root.locator(".tx-messages")).to_contain_text("sent while ada's kernel sleeps")
        say(ada, "ada types while her kernel sleeps")
        py.wait_for("ada types while her kernel sleeps")
        expect(bob_root.locator(".tx-messages")).to_contain_text(
            "ada types while her kernel sleeps"
        )
        assert not finished(kernel, sleeping), "the long cell ended: nothing was proven"
        expect(ada.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
            "data-status", "busy"
        )
        lab.api("POST", f"/api/kernels/{lab.kernel_id('ada.ipynb')}/interrupt")
    finally:
        kernel.stop_channels()


def unsafe_port_server() -> ServerThread:
    for port in UNSAFE_PORTS:
        with contextlib.suppress(OSError):
            return ServerThread(ServerConfig(port=port, token="relay-token")).start()
    pytest.skip(f"none of the ports {UNSAFE_PORTS} is free")


def test_relay_when_the_browser_cannot_reach_the_server(
    notebooks: Lab, new_context: Any, py_clients: list[PyClient]
) -> None:
    lab = notebooks
    standalone = unsafe_port_server()
    try:
        url = f"http://127.0.0.1:{standalone.port}/"
        cells = chat_cells("relay", "carol", server=f"{url}?token=relay-token")
        carol = open_notebook(new_context(), lab, lab.write_notebook("carol.ipynb", *cells))
        root = joined(carol)
        expect(root).to_have_attribute("data-transport", "relay")
        py = PyClient(ServerInfo(url, "relay-token"), "py", "relay")
        py_clients.append(py)

        say(carol, "through the kernel")
        py.wait_for("through the kernel")
        py.send("back through the kernel")
        expect(root.locator(".tx-messages")).to_contain_text("back through the kernel")
        expect(online(carol).locator("li[data-nickname='py']")).to_have_count(1)
        root.get_by_role("combobox", name="Status").select_option("busy")
        expect(online(carol).locator("li[data-nickname='carol']")).to_have_attribute(
            "data-status", "busy"
        )
    finally:
        for client in py_clients:
            client.close()
        py_clients.clear()
        standalone.stop()


def test_widget_in_notebook_7(notebooks: Lab, new_context: Any, py_clients: list[PyClient]) -> None:
    lab = notebooks
    name = lab.write_notebook("dora.ipynb", *chat_cells("classic", "dora"))
    dora = open_notebook(new_context(), lab, name, app="notebook")
    root = joined(dora)
    expect(root).to_have_attribute("data-transport", "websocket")
    py = PyClient(lab.talkex_server(), "py", "classic")
    py_clients.append(py)
    py.send("hello Notebook 7")
    expect(root.locator(".tx-messages")).to_contain_text("hello Notebook 7")
    say(dora, "hello from Notebook 7")
    py.wait_for("hello from Notebook 7")
    expect(online(dora).locator("li[data-nickname='py']")).to_have_count(1)

    # the room set from Python: the view rejoins there
    kernel = kernel_client(lab, name)
    try:
        kernel.execute("w.room = 'classic-2'", reply=True, timeout=30)
    finally:
        kernel.stop_channels()
    expect(root.locator(".tx-room[data-room='classic-2'][data-joined='true']")).to_be_visible()
    expect(online(dora).locator("li[data-nickname='py']")).to_have_count(0)
