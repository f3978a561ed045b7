"""Browser fixtures: one Debian Chromium per test session, servers on their own threads.

Playwright's sync API cannot run inside an asyncio loop, so browser tests are plain sync tests
and the Talkex server runs on a thread (the same runner the notebook kernel uses). On failure
every open page is saved as a screenshot under ``test-artifacts/`` (printed in the report).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from talkex_widget.notebook.embedded import ServerThread
from talkex_widget.server.app import ServerConfig

from .servers import RestartableServer

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TALKEX_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKEN = "browser-token"
# Without these Chromium keeps dialling Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


_SHARED: dict[str, object] = {}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium per pytest process. Other suites (tests/notebook) import this fixture; pytest
    then sets it up once per conftest, so the second set-up borrows the first one's browser:
    Playwright's sync API allows a single instance per process."""
    if "browser" in _SHARED:
        yield _SHARED["browser"]
        return
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        _SHARED["browser"] = browser
        try:
            yield browser
        finally:
            del _SHARED["browser"]
            browser.close()


@pytest.fixture
def new_context(browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """``new_context()`` -> a fresh browser context (one "person"); screenshots on failure."""
    contexts = []

    def _new(**kwargs: object) -> object:
        context = browser.new_context(**kwargs)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield _new
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                path = ARTIFACTS / f"{name}-ctx{i}-page{j}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot saved: {path}")
                except Exception as exc:  # the page may already be gone
                    print(f"no screenshot for {path.name}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerThread]]:
    """``make_server(**config)`` -> a started server (token ``TOKEN``, free port, memory history
    unless given); every one is stopped after the test. For limits or stores ``chat_server``
    does not have."""
    threads: list[ServerThread] = []

    def _make(**config: Any) -> ServerThread:
        thread = ServerThread(ServerConfig(**{"port": 0, "token": TOKEN, **config})).start()
        threads.append(thread)
        return thread

    yield _make
    for thread in threads:
        thread.stop()


@pytest.fixture
def chat_server(make_server: Callable[..., ServerThread]) -> ServerThread:
    """A Talkex server on its own thread and a free port, token ``TOKEN``."""
    return make_server()


@pytest.fixture
def restartable_server(tmp_path: Path) -> Iterator[RestartableServer]:
    """A server with SQLite history in ``tmp_path`` that the test may ``stop()`` and ``start()``
    again on the same port (see :class:`.servers.RestartableServer`)."""
    server = RestartableServer(
        ServerConfig(port=0, token=TOKEN, db=f"sqlite:///{tmp_path / 'history.db'}")
    )
    yield server
    server.stop()
