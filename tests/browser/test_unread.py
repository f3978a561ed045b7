"""Unread as people live it (issue 15): counts in the header and the page title go up while
the tab is hidden, a "new messages" line marks where you left off, reading clears them, and
the server keeps the position: a reload and another device agree."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from .conftest import TOKEN
from .pages import expect_joined, join, message_log, send
from .python_people import read_position
from .visibility import VISIBILITY_SHIM, set_hidden

pytestmark = pytest.mark.browser

TITLE = "#lobby · Talkex"


def badge(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".tx-header .tx-unread")


def body_after_line(page: Page) -> str:
    """The text of the first message below the "new messages" line."""
    return message_log(page).evaluate(
        """log => {
          const line = log.querySelector(".tx-unread-line");
          let next = line && line.nextElementSibling;
          return next ? next.querySelector(".tx-body").textContent : null;
        }"""
    )


def test_unread_counts_while_hidden_clear_on_reading_and_survive_a_reload(chat_server, new_context):
    ann_context = new_context()
    ann_context.add_init_script(VISIBILITY_SHIM)
    ann = join(ann_context, chat_server, TOKEN, "ann")
    bob = join(new_context(), chat_server, TOKEN, "bob")
    send(bob, "before")
    expect(message_log(ann)).to_contain_text("before")
    expect(badge(ann)).to_have_count(0)  # seen while visible: read at once
    expect(ann.locator(".tx-unread-line")).to_have_count(0)  # read as it came: no line
    expect(ann).to_have_title(TITLE)

    set_hidden(ann, True)
    for text in ("one", "two @ann look", "three"):
        send(bob, text)
    expect(badge(ann)).to_have_text("3 unread · 1 mention")
    expect(ann).to_have_title(f"(3 · @1) {TITLE}")
    expect(ann.locator(".tx-unread-line")).to_have_count(1)
    assert body_after_line(ann) == "one"
    expect(badge(bob)).to_have_count(0)  # his own messages are read

    ann.reload()  # still hidden: the server kept where she was
    expect_joined(ann, "lobby")
    expect(badge(ann)).to_have_text("3 unread · 1 mention")
    expect(ann).to_have_title(f"(3 · @1) {TITLE}")
    assert body_after_line(ann) == "one"

    set_hidden(ann, False)  # she comes back, at the bottom: read
    expect(badge(ann)).to_have_count(0)
    expect(ann).to_have_title(TITLE)
    expect(ann.locator(".tx-unread-line")).to_have_count(1)  # the line stays while she reads
    send(bob, "four")  # while she looks: below the line, and read
    expect(message_log(ann)).to_contain_text("four")
    expect(badge(ann)).to_have_count(0)
    assert body_after_line(ann) == "one"
    # A view sends its position at most every 2 s: wait until the server holds "four".
    deadline = time.monotonic() + 10
    while read_position(chat_server, "ann") < 5:
        assert time.monotonic() < deadline, "the read position never reached the server"
        time.sleep(0.2)

    ann.reload()
    expect_joined(ann, "lobby")
    expect(message_log(ann)).to_contain_text("four")
    expect(badge(ann)).to_have_count(0)
    expect(ann.locator(".tx-unread-line")).to_have_count(0)


def test_reading_on_one_device_clears_the_other(chat_server, new_context):
    laptop_context, phone_context = new_context(), new_context()
    for context in (laptop_context, phone_context):
        context.add_init_script(VISIBILITY_SHIM)
    laptop = join(laptop_context, chat_server, TOKEN, "ann")
    phone = join(phone_context, chat_server, TOKEN, "ann")
    bob = join(new_context(), chat_server, TOKEN, "bob")
    for page in (laptop, phone):
        set_hidden(page, True)
    send(bob, "are you there?")
    for page in (laptop, phone):
        expect(badge(page)).to_have_text("1 unread")

    set_hidden(laptop, False)
    expect(badge(laptop)).to_have_count(0)
    expect(badge(phone)).to_have_count(0)  # told by the server, still hidden
    expect(phone).to_have_title(TITLE)
