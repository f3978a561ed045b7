"""JupyterLab (and Notebook 7) driven by Chromium: one server per test session, isolated dirs.

The Jupyter server starts once, in a temp directory with its own config, data, runtime,
settings and workspaces (news pop-up and autosave off), and a kernelspec for this interpreter
with the checkout on ``PYTHONPATH``. Tests write their notebooks there, open them, run them,
and delete their sessions at the end so every notebook gets a fresh kernel. They never save a
notebook. On failure the screenshots (``new_context``) and the server log are kept under
``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Page, expect

from talkex_widget.client import RoomClient, Socket
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import LoopThread

from ..browser.conftest import (  # shared: one Chromium per process, screenshots on failure
    ARTIFACTS,
    browser,
    new_context,
    pytest_runtest_makereport,
)
from ..helpers import free_port

__all__ = ["browser", "new_context", "pytest_runtest_makereport"]

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90
KERNEL_TIMEOUT = 60_000
JOIN_TIMEOUT = 30_000
EXPECT_TIMEOUT = 15_000
SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive Chromium run last (tests/browser's too): once Playwright's sync API has
    started, an event loop runs in the main thread and pytest-asyncio tests cannot start theirs."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    runtime: Path
    log: Path

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else None

    def write_notebook(self, name: str, *sources: str) -> str:
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in sources],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        )
        nbformat.write(nb, self.root / name)
        return name

    def kernel_id(self, name: str) -> str:
        for session in self.api("GET", "/api/sessions"):
            if session["path"] == name:
                return str(session["kernel"]["id"])
        raise AssertionError(f"no session for {name}")

    def close_sessions(self) -> None:
        """Shut down every kernel (the server waits for each to exit)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def talkex_server(self) -> ServerInfo:
        """The embedded Talkex server the kernels published in the runtime file."""
        data = json.loads((self.runtime / "talkex-server.json").read_text())
        return ServerInfo(data["url"], data["token"], data["pid"])


def _isolated(root: Path) -> tuple[dict[str, str], dict[str, Path]]:
    dirs = {
        "JUPYTER_CONFIG_DIR": root / "config",
        "JUPYTER_DATA_DIR": root / "data",
        "JUPYTER_RUNTIME_DIR": root / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": root / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": root / "workspaces",
        "IPYTHONDIR": root / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for plugin, values in SETTINGS.items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    spec = dirs["JUPYTER_DATA_DIR"] / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALKEX_", "JUPYTERHUB_"))}
    env.update({k: str(v) for k, v in dirs.items()})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env, dirs


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("jupyter")
    env, dirs = _isolated(root)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    log = root / "jupyter.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Lab(f"http://127.0.0.1:{port}", token, notebooks, dirs["JUPYTER_RUNTIME_DIR"], log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited ({process.returncode}):\n{log.read_text()}")
            with contextlib.suppress(OSError):
                server.api("GET", "/api/status")
                break
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in {START_TIMEOUT}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Kernels, Jupyter and Chromium share the machine: give assertions 15 s, not 5 s."""
    expect.set_options(timeout=EXPECT_TIMEOUT)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def notebooks(lab: Lab, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The Jupyter server, with this test's kernels shut down afterwards (log kept on failure)."""
    yield lab
    lab.close_sessions()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        kept = ARTIFACTS / f"{request.node.name}-jupyter.log"
        shutil.copy(lab.log, kept)
        print(f"jupyter server log saved: {kept}")


def open_notebook(context: Any, lab: Lab, name: str, *, app: str = "lab") -> Page:
    """Open ``name`` in JupyterLab (``app="lab"``) or Notebook 7, wait for the kernel, run all."""
    page: Page = context.new_page()
    if app == "lab":  # a workspace of its own: the default one would reopen other tests' tabs
        path = f"/lab/workspaces/{Path(name).stem}/tree/{name}?reset&"
    else:
        path = f"/notebooks/{name}?"
    page.goto(f"{lab.url}{path}token={lab.token}")
    # Cells run before the kernel is ready are silently dropped. Both signs must hold at once:
    # the indicator also says "idle" before any kernel, and the name shows while it starts.
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const status = panel?.querySelector('.jp-Notebook-ExecutionIndicator');
            const name = panel?.querySelector('.jp-KernelName')?.textContent?.trim();
            return status?.dataset.status === 'idle' && !!name && name !== 'No Kernel';
        }""",
        timeout=KERNEL_TIMEOUT,
    )
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    return page


def chat_cells(room: str, nickname: str, server: str | None = None) -> tuple[str, str]:
    where = f", server={server!r}" if server else ""
    return (
        "%load_ext talkex_widget",
        "from talkex_widget import ChatWidget\n"
        f"w = ChatWidget(room={room!r}, nickname={nickname!r}{where})\n"
        "w",
    )


def joined(page: Page) -> Any:
    """The widget's root once its room is joined."""
    root = page.locator(".talkex-widget")
    expect(root.locator(".tx-room[data-joined='true']")).to_be_visible(timeout=JOIN_TIMEOUT)
    return root


def say(page: Page, text: str) -> None:
    box = page.locator(".talkex-widget").get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def online(page: Page) -> Any:
    return page.locator('.talkex-widget ul[aria-label="Who\'s online"]')


class PyClient:
    """A Python chat client on its own loop thread, reading and posting beside the browsers."""

    def __init__(self, info: ServerInfo, nickname: str, room: str) -> None:
        self.loop = LoopThread("test-client").start()

        async def join() -> RoomClient:
            params = {"nickname": nickname, **({"token": info.token} if info.token else {})}
            sock = Socket(info.url, params)
            await sock.connect()
            client = RoomClient(sock, room)
            await client.join()
            return client

        self.room = self.loop.call(join())

    def bodies(self) -> list[str]:
        return self.loop.run(lambda: [m["body"] for m in self.room.ordered()])

    def wait_for(self, body: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while body not in self.bodies():
            if time.monotonic() > deadline:
                raise AssertionError(f"{body!r} never reached the Python client: {self.bodies()}")
            time.sleep(0.02)

    def send(self, body: str) -> int:
        return self.loop.call(self.room.send(body))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.call(self.room.socket.disconnect())
        self.loop.stop()
