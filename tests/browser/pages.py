"""Page helpers: locators from the UI contract, joining a room, sending, watching dialogs.

Every helper waits on a condition (Playwright's ``expect``), never on a fixed sleep, so the
tests stay steady on a slow machine and fail with the condition that did not hold.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, expect

from talkex_widget.notebook.embedded import ServerThread

from .servers import RestartableServer, start_url

__all__ = [
    "JOIN_TIMEOUT",
    "RECONNECT_TIMEOUT",
    "DialogRecorder",
    "bodies",
    "composer",
    "connection",
    "css_string",
    "expect_joined",
    "join",
    "message_log",
    "open_room",
    "person",
    "presence_list",
    "send",
]

JOIN_TIMEOUT = 15_000
RECONNECT_TIMEOUT = 30_000
"""phoenix.js backs off up to 5 s between attempts, and a rejoin follows the reconnect."""


def css_string(value: str) -> str:
    """``value`` as a quoted CSS string, for attribute selectors on hostile nicknames."""
    return json.dumps(value, ensure_ascii=False)


def connection(page: Page) -> Locator:
    return page.get_by_role("status", name="Connection")


def message_log(page: Page) -> Locator:
    return page.get_by_role("log", name="Messages")


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message")


def presence_list(page: Page) -> Locator:
    return page.get_by_role("list", name="Who's online")


def person(page: Page, nickname: str) -> Locator:
    """``nickname``'s row in the page's "Who's online" list."""
    return presence_list(page).locator(f"li[data-nickname={css_string(nickname)}]")


def bodies(page: Page) -> list[str]:
    """The text of every message row in the log, top to bottom, exactly as shown."""
    return (
        message_log(page)
        .locator(".tx-msg .tx-body")
        .evaluate_all("els => els.map(e => e.textContent)")
    )


def expect_joined(page: Page, room: str, timeout: float = JOIN_TIMEOUT) -> None:
    expect(page.locator(f".tx-room[data-room={css_string(room)}]")).to_have_attribute(
        "data-joined", "true", timeout=timeout
    )
    expect(connection(page)).to_have_text("connected", timeout=timeout)
    expect(composer(page)).to_be_enabled(timeout=timeout)


def join(
    context: BrowserContext,
    server: ServerThread | RestartableServer,
    token: str,
    nickname: str,
    room: str = "lobby",
) -> Page:
    """A new page that opens the start URL and joins ``room`` through the home form."""
    page = context.new_page()
    page.goto(start_url(server, token))
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_label("Room").fill(room)
    page.get_by_role("button", name="Join").click()
    expect(page).to_have_url(f"http://127.0.0.1:{server.port}/rooms/{room}")
    expect_joined(page, room)
    return page


def open_room(
    context: BrowserContext, server: ServerThread | RestartableServer, room: str = "lobby"
) -> Page:
    """A new page straight on ``/rooms/<room>``: the context's cookie and stored nickname."""
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{server.port}/rooms/{room}")
    expect_joined(page, room)
    return page


def send(page: Page, text: str) -> None:
    """Type ``text`` in the message box and press Enter (the box empties once it is queued)."""
    box = composer(page)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


class DialogRecorder:
    """Records (and dismisses) every ``alert``/``confirm``/``prompt`` any page of a context
    opens, so an XSS that runs is caught even when it fires on a page nobody watches."""

    def __init__(self, context: BrowserContext) -> None:
        self.messages: list[str] = []
        context.on("dialog", self._record)

    def _record(self, dialog: Any) -> None:
        self.messages.append(dialog.message)
        with contextlib.suppress(Exception):  # the page may be closing
            dialog.dismiss()
