"""Analysts on one JupyterHub chat as themselves: ChatWidget in each user's JupyterLab, the
standalone page under /services/talkex/, and a service the hub restarts."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking import BlockingKernelClient
from playwright.sync_api import Locator, Page, expect

from ..notebook.conftest import chat_cells, run_all_cells, wait_for_kernel
from ..notebook.conftest import joined as notebook_joined
from .harness import Hub

pytestmark = [pytest.mark.browser, pytest.mark.hub]

KERNEL_TIMEOUT = 90_000
JOIN_TIMEOUT = 45_000
DOCS = Path(__file__).resolve().parents[2] / "docs"

CHAT = chat_cells("lobby", "mallory")


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """The hub, the proxy, two JupyterLabs, kernels and Chromium share two cores."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def open_notebook(page: Page, hub: Hub, user: str, name: str) -> Page:
    """Open ``name`` in ``user``'s JupyterLab (a workspace of its own), wait for the kernel,
    run all cells."""
    page.goto(f"{hub.url}user/{user}/lab/workspaces/{user}/tree/{name}?reset")
    wait_for_kernel(page, timeout=KERNEL_TIMEOUT)
    run_all_cells(page)
    return page


def joined(page: Page) -> Locator:
    """The widget's root once its room is joined (the hub's proxy makes joins slower)."""
    root: Locator = notebook_joined(page, timeout=JOIN_TIMEOUT)
    return root


def online(root: Locator, user: str) -> Locator:
    return root.locator(f"ul[aria-label=\"Who's online\"] li[data-nickname='{user}']")


def written_by(root: Locator, author: str, text: str) -> Locator:
    """The group of messages by ``author`` (as the server named them) holding ``text``."""
    return root.locator(f".tx-messages .tx-group[data-author='{author}']", has_text=text)


def say(root: Locator, text: str) -> None:
    box = root.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    box.press("Enter")


def run_in_kernel(hub: Hub, user: str, code: str) -> None:
    """Run ``code`` in ``user``'s (only) kernel, as a cell would, and wait for it to finish."""
    runtime = hub.root / "home" / user / ".local" / "share" / "jupyter" / "runtime"
    (connection,) = runtime.glob("kernel-*.json")
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels()
    try:
        reply = client.execute(code, reply=True, timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()


def restart_service(hub: Hub) -> None:
    """SIGKILL the Talkex service and wait until the hub has started a new one that answers."""
    old = hub.service_pid()
    assert old is not None, "the service is not running"
    os.kill(old, signal.SIGKILL)
    hub.wait_until(
        lambda: hub.service_pid() not in (None, old) and hub.service_answers(),
        "the hub to restart the service",
        timeout=90,
    )


def signed_in(page: Page, hub: Hub) -> Page:
    """The widget offers "Sign in to chat" in a browser new to the service: follow it."""
    widget = page.locator(".talkex-widget")
    link = widget.get_by_role("link", name="Sign in to chat")
    expect(link).to_be_visible(timeout=KERNEL_TIMEOUT)
    with page.context.expect_page() as new_tab:
        link.click()
    tab = new_tab.value
    expect(tab.locator("h1")).to_contain_text("Signed in to chat", timeout=30_000)
    tab.close()
    return page


def test_two_hub_users_chat_as_themselves(hub: Hub, hub_login: Any, tmp_path: Path) -> None:
    hub.start_servers("alice", "bob")
    pages = {}
    for user in ("alice", "bob"):
        hub.write_notebook(user, "chat.ipynb", *CHAT)
        page = hub_login(hub, user)
        page.wait_for_url(f"**/user/{user}/lab**", timeout=KERNEL_TIMEOUT)
        pages[user] = signed_in(open_notebook(page, hub, user, "chat.ipynb"), hub)
    a, b = joined(pages["alice"]), joined(pages["bob"])
    for root in (a, b):
        for user in ("alice", "bob"):
            expect(online(root, user)).to_have_count(1)
        expect(online(root, "mallory")).to_have_count(0)

    say(a, "hello bob, alice here")
    expect(written_by(b, "alice", "hello bob, alice here")).to_have_count(1)

    run_in_kernel(hub, "bob", "w.send('sent from the kernel of bob')")
    expect(written_by(a, "bob", "sent from the kernel of bob")).to_have_count(1)

    shot = tmp_path / "jupyterhub-chat.png"
    a.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    if os.environ.get("TALKEX_UPDATE_DOCS") == "1":  # the README's picture, only when asked
        DOCS.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS / shot.name)
        print(f"copied to {DOCS / shot.name}")

    # The service dies; the hub starts it again. Everyone reconnects by themselves, and what
    # was acknowledged before is still there (SQLite history).
    restart_service(hub)
    for root in (a, b):
        expect(root.get_by_role("status")).to_have_text("connected", timeout=JOIN_TIMEOUT)
    say(b, "bob again, after the restart")
    expect(written_by(a, "bob", "bob again, after the restart")).to_have_count(1)
    run_in_kernel(hub, "alice", "w.send('the kernel of alice is back too')")
    expect(written_by(b, "alice", "the kernel of alice is back too")).to_have_count(1)
    for root in (a, b):
        expect(written_by(root, "alice", "hello bob, alice here")).to_have_count(1)
        expect(written_by(root, "bob", "sent from the kernel of bob")).to_have_count(1)


def test_the_standalone_page_signs_in_with_the_hub_and_asks_no_nickname(
    hub: Hub, hub_login: Any
) -> None:
    page = hub_login(hub, "dave", next_url="/services/talkex/")
    expect(page.get_by_text("Signed in as dave")).to_be_visible(timeout=30_000)
    expect(page.locator('input[name="nickname"]')).to_have_count(0)
    page.get_by_label("Room").fill("lobby")
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/services/talkex/rooms/lobby")
    room = page.locator(".tx-room[data-joined='true']")
    expect(room).to_be_visible()
    expect(online(room, "dave")).to_have_count(1)
