"""Mentions as people use them (issue 15): "@" offers who is in the room and who wrote lately,
arrows and Enter or Tab pick, a message that mentions you is highlighted for you (not for
its author) and counts in your unread badge; a desktop notification only after opting in,
only while hidden, only for mentions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import TOKEN
from .pages import composer, join, message_log, send
from .python_people import python_person
from .visibility import VISIBILITY_SHIM, set_hidden

pytestmark = pytest.mark.browser

NOTIFICATION_STUB = """
window.__notes = [];
window.Notification = class {
  static permission = "default";
  static requestPermission() {
    window.Notification.permission = "granted";
    return Promise.resolve("granted");
  }
  constructor(title, options) { window.__notes.push([title, options.body]); }
};
"""


def options(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("listbox", name="People to mention").get_by_role("option")


def message(page: Page, text: str):  # type: ignore[no-untyped-def]
    return message_log(page).locator(".tx-msg", has_text=text)


def test_at_offers_people_picks_with_the_keyboard_and_highlights_for_the_named(
    chat_server, new_context
):
    ann_context = new_context()
    ann_context.add_init_script(VISIBILITY_SHIM)
    ann = join(ann_context, chat_server, TOKEN, "ann")
    with python_person(chat_server, "annika") as annika:
        annika.send("hello from annika")  # she leaves below: a recent author, not present
    bob = join(new_context(), chat_server, TOKEN, "bob")
    with python_person(chat_server, "antoine"):
        box = composer(bob)
        box.press_sequentially("hey @an")
        expect(options(bob)).to_have_text(["@ann", "@antoine", "@annika"])
        expect(options(bob).nth(0)).to_have_attribute("aria-selected", "true")
        box.press("ArrowDown")
        expect(options(bob).nth(1)).to_have_attribute("aria-selected", "true")
        box.press("ArrowUp")
        box.press("ArrowUp")  # wraps around to the last
        expect(options(bob).nth(2)).to_have_attribute("aria-selected", "true")
        box.press("ArrowDown")
        box.press("Enter")  # picks, does not send
        expect(box).to_have_value("hey @ann ")
        expect(options(bob)).to_have_count(0)

        box.press_sequentially("and @ANT")
        expect(options(bob)).to_have_text(["@antoine"])
        box.press("Tab")
        expect(box).to_have_value("hey @ann and @antoine ")
        box.press_sequentially("@x")
        expect(options(bob)).to_have_count(0)  # nobody matches: Enter sends as usual
        box.press("Backspace")
        box.press("Backspace")
        box.press_sequentially("@b")
        expect(options(bob)).to_have_count(0)  # never ourselves
        box.press("Escape")
        box.fill("")

        set_hidden(ann, True)
        send(bob, "hey @ann look at this")
        send(bob, "no mention here")
        expect(ann.locator(".tx-header .tx-unread")).to_have_text("2 unread · 1 mention")
        expect(message(ann, "look at this")).to_have_attribute("data-mention", "true")
        expect(message(ann, "look at this")).to_have_class(re.compile(r"\btx-mention\b"))
        expect(message(ann, "no mention here")).not_to_have_attribute("data-mention", "true")
        expect(message(bob, "look at this")).not_to_have_attribute("data-mention", "true")
        set_hidden(ann, False)
        expect(ann.locator(".tx-header .tx-unread")).to_have_count(0)
        expect(message(ann, "look at this")).to_have_attribute("data-mention", "true")


def test_desktop_notifications_only_after_opting_in_and_only_for_mentions(chat_server, new_context):
    ann_context = new_context()
    ann_context.add_init_script(VISIBILITY_SHIM)
    ann_context.add_init_script(NOTIFICATION_STUB)
    ann = join(ann_context, chat_server, TOKEN, "ann")
    bob = join(new_context(), chat_server, TOKEN, "bob")
    notes = lambda: ann.evaluate("window.__notes")  # noqa: E731

    set_hidden(ann, True)
    send(bob, "@ann before opting in")
    expect(ann.locator(".tx-header .tx-unread")).to_have_text("1 unread · 1 mention")
    assert notes() == []

    set_hidden(ann, False)
    toggle = ann.get_by_role("button", name="Notify me of mentions")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")

    send(bob, "@ann while visible")  # she sees it: no notification
    expect(message_log(ann)).to_contain_text("while visible")
    set_hidden(ann, True)
    send(bob, "just chatting")
    send(bob, "@ann are you there?")
    expect(ann.locator(".tx-header .tx-unread")).to_have_text("2 unread · 1 mention")
    assert notes() == [["bob mentioned you in #lobby", "@ann are you there?"]]
