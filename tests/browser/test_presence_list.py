"""The presence list as people read it: status in words, activity on its own line, avatars,
and auto-away after ten idle minutes (a page left alone), back on the next touch.

Auto-away is driven by Playwright's clock in the idle person's page: ``fast_forward`` jumps ten
minutes at once (each due timer fires once), while the server and the other page keep real time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from talkex_widget.client import RoomClient, Socket

from .conftest import ARTIFACTS, TOKEN
from .pages import join, message_log, person, send

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
BUSY_NAME = "maximilian.schneider"
ACTIVITY = "running model.fit(X_train, y_train, epochs=20, callbacks=[early_stop])"


@contextmanager
def python_person(server, nickname: str, room: str = "lobby") -> Iterator[Callable[..., None]]:  # type: ignore[no-untyped-def]
    """Someone in the room through the Python client; yields ``set_status(status, activity)``."""

    async def start() -> tuple[Socket, RoomClient]:
        socket = Socket(f"http://127.0.0.1:{server.port}/", {"nickname": nickname, "token": TOKEN})
        await socket.connect()
        client = RoomClient(socket, room)
        await client.join()
        return socket, client

    socket, client = server.call(start(), timeout=30)

    def set_status(status: str, activity: str | None = None) -> None:
        server.call(client.set_status(status, activity), timeout=30)

    try:
        yield set_status
    finally:
        server.call(socket.disconnect(), timeout=30)


def status_line(page: Page, nickname: str):  # type: ignore[no-untyped-def]
    return person(page, nickname).locator(".tx-person-status")


def test_status_words_activity_line_and_avatars(chat_server, new_context):
    alice = join(new_context(), chat_server, TOKEN, "alice")
    bob = join(new_context(viewport={"width": 700, "height": 500}), chat_server, TOKEN, "bob")

    # Online needs no word; away is said, not only coloured.
    expect(person(bob, "alice")).to_have_attribute("data-status", "online")
    expect(status_line(bob, "alice")).to_have_count(0)
    alice.get_by_label("Status").select_option("away")
    for page in (alice, bob):
        expect(status_line(page, "alice")).to_have_text("away")

    with python_person(chat_server, BUSY_NAME) as set_status:
        set_status("busy", ACTIVITY)
        row = person(bob, BUSY_NAME)
        expect(status_line(bob, BUSY_NAME)).to_have_text(f"busy · {ACTIVITY}")
        # The name keeps a line of its own, whole; the long activity is cut below it instead.
        name = row.locator(".tx-name")
        expect(name).to_have_text(BUSY_NAME)
        assert name.evaluate("e => e.scrollWidth <= e.clientWidth"), "the name is cut"
        name_box, status_box = name.bounding_box(), status_line(bob, BUSY_NAME).bounding_box()
        assert name_box and status_box
        assert status_box["y"] >= name_box["y"] + name_box["height"] - 1, "not on its own line"
        assert status_line(bob, BUSY_NAME).evaluate("e => e.scrollHeight > e.clientHeight")
        expect(row).to_have_attribute("title", f"{BUSY_NAME} · busy: {ACTIVITY}")

        # Initials avatars, in a colour that depends on the name only: the same in both views.
        avatar = (
            "e => [getComputedStyle(e, '::before').content, getComputedStyle(e).backgroundColor]"
        )
        seen = {
            page: {
                name: person(page, name).locator(".tx-avatar").evaluate(avatar)
                for name in ("alice", "bob", BUSY_NAME)
            }
            for page in (alice, bob)
        }
        assert seen[alice] == seen[bob]
        assert [seen[bob][name][0] for name in ("alice", "bob", BUSY_NAME)] == [
            '"A"',
            '"B"',
            '"MS"',
        ]
        assert len({colour for _, colour in seen[bob].values()}) == 3
        shoot_both_schemes(bob, "presence")


def shoot_both_schemes(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        path = SCREENSHOTS / f"{name}-{scheme}.png"
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")


def test_idle_page_goes_away_and_comes_back(chat_server, new_context):
    alice_ctx = new_context()
    alice_ctx.clock.install()
    alice = join(alice_ctx, chat_server, TOKEN, "alice")
    bob = join(new_context(), chat_server, TOKEN, "bob")
    expect(person(bob, "alice")).to_have_attribute("data-status", "online")

    # Ten minutes untouched: Alice is away, for Bob and in her own status box.
    alice.clock.fast_forward("10:05")
    expect(person(bob, "alice")).to_have_attribute("data-status", "away", timeout=30_000)
    expect(status_line(bob, "alice")).to_have_text("away")
    expect(alice.get_by_label("Status")).to_have_value("away")

    # She moves the mouse: back online.
    alice.mouse.move(200, 200)
    alice.mouse.move(220, 210)
    expect(person(bob, "alice")).to_have_attribute("data-status", "online")
    expect(alice.get_by_label("Status")).to_have_value("online")

    # Away chosen by hand stays away, through idle time and activity alike.
    alice.get_by_label("Status").select_option("away")
    expect(person(bob, "alice")).to_have_attribute("data-status", "away")
    alice.clock.fast_forward("10:05")
    alice.mouse.move(300, 300)
    send(alice, "still here, but away")
    expect(message_log(bob).locator(".tx-body").last).to_have_text("still here, but away")
    expect(alice.get_by_label("Status")).to_have_value("away")
    expect(person(bob, "alice")).to_have_attribute("data-status", "away")
