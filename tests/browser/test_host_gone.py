"""A page of a notebook-hosted server whose notebook stopped says so plainly, then resumes.

The embedded server lives in a notebook kernel (``ServerConfig.hosted_by="notebook"``); when
that kernel stops, another one takes over on the same port (or nobody does, for a while). The
page keeps retrying and, after ``HOST_GONE_AFTER_MS`` (js/src/lib/outage.js) without a
connection, shows :data:`~talkex_widget.notebook.takeover.GONE_MESSAGE` instead of only
"reconnecting"; the message goes once the socket is back. A ``talkex serve`` page never says it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from talkex_widget.notebook.takeover import GONE_MESSAGE
from talkex_widget.server.app import ServerConfig

from ..helpers import room_history
from .conftest import TOKEN
from .pages import RECONNECT_TIMEOUT, connection, expect_joined, join, message_log, send
from .servers import RestartableServer

pytestmark = pytest.mark.browser

GONE_TIMEOUT = 25_000
"""The page's HOST_GONE_AFTER_MS (10 s) and room for a slow machine."""


@pytest.fixture
def notebook_hosted(tmp_path: Path) -> Iterator[RestartableServer]:
    """A restartable server configured as a kernel's embedded one is: hosted by a notebook."""
    server = RestartableServer(
        ServerConfig(
            port=0, token=TOKEN, db=f"sqlite:///{tmp_path / 'hosted.db'}", hosted_by="notebook"
        )
    )
    yield server
    server.stop()


def host_gone(page: Page) -> Locator:
    return page.get_by_role("status").filter(has_text=GONE_MESSAGE)


def test_the_page_says_the_notebook_stopped_and_resumes_when_it_serves_again(
    notebook_hosted, restartable_server, new_context
):
    standalone = join(new_context(), restartable_server, TOKEN, "carol")
    alice = join(new_context(), notebook_hosted, TOKEN, "alice")
    bob = join(new_context(), notebook_hosted, TOKEN, "bob")
    send(alice, "before the notebook stopped")
    expect(message_log(bob).locator(".tx-body")).to_have_text(["before the notebook stopped"])
    for page in (standalone, alice, bob):
        expect(host_gone(page)).to_have_count(0)

    # The `talkex serve` page loses its server first, so it is down the longer of the two.
    restartable_server.stop()
    expect(connection(standalone)).to_have_text("reconnecting", timeout=RECONNECT_TIMEOUT)
    notebook_hosted.stop()
    for page in (alice, bob):
        expect(host_gone(page)).to_be_visible(timeout=GONE_TIMEOUT)
        expect(host_gone(page)).to_have_text(GONE_MESSAGE)
        expect(connection(page)).to_have_text("reconnecting")
        expect(page.get_by_role("alert")).to_have_count(0)  # a state, not an error
    expect(connection(standalone)).to_have_text("reconnecting")
    expect(host_gone(standalone)).to_have_count(0)
    send(alice, "written while it was stopped")

    notebook_hosted.start()  # another kernel serves again on the same port
    for page in (alice, bob):
        expect_joined(page, "lobby", timeout=RECONNECT_TIMEOUT)
        expect(host_gone(page)).to_have_count(0)
    send(bob, "after resuming")
    expected = ["before the notebook stopped", "written while it was stopped", "after resuming"]
    for page in (alice, bob):
        expect(message_log(page).locator(".tx-msg[data-state=sent] .tx-body")).to_have_text(
            expected, timeout=RECONNECT_TIMEOUT
        )
    assert [m["body"] for m in room_history(notebook_hosted.port, TOKEN, "lobby")] == expected
