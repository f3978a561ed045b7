"""History in the page: a reload shows the conversation so far; scroll-back loads the rest.

The join reply carries the latest 50 messages; older pages come from the ``history`` push when
the reader scrolls to the top or clicks "Load older messages".
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from talkex_widget.core.limits import Limits
from talkex_widget.notebook.embedded import ServerThread

from .conftest import TOKEN
from .pages import bodies, expect_joined, join, message_log, send
from .servers import post_messages

pytestmark = pytest.mark.browser

SEEDED = 120
PAGE = 50
RELAXED = Limits(messages_per_window=10_000, frames_per_window=100_000)


def body(n: int) -> str:
    return f"message {n:03d}"


def test_a_reloaded_page_shows_the_conversation_so_far(chat_server, new_context):
    alice = join(new_context(), chat_server, TOKEN, "alice")
    bob = join(new_context(), chat_server, TOKEN, "bob")
    said = []
    for i, (page, name) in enumerate([(alice, "alice"), (bob, "bob")] * 3):
        text = f"{name} says {i}"
        send(page, text)
        said.append(text)
        expect(message_log(alice).locator(".tx-msg[data-state=sent]")).to_have_count(len(said))
    expect(message_log(bob).locator(".tx-body")).to_have_text(said)

    bob.reload()
    expect_joined(bob, "lobby")
    expect(message_log(bob).locator(".tx-msg[data-state=sent] .tx-body")).to_have_text(said)
    assert bodies(bob) == said
    authors = (
        message_log(bob).locator(".tx-group").evaluate_all("els => els.map(e => e.dataset.author)")
    )
    assert authors == ["alice", "bob"] * 3
    # After the reload the conversation simply goes on, for both.
    send(bob, "back after a reload")
    expect(message_log(alice).locator(".tx-body").last).to_have_text("back after a reload")
    assert bodies(alice) == [*said, "back after a reload"]
    assert not message_log(bob).get_by_role("button", name="Load older messages").count()


def seeded_page(make_server, new_context) -> tuple[ServerThread, Page]:  # type: ignore[no-untyped-def]
    server = make_server(limits=RELAXED)
    ids = post_messages(server, TOKEN, "lobby", "archivist", [body(n) for n in range(1, 121)])
    assert ids == sorted(ids) and len(set(ids)) == SEEDED
    page = join(new_context(), server, TOKEN, "reader")
    log = message_log(page)
    expect(log.locator(".tx-msg")).to_have_count(PAGE)
    assert bodies(page) == [body(n) for n in range(SEEDED - PAGE + 1, SEEDED + 1)]
    expect(log.get_by_role("button", name="Load older messages")).to_be_visible()
    return server, page


def expect_all_seeded(page: Page) -> None:
    log = message_log(page)
    expect(log.locator(".tx-msg")).to_have_count(SEEDED)
    assert bodies(page) == [body(n) for n in range(1, SEEDED + 1)]
    ids = log.locator(".tx-msg").evaluate_all("els => els.map(e => Number(e.dataset.messageId))")
    assert ids == sorted(set(ids)) and len(ids) == SEEDED
    expect(log.get_by_role("button", name="Load older messages")).to_have_count(0)
    expect(log.locator(".tx-loading")).to_have_count(0)


def test_scrolling_to_the_top_loads_older_messages_until_all_are_there(make_server, new_context):
    _, page = seeded_page(make_server, new_context)
    log = message_log(page)
    # The newest message is in view, the oldest shown is not.
    expect(log.locator(".tx-msg").last).to_be_in_viewport()
    expect(log.locator(".tx-msg").first).not_to_be_in_viewport()
    for shown in (2 * PAGE, SEEDED):
        # Prepending keeps the reader's place, so each scroll to the top asks for one page.
        log.evaluate("el => { el.scrollTop = 0; }")
        expect(log.locator(".tx-msg")).to_have_count(shown)
        assert log.evaluate("el => el.scrollTop") > 0
    expect_all_seeded(page)


def test_load_older_button_pages_back_and_new_messages_are_flagged(make_server, new_context):
    server, page = seeded_page(make_server, new_context)
    log = message_log(page)
    older = log.get_by_role("button", name="Load older messages")
    for shown in (2 * PAGE, SEEDED):
        # A click without scrolling it into view first: at the top, scrolling alone loads.
        older.dispatch_event("click")
        expect(log.locator(".tx-msg")).to_have_count(shown)
    expect_all_seeded(page)

    # Reading old messages, the reader is not pulled down by a new one: a marker says so.
    marker = page.get_by_role("button", name="New messages ↓")
    expect(marker).to_have_count(0)
    log.evaluate(
        """el => new Promise((resolve) => {
            el.addEventListener("scroll", () => requestAnimationFrame(resolve), { once: true });
            el.scrollTop = 0;
        })"""
    )
    expect(log.locator(".tx-msg").first).to_be_in_viewport()
    post_messages(server, TOKEN, "lobby", "archivist", ["one more"])
    expect(log.locator(".tx-body").last).to_have_text("one more")
    expect(marker).to_be_visible()
    expect(log.locator(".tx-msg").last).not_to_be_in_viewport()
    marker.click()
    expect(log.locator(".tx-msg").last).to_be_in_viewport()
    expect(marker).to_have_count(0)

    # At the bottom, new messages simply show, once.
    send(page, "read it all")
    expect(log.locator(".tx-msg[data-state=sent] .tx-body").last).to_have_text("read it all")
    expect(log.locator(".tx-msg").last).to_be_in_viewport()
    expect(marker).to_have_count(0)
    assert bodies(page) == [*(body(n) for n in range(1, SEEDED + 1)), "one more", "read it all"]
