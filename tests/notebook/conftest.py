"""Fixtures for the notebook tests: in-process servers, and JupyterLab driven by Chromium.

In-process tests (discovery, magics, widget) get isolated Jupyter dirs (``jupyter_dirs``), a
fresh :class:`ServerManager` (``servers``) and a standalone server (``standalone``).

For browser tests, one Jupyter server starts once per session in Jupyter dirs of its own
(news pop-up and autosave off), with a kernelspec for this interpreter and the checkout on
``PYTHONPATH``. Tests write their notebooks there, open them, run them,
and delete their sessions at the end so every notebook gets a fresh kernel. They never save a
notebook. On failure the screenshots (``new_context``) and the server log are kept under
``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from talkex_widget import ChatWidget
from talkex_widget.notebook import embedded
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import ServerManager, ServerThread
from talkex_widget.server.app import ServerConfig

from ..browser.conftest import (  # shared: one Chromium per process, screenshots on failure
    ARTIFACTS,
    browser,
    new_context,
    pytest_runtest_makereport,
)
from ..helpers import api_request, free_port
from ..jupyter_dirs import (
    LAB_SETTINGS,
    REPO,
    JupyterDirs,
    jupyter_dirs,
    write_lab_settings,
    write_notebook,
)

__all__ = [
    "STANDALONE_TOKEN",
    "browser",
    "jupyter_dirs",
    "make_widget",
    "new_context",
    "pytest_runtest_makereport",
    "servers",
    "standalone",
]

pytestmark = pytest.mark.browser

STANDALONE_TOKEN = "standalone-token"
START_TIMEOUT = 90
KERNEL_TIMEOUT = 60_000
JOIN_TIMEOUT = 30_000
RUN_ALL_TIMEOUT = 15_000
RUN_ALL_ATTEMPTS = 3
EXPECT_TIMEOUT = 15_000
SETTINGS = {
    **LAB_SETTINGS,
    # The theme follows the browser's colour scheme: a context made with color_scheme="dark"
    # (or page.emulate_media) gets JupyterLab Dark, the default context JupyterLab Light.
    "@jupyterlab/apputils-extension/themes": {"adaptive-theme": True},
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

    def request(self, method: str, path: str, body: Any = None) -> tuple[bytes, Message]:
        """The REST API's answer to a token-authenticated request (JSON ``body``, if any): the
        raw body and the headers."""
        return api_request(
            f"{self.url}{path}", method=method, token=self.token, body=body, timeout=60
        )

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The REST API's JSON answer (``None`` when it has no body)."""
        answer, _ = self.request(method, path, body)
        return json.loads(answer) if answer else None

    def login_cookie(self) -> str:
        """A new anonymous Jupyter user's login cookie, as a browser keeps it after ``?token=``
        (what the Jupyter route to the chat expects)."""
        cookies = self.request("GET", "/api/me")[1].get_all("Set-Cookie") or []
        return "; ".join(cookie.split(";", 1)[0] for cookie in cookies)

    def write_notebook(self, name: str, *sources: str) -> str:
        write_notebook(self.root / name, *sources)
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


class ViewSpy:
    """Records what the kernel sends to the views; plays a view sending custom messages."""

    def __init__(self, widget: ChatWidget) -> None:
        self.widget = widget
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        assert widget.comm is not None

        def comm_send(data: dict[str, Any], buffers: Any = None, **_: Any) -> None:
            if data.get("method") == "custom":
                with self.arrived:
                    self.received.append(data["content"])
                    self.arrived.notify_all()

        widget.comm.send = comm_send  # type: ignore[method-assign]

    def say(self, content: dict[str, Any]) -> None:
        self.widget._on_custom(self.widget, content, [])

    def wait(self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: next((m for m in self.received if match(m)), None), timeout
            )
        assert found, f"no matching message in {self.received}"
        return found


@pytest.fixture
def make_widget(
    servers: ServerManager, standalone: ServerThread
) -> Iterator[Callable[..., ChatWidget]]:
    """``make_widget(**kwargs)``: a widget on the standalone server, closed after the test."""
    made: list[ChatWidget] = []

    def _make(**kwargs: Any) -> ChatWidget:
        kwargs.setdefault("server", f"http://127.0.0.1:{standalone.port}/?token={STANDALONE_TOKEN}")
        widget = ChatWidget(**kwargs)
        made.append(widget)
        return widget

    yield _make
    for widget in made:
        widget.close()


def isolated_lab(root: Path) -> tuple[JupyterDirs, Path]:
    """Jupyter dirs for the lab, with the kernelspec and JupyterLab settings; the notebooks'
    folder beside them."""
    dirs = JupyterDirs.create(root)
    dirs.install_kernelspec()
    write_lab_settings(dirs.settings, SETTINGS)
    # The extension as ``pip install`` enables it (this checkout may be installed without it).
    enable = dirs.root / "config" / "jupyter_server_config.d" / "talkex_widget.json"
    enable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "jupyter-config" / "jupyter_server_config.d" / "talkex_widget.json", enable)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    return dirs, notebooks


@pytest.fixture
def servers(jupyter_dirs: JupyterDirs, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerManager]:
    """A fresh process-wide :class:`ServerManager` in this test's Jupyter dirs, shut down
    after the test."""
    fresh = ServerManager()
    monkeypatch.setattr(embedded, "_manager", fresh)
    yield fresh
    fresh.shutdown()


@pytest.fixture
def standalone() -> Iterator[ServerThread]:
    """A server of its own (not the kernel's embedded one), token ``STANDALONE_TOKEN``."""
    thread = ServerThread(ServerConfig(port=0, token=STANDALONE_TOKEN)).start()
    yield thread
    thread.stop()


@contextlib.contextmanager
def running_lab(root: Path) -> Iterator[Lab]:
    """A JupyterLab with the extension in Jupyter dirs of its own under ``root`` (see
    :func:`isolated_lab`), once it answers; its output in ``root/jupyter.log``. Stopped on exit
    (killed if it takes over 30 s). Shared with ``benchmarks/jupyter_routes.py``."""
    dirs, notebooks = isolated_lab(root)
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
        process = subprocess.Popen(  # cwd: jupyter-collaboration writes its store there
            command, env=dirs.child_env(), stdout=out, stderr=subprocess.STDOUT, cwd=root
        )
    server = Lab(f"http://127.0.0.1:{port}", token, notebooks, dirs.runtime, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({process.returncode}):\n{log.read_text()}")
            with contextlib.suppress(OSError):
                server.api("GET", "/api/status")
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab did not answer in {START_TIMEOUT}s:\n{log.read_text()}"
                )
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("jupyter")) as server:
        yield server


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
    # With real-time collaboration installed, a notebook whose shared document takes over 5 s
    # to sync (a busy machine) gets a modal "Loading" dialog that stays after the sync and
    # swallows every click: answer it whenever it shows ("Continue waiting" is harmless once
    # synced).
    page.add_locator_handler(
        page.get_by_role("dialog", name=re.compile(r"^Loading")),
        lambda dialog: dialog.get_by_role("button", name="Continue waiting").click(),
    )
    if app == "lab":  # a workspace of its own: the default one would reopen other tests' tabs
        path = f"/lab/workspaces/{Path(name).stem}/tree/{name}?reset&"
    else:
        path = f"/notebooks/{name}?"
    page.goto(f"{lab.url}{path}token={lab.token}")
    wait_for_kernel(page)
    run_all_cells(page)
    return page


def wait_for_kernel(page: Page, timeout: float = KERNEL_TIMEOUT) -> None:
    """Wait until the open notebook's kernel has started and is idle.

    Cells run before the kernel is ready are silently dropped. Both signs must hold at once:
    the indicator also says "idle" before any kernel, and the name shows while it starts."""
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const status = panel?.querySelector('.jp-Notebook-ExecutionIndicator');
            const name = panel?.querySelector('.jp-KernelName')?.textContent?.trim();
            return status?.dataset.status === 'idle' && !!name && name !== 'No Kernel';
        }""",
        timeout=timeout,
    )


def run_all_cells(page: Page) -> None:
    """Run All, again if no cell took it: a kernel that has only just connected can drop the
    first request, which leaves every prompt at ``[ ]:`` (seen on a loaded machine)."""
    for _ in range(RUN_ALL_ATTEMPTS):
        page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
        page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(
                """() => {
                    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                    const prompts = [...(panel?.querySelectorAll('.jp-InputPrompt') ?? [])];
                    return prompts.some((p) => /\\[(\\*|\\d+)\\]/.test(p.textContent));
                }""",
                timeout=RUN_ALL_TIMEOUT,
            )
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"no cell ran after {RUN_ALL_ATTEMPTS} 'Run All Cells'")


def chat_cells(room: str, nickname: str, server: str | None = None) -> tuple[str, str]:
    where = f", server={server!r}" if server else ""
    return (
        "%load_ext talkex_widget",
        "from talkex_widget import ChatWidget\n"
        f"w = ChatWidget(room={room!r}, nickname={nickname!r}{where})\n"
        "w",
    )


def joined(page: Page, timeout: float = JOIN_TIMEOUT) -> Any:
    """The widget's root once its room is joined."""
    root = page.locator(".talkex-widget")
    expect(root.locator(".tx-room[data-joined='true']")).to_be_visible(timeout=timeout)
    return root


def say(page: Page, text: str) -> None:
    box = page.locator(".talkex-widget").get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def online(page: Page) -> Any:
    return page.locator('.talkex-widget ul[aria-label="Who\'s online"]')
