"""The server restarts under open pages: they say so, come back by themselves, lose nothing.

The server keeps its history in SQLite and comes back on the same port, as ``talkex serve``
restarted by a supervisor would; the pages' phoenix.js reconnects with its usual back-off.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..helpers import room_history
from .conftest import TOKEN
from .pages import (
    RECONNECT_TIMEOUT,
    bodies,
    composer,
    connection,
    expect_joined,
    join,
    message_log,
    person,
    send,
)

pytestmark = pytest.mark.browser


def test_pages_reconnect_and_rejoin_after_a_server_restart(restartable_server, new_context):
    alice = join(new_context(), restartable_server, TOKEN, "alice")
    bob = join(new_context(), restartable_server, TOKEN, "bob")
    send(alice, "before the restart")
    expect(message_log(bob).locator(".tx-body")).to_have_text(["before the restart"])

    restartable_server.stop()
    for page in (alice, bob):
        expect(connection(page)).to_have_text("reconnecting", timeout=RECONNECT_TIMEOUT)
        expect(connection(page)).to_have_attribute("data-state", "reconnecting")
        expect(page.locator(".tx-room")).to_have_attribute("data-joined", "false")
        # Writing goes on: what is sent now waits as "sending" (next test).
        expect(composer(page)).to_be_enabled()

    restartable_server.start()
    for page in (alice, bob):
        expect_joined(page, "lobby", timeout=RECONNECT_TIMEOUT)
        expect(person(page, "alice")).to_have_attribute("data-status", "online")
        expect(person(page, "bob")).to_have_count(1)

    send(alice, "after the restart")
    send(bob, "welcome back")
    expected = ["before the restart", "after the restart", "welcome back"]
    for page in (alice, bob):
        expect(message_log(page).locator(".tx-msg[data-state=sent] .tx-body")).to_have_text(
            expected
        )
    # The rejoin asked only for what was missed: nothing shown twice.
    assert bodies(alice) == bodies(bob) == expected


def test_a_message_written_while_the_server_is_down_is_delivered_once(
    restartable_server, new_context
):
    alice = join(new_context(), restartable_server, TOKEN, "alice")
    bob = join(new_context(), restartable_server, TOKEN, "bob")
    send(bob, "are you there?")
    expect(message_log(alice).locator(".tx-body")).to_have_text(["are you there?"])

    restartable_server.stop()
    expect(connection(alice)).to_have_text("reconnecting", timeout=RECONNECT_TIMEOUT)
    send(alice, "written while the server was down")
    pending = message_log(alice).locator(".tx-msg", has_text="written while the server was down")
    expect(pending).to_have_attribute("data-state", "sending")
    expect(pending.locator(".tx-msg-state")).to_have_text("sending…")
    expect(pending).not_to_have_attribute("data-message-id", re.compile(r".+"))

    restartable_server.start()
    expect(pending).to_have_attribute("data-state", "sent", timeout=RECONNECT_TIMEOUT)
    expect(pending).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
    expected = ["are you there?", "written while the server was down"]
    for page in (alice, bob):
        expect(message_log(page).locator(".tx-msg[data-state=sent] .tx-body")).to_have_text(
            expected, timeout=RECONNECT_TIMEOUT
        )
        assert bodies(page) == expected
    # Stored exactly once, and a fresh load of the room shows it once.
    stored = [m["body"] for m in room_history(restartable_server.port, TOKEN, "lobby")]
    assert stored == expected
    bob.reload()
    expect_joined(bob, "lobby", timeout=RECONNECT_TIMEOUT)
    expect(message_log(bob).locator(".tx-body")).to_have_text(expected)
