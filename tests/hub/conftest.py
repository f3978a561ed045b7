"""A real JupyterHub for the hub tests (one per session), and browsers logged in to it.

Needs JupyterHub (``pip install talkex-widget[jupyterhub]``, in the test extras) and the proxy
from npm (``npm ci`` in ``tests/hub``; ``make hub-deps``). The hub's log and the screenshots of
a failed test are kept under ``test-artifacts/`` (the path is printed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..browser.conftest import (  # shared: one Chromium per process, screenshots on failure
    ARTIFACTS,
    browser,
    new_context,
    pytest_runtest_makereport,
)
from ..notebook.conftest import pytest_collection_modifyitems  # browser tests run last
from .harness import BIN, CHP, PASSWORD, Hub, HubSetup

__all__ = ["browser", "new_context", "pytest_collection_modifyitems", "pytest_runtest_makereport"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hub: starts a real JupyterHub (tests/hub)")


@pytest.fixture(scope="session")
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    """One hub for the hub tests, with ``talkex serve --jupyterhub`` as its managed service
    (SQLite history in the run's directory, so a restarted service keeps the rooms)."""
    history = "sqlite:///./talkex-history/history.db"  # the service runs in the hub's folder
    command = [str(BIN / "talkex"), "serve", "--jupyterhub", "--db", history]
    yield from run_hub(HubSetup(service_command=command), request)


def run_hub(setup: HubSetup, request: pytest.FixtureRequest) -> Iterator[Hub]:
    """Start a hub in a fresh temp dir; if a test failed meanwhile, keep its log."""
    missing = None
    if importlib.util.find_spec("jupyterhub") is None:
        missing = "JupyterHub mode needs the jupyterhub extra (in the test extras)"
    elif not CHP.exists():
        missing = f"configurable-http-proxy is missing: run `make hub-deps` ({CHP.parents[2]})"
    if missing is not None:
        # `make test` installs both: there, a missing part is a failure, never a silent skip.
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    root = Path(tempfile.mkdtemp(prefix="talkex-hub-"))
    hub = Hub(root, setup)
    failed_before = request.session.testsfailed
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()
        if request.session.testsfailed > failed_before:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) or "hub"
            kept = ARTIFACTS / f"{name}-jupyterhub.log"
            shutil.copy(hub.log, kept)
            print(f"hub log saved: {kept}")
        shutil.rmtree(root, ignore_errors=True)


def log_in(context: object, hub: Hub, user: str, next_url: str = "") -> object:
    """A page of ``context`` logged in to the hub as ``user`` (password form, as a person)."""
    page = context.new_page()  # type: ignore[attr-defined]
    target = f"{hub.url}hub/login" + (f"?next={next_url}" if next_url else "")
    page.goto(target)
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    return page


@pytest.fixture
def hub_login(new_context: Callable[..., object]) -> Callable[..., object]:
    """``hub_login(hub, "alice", next_url)`` -> a page in a new context, past the hub login."""

    def _login(hub: Hub, user: str, next_url: str = "") -> object:
        return log_in(new_context(), hub, user, next_url)

    return _login
