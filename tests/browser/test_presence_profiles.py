"""People the server knows how to show (a viewer token from the Jupyter extension, the hub), as
the standalone page draws them: display name and key, colour, and no picture from elsewhere.

On the page JupyterLab's colour variables do not exist: the avatar falls back to the name's
palette colour. The page's policy loads images from its own origin only, so an https avatar
does not load and the initials stay. The initials are inked black or white for contrast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import expect

from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.auth import issue_view_token
from talkex_widget.core.profiles import Profile
from talkex_widget.notebook.embedded import ServerThread

from .conftest import ARTIFACTS, TOKEN
from .pages import join, person

pytestmark = pytest.mark.browser

VIEW_KEY = "presence-profiles-view-key"
INK = """avatar => {
  const style = getComputedStyle(avatar);
  return [style.backgroundColor, style.color];
}"""


@contextmanager
def viewer(server: ServerThread, nickname: str, profile: Profile) -> Iterator[None]:
    """``nickname`` in the lobby with a viewer token, as a notebook view vouched for by the
    Jupyter extension joins."""
    token = issue_view_token(VIEW_KEY, nickname, ttl=600, profile=profile)

    async def start() -> Socket:
        socket = Socket(f"http://127.0.0.1:{server.port}/", {"token": token})
        await socket.connect()
        await RoomClient(socket, "lobby").join()
        return socket

    socket = server.call(start(), timeout=30)
    try:
        yield
    finally:
        server.call(socket.disconnect(), timeout=30)


def rgb(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text[text.index("(") + 1 : text.index(")")].split(",")[:3])


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    def luminance(colour: tuple[int, ...]) -> float:
        linear = [
            c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
            for c in colour
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_verified_people_show_their_name_and_colour_on_the_page(
    make_server: Callable[..., ServerThread], new_context: Any
) -> None:
    server = make_server(view_key=VIEW_KEY)
    io = Profile("Io Lee", "var(--jp-collaborator-color3)", "https://avatars.example/io.png")
    with viewer(server, "io", io), viewer(server, "bob", Profile(None, "#ffad8e")):
        page = join(new_context(), server, TOKEN, "ann")
        row = person(page, "io")
        expect(row.locator(".tx-name")).to_have_text("Io Lee")
        expect(row.locator(".tx-handle")).to_have_text("@io")
        expect(row).to_have_attribute("title", "Io Lee (@io) · online")
        avatar = row.locator(".tx-avatar")
        expect(avatar).to_have_attribute("data-initials", "IL")
        expect(avatar.locator("img")).to_have_count(0)  # not from this origin: blocked, initials
        background, ink = avatar.evaluate(INK)
        assert rgb(background)[:3] != (0, 0, 0) and "rgba(0, 0, 0, 0)" not in background
        assert contrast(rgb(background), rgb(ink)) >= 4.5, (background, ink)

        bob = person(page, "bob").locator(".tx-avatar")
        expect(bob).to_have_attribute("data-colour", "#ffad8e")
        background, ink = bob.evaluate(INK)
        assert (rgb(background), rgb(ink)) == ((255, 173, 142), (0, 0, 0))
        # ann signed in with the shared token: as she named herself, in her name's colour.
        ann = person(page, "ann")
        expect(ann.locator(".tx-name")).to_have_text("ann")
        expect(ann.locator(".tx-handle")).to_have_count(0)
        expect(ann.locator(".tx-avatar")).not_to_have_attribute("data-colour", "#ffad8e")
        (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "screenshots" / "presence-profiles.png"
        page.locator(".tx-side").screenshot(path=str(shot))
        print(f"screenshot: {shot}")
