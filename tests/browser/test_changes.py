"""Edit, delete and react on the page, as two people would: what one changes, the other sees,
live and after a reconnect that missed the changes (the rejoin's ``last_seen_seq``).

Screenshots of the reactions bar and a tombstone go to ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from ..conftest import drop_connections
from .conftest import ARTIFACTS, TOKEN
from .pages import RECONNECT_TIMEOUT, bodies, connection, expect_joined, join, message_log, send

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"


def row(page: Page, text: str) -> Locator:
    """The sent message row whose body says ``text``."""
    return (
        message_log(page)
        .locator(".tx-msg[data-state=sent]")
        .filter(has=page.locator(".tx-body", has_text=text))
    )


def edit(page: Page, text: str, new_text: str) -> None:
    message_id = row(page, text).get_attribute("data-message-id")
    message = message_log(page).locator(f".tx-msg[data-message-id='{message_id}']")
    message.hover()
    message.get_by_title("Edit").click()
    box = message.get_by_label("Edit message")
    box.fill(new_text)
    box.press("Enter")
    expect(message.locator(".tx-body")).to_have_text(new_text)


def react(page: Page, text: str, emoji: str) -> None:
    message = row(page, text)
    message.hover()
    message.get_by_title("React").click()
    message.get_by_role("menuitem", name=emoji).click()


def delete(page: Page, text: str) -> None:
    message = row(page, text)
    message.hover()
    message.get_by_title("Delete").click()
    message.get_by_role("alertdialog").get_by_role("button", name="Delete").click()


def chip(page: Page, text: str, emoji: str) -> Locator:
    return row(page, text).locator(f".tx-reaction[data-emoji='{emoji}']")


def test_edit_delete_and_react_show_for_the_other_person_live_and_after_a_reconnect(
    chat_server, new_context
):
    alice = join(new_context(), chat_server, TOKEN, "alice")
    bob_context = new_context()
    bob = join(bob_context, chat_server, TOKEN, "bob")
    for text in ("helo", "second", "third"):
        send(alice, text)
    expect(message_log(bob).locator(".tx-msg[data-state=sent] .tx-body")).to_have_count(3)

    # Live: an edit, a reaction from the other side, a delete after confirming.
    edit(alice, "helo", "hello")
    expect(row(bob, "hello").locator(".tx-edited")).to_have_text("(edited)")
    react(bob, "second", "🎉")
    expect(chip(alice, "second", "🎉")).to_have_text("🎉 1")
    expect(chip(alice, "second", "🎉")).to_have_attribute("title", "bob")
    expect(chip(bob, "second", "🎉")).to_have_attribute("aria-pressed", "true")
    row(bob, "third").hover()
    expect(row(bob, "third").get_by_title("Edit")).to_have_count(0)  # not bob's to edit
    expect(row(bob, "third").get_by_title("Delete")).to_have_count(0)
    delete(alice, "third")
    for page in (alice, bob):
        expect(message_log(page).locator("[data-deleted] .tx-tombstone")).to_have_text(
            "message deleted"
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    bob.screenshot(path=str(SCREENSHOTS / "changes-live.png"))

    # Bob's network goes away; alice changes things meanwhile; bob comes back and catches up.
    bob_context.set_offline(True)
    chat_server.call(_drop(chat_server, "bob"))
    expect(connection(bob)).to_have_text("reconnecting", timeout=RECONNECT_TIMEOUT)
    edit(alice, "second", "second, edited")
    react(alice, "second", "👀")
    react(alice, "hello", "👍")
    send(alice, "fourth")
    bob_context.set_offline(False)
    expect_joined(bob, "lobby", timeout=RECONNECT_TIMEOUT)
    expect(row(bob, "second, edited").locator(".tx-edited")).to_have_text("(edited)")
    expect(chip(bob, "second, edited", "🎉")).to_have_text("🎉 1")
    expect(chip(bob, "second, edited", "👀")).to_have_attribute("title", "alice")
    expect(chip(bob, "hello", "👍")).to_have_text("👍 1")
    expect(row(bob, "fourth")).to_have_count(1)
    assert bodies(bob) == bodies(alice) == ["hello", "second, edited", "message deleted", "fourth"]
    bob.screenshot(path=str(SCREENSHOTS / "changes-after-reconnect.png"))


async def _drop(server, nickname: str) -> None:  # type: ignore[no-untyped-def]
    """On the server's loop: cut ``nickname``'s sockets, as a network drop would."""
    drop_connections(server.server, nickname)


def test_changes_screenshots_light_and_dark(chat_server, new_context):
    for scheme in ("light", "dark"):
        room = f"looks-{scheme}"
        bob_page = join(new_context(color_scheme=scheme), chat_server, TOKEN, "bob", room)
        alice = join(new_context(color_scheme=scheme), chat_server, TOKEN, "alice", room)
        for text in (f"typo {scheme}", f"ship it? {scheme}", f"oops {scheme}"):
            send(alice, text)
        edit(alice, f"typo {scheme}", f"fixed {scheme}")
        react(bob_page, f"ship it? {scheme}", "👍")
        react(alice, f"ship it? {scheme}", "🎉")
        delete(alice, f"oops {scheme}")
        expect(message_log(bob_page).locator("[data-deleted]")).to_have_count(1)
        row(bob_page, f"ship it? {scheme}").hover()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        bob_page.screenshot(path=str(SCREENSHOTS / f"changes-{scheme}.png"))
