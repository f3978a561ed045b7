"""Two people on the standalone page: join, presence, messages with local times, status, leaving.

Each browser context is one person (own cookies and localStorage); both reach the page through
the start URL with ``?token=``, as someone opening the address ``talkex serve`` printed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import TOKEN
from .pages import composer, join, message_log, open_room, person, presence_list, send

pytestmark = pytest.mark.browser

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def local_hhmm(iso: str, zone: str) -> str:
    return (
        datetime.fromisoformat(iso.replace("Z", "+00:00"))
        .astimezone(ZoneInfo(zone))
        .strftime("%H:%M")
    )


def test_two_people_chat_see_each_other_and_status_and_leaving(chat_server, new_context):
    # Time zones far from UTC and from each other: the UI must show each reader's local time.
    alice_ctx = new_context(timezone_id="America/New_York")
    bob_ctx = new_context(timezone_id="Asia/Kolkata")
    alice = join(alice_ctx, chat_server, TOKEN, "alice")
    bob = join(bob_ctx, chat_server, TOKEN, "bob")

    # The token went into an HttpOnly cookie and out of the address bar; the nickname is kept.
    for page, name in ((alice, "alice"), (bob, "bob")):
        assert "token" not in page.url
        assert TOKEN not in page.evaluate("document.cookie")
        assert page.evaluate("localStorage.getItem('talkex.nickname')") == name
        expect(page.locator(".tx-room")).to_have_attribute("data-room", "lobby")
        expect(page.get_by_role("heading", name="#lobby")).to_be_visible()
        expect(page.locator(".tx-online-count")).to_have_text("2 online")
        entries = presence_list(page).locator("li")
        expect(entries).to_have_count(2)
        expect(person(page, "alice")).to_have_attribute("data-status", "online")
        expect(person(page, "bob")).to_have_attribute("data-status", "online")
        expect(person(page, name).locator(".tx-you")).to_have_text("you")
        other = "bob" if name == "alice" else "alice"
        expect(person(page, other).locator(".tx-you")).to_have_count(0)

    # Alice writes; Bob sees her name, the body as written, and the time in Kolkata.
    before = datetime.now(timezone.utc)
    send(alice, "hello bob")
    group = message_log(bob).locator(".tx-group[data-author=alice]")
    expect(group.locator(".tx-msg[data-state=sent] .tx-body")).to_have_text("hello bob")
    expect(group.locator(".tx-author")).to_have_text("alice")
    expect(group).not_to_have_class(re.compile(r"\btx-own\b"))
    expect(group.locator(".tx-you")).to_have_count(0)
    stamp = group.locator("time").first
    iso = stamp.get_attribute("datetime")
    assert iso is not None and ISO_UTC.fullmatch(iso), iso
    sent_at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    assert before - timedelta(seconds=5) <= sent_at <= datetime.now(timezone.utc)
    expect(stamp).to_have_text(local_hhmm(iso, "Asia/Kolkata"))
    assert message_log(bob).locator(".tx-msg").get_attribute("data-message-id")

    # Alice sees her own message as hers, at the same instant in New York time.
    own = message_log(alice).locator(".tx-group.tx-own[data-author=alice]")
    expect(own.locator(".tx-msg[data-state=sent] .tx-body")).to_have_text("hello bob")
    expect(own.locator(".tx-you")).to_have_text("you")
    own_stamp = own.locator("time").first
    expect(own_stamp).to_have_attribute("datetime", iso)
    expect(own_stamp).to_have_text(local_hhmm(iso, "America/New_York"))

    # Shift+Enter starts a new line; Enter sends the two lines as one message.
    box = composer(bob)
    box.fill("line one")
    box.press("Shift+Enter")
    box.press_sequentially("line two")
    expect(bob.locator(".tx-counter")).to_have_text("17/4000")
    box.press("Enter")
    reply = message_log(alice).locator(".tx-group[data-author=bob] .tx-body")
    expect(reply).to_have_text("line one\nline two", use_inner_text=True)
    assert reply.evaluate("e => e.textContent") == "line one\nline two"
    expect(bob.locator(".tx-counter")).to_have_text("0/4000")

    # Alice goes away: both lists show it (the dot's label too).
    alice.get_by_label("Status").select_option("away")
    for page in (alice, bob):
        expect(person(page, "alice")).to_have_attribute("data-status", "away")
        expect(person(page, "alice").get_by_role("img")).to_have_attribute("aria-label", "away")
        expect(person(page, "alice")).to_have_attribute("data-count", "1")
    expect(person(bob, "bob")).to_have_attribute("data-status", "online")

    # Alice closes her page: Bob's list drops her.
    alice.close()
    expect(person(bob, "alice")).to_have_count(0)
    expect(presence_list(bob).locator("li")).to_have_count(1)
    expect(bob.locator(".tx-online-count")).to_have_text("1 online")


def test_one_person_in_two_tabs_is_listed_once_with_a_count(chat_server, new_context):
    carol_ctx = new_context()
    first = join(carol_ctx, chat_server, TOKEN, "carol")
    # The second tab needs neither the form nor the token: cookie and stored nickname.
    second = open_room(carol_ctx, chat_server)
    dave = join(new_context(), chat_server, TOKEN, "dave")

    for page in (first, second, dave):
        carol = person(page, "carol")
        expect(carol).to_have_count(1)
        expect(carol).to_have_attribute("data-count", "2")
        expect(carol.locator(".tx-count")).to_have_text("×2")
        expect(page.locator(".tx-online-count")).to_have_text("2 online")

    second.close()
    for page in (first, dave):
        carol = person(page, "carol")
        expect(carol).to_have_attribute("data-count", "1")
        expect(carol.locator(".tx-count")).to_have_count(0)
        expect(carol).to_have_count(1)
