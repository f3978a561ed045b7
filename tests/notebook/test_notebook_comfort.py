"""Chat comfort in the widget, in JupyterLab 4 and Notebook 7 (issue 15), against a person on
the standalone page of the same server: typing shows both ways and expires; "@" offers the
people in the room and a mention of the widget's person is highlighted and counted in the
widget's header while the tab is hidden; edits, deletes and reactions made on either side show
on the other, live and after a reconnect of the widget that missed them.

The widget's own socket is cut by the test: the server drops it, and a WebSocket route holds
the reconnect (the browser sees a socket that opened but whose join never answers) until the
page's changes are made, so the widget cannot fall back to the kernel relay and see them live.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from talkex_widget.notebook.embedded import ServerThread

from ..browser.pages import RECONNECT_TIMEOUT, bodies, composer, join, message_log, send
from ..browser.test_changes import chip, delete, edit, react, row
from ..browser.test_mentions import message, options
from ..browser.visibility import VISIBILITY_SHIM, set_hidden
from ..conftest import drop_connections
from .conftest import STANDALONE_TOKEN, Lab, chat_cells, joined, open_notebook, say

pytestmark = pytest.mark.browser

TYPING_GONE = 15_000
"""A name goes 6 s after its last typing event; the machine is shared."""


class SocketGate:
    """Routes a context's chat WebSockets to the server, or holds them while closed: a held
    socket opens for the page but reaches no server, so its join is never answered."""

    def __init__(self, server: ServerThread) -> None:
        self.pattern = re.compile(rf"^ws://127\.0\.0\.1:{server.port}/socket/websocket")
        self.closed = False
        self.held: list[WebSocketRoute] = []
        self._lock = threading.Lock()

    def handle(self, ws: WebSocketRoute) -> None:
        with self._lock:
            if self.closed:
                self.held.append(ws)
                return
        ws.connect_to_server()

    def close(self) -> None:
        with self._lock:
            self.closed = True

    def open(self) -> None:
        """Let sockets through again, and end the held ones so the page reconnects now."""
        with self._lock:
            self.closed = False
            held, self.held = self.held, []
        for ws in held:
            ws.close(code=1001, reason="back online")


async def _drop(server: ServerThread, nickname: str) -> None:
    assert server.server is not None
    drop_connections(server.server, nickname)


def typing_line(where: Page | Locator) -> Locator:
    return where.locator(".tx-typing")


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_typing_mentions_unread_and_changes_in_the_widget(
    app: str, notebooks: Lab, new_context: Any, standalone: ServerThread
) -> None:
    lab, room = notebooks, f"comfort-{app}"
    server = f"http://127.0.0.1:{standalone.port}/?token={STANDALONE_TOKEN}"
    ann_context = new_context()
    ann_context.add_init_script(VISIBILITY_SHIM)
    gate = SocketGate(standalone)
    ann_context.route_web_socket(gate.pattern, gate.handle)
    name = lab.write_notebook(f"ann-{app}.ipynb", *chat_cells(room, "ann", server=server))
    ann = open_notebook(ann_context, lab, name, app=app)
    widget = joined(ann)
    expect(widget).to_have_attribute("data-transport", "websocket")
    bob = join(new_context(), standalone, STANDALONE_TOKEN, "bob", room)

    # Typing, both ways, gone by itself.
    composer(bob).press_sequentially("hel")
    expect(typing_line(widget)).to_have_text("bob is typing…")
    expect(typing_line(widget)).to_have_text("", timeout=TYPING_GONE)
    composer(bob).fill("")
    box = widget.get_by_role("textbox", name="Message")
    box.press_sequentially("hi @b")
    expect(typing_line(bob)).to_have_text("ann is typing…")

    # "@" in the widget offers bob; Enter picks him; the page highlights the mention for him.
    expect(options(ann)).to_have_text(["@bob"])
    box.press("Enter")
    expect(box).to_have_value("hi @bob ")
    box.press_sequentially("welcome")
    box.press("Enter")
    expect(box).to_have_value("")
    expect(message(bob, "welcome")).to_have_attribute("data-mention", "true")
    expect(typing_line(bob)).to_have_text("", timeout=TYPING_GONE)

    # While ann's tab is hidden the widget's header counts unread messages and mentions.
    set_hidden(ann, True)
    send(bob, "@ann look here")
    send(bob, "nothing for ann")
    badge = widget.locator(".tx-header .tx-unread")
    expect(badge).to_have_text("2 unread · 1 mention")
    expect(message(ann, "look here")).to_have_attribute("data-mention", "true")
    expect(message(ann, "nothing for ann")).not_to_have_attribute("data-mention", "true")
    set_hidden(ann, False)
    expect(badge).to_have_count(0)

    # Edit, react and delete, live: ann in the widget, bob on the page.
    for text in ("helo", "second one", "third one"):
        say(ann, text)
    expect(row(bob, "third one")).to_have_count(1)
    edit(ann, "helo", "hello")
    expect(row(bob, "hello").locator(".tx-edited")).to_have_text("(edited)")
    react(bob, "second one", "🎉")
    expect(chip(ann, "second one", "🎉")).to_have_text("🎉 1")
    expect(chip(ann, "second one", "🎉")).to_have_attribute("title", "bob")
    react(ann, "nothing for ann", "👍")
    expect(chip(bob, "nothing for ann", "👍")).to_have_attribute("title", "ann")
    delete(ann, "third one")
    for page in (ann, bob):
        expect(message_log(page).locator("[data-deleted] .tx-tombstone")).to_have_count(1)

    # The widget's socket goes; bob changes things meanwhile; it comes back and catches up.
    gate.close()
    standalone.call(_drop(standalone, "ann"))
    expect(widget.locator(".tx-room")).to_have_attribute(
        "data-joined", "false", timeout=RECONNECT_TIMEOUT
    )
    edit(bob, "nothing for ann", "nothing for ann, edited")
    react(bob, "hello", "👀")
    react(bob, "second one", "🎉")  # toggled off again
    delete(bob, "@ann look here")
    send(bob, "while you were away")
    # Nothing reached the widget meanwhile (no fallback to the relay): what follows is catch-up.
    expect(widget.locator(".tx-room")).to_have_attribute("data-joined", "false")
    expect(message_log(ann)).not_to_contain_text("while you were away")
    gate.open()
    expect(widget.locator(".tx-room")).to_have_attribute(
        "data-joined", "true", timeout=RECONNECT_TIMEOUT
    )
    expect(message_log(ann)).to_contain_text("while you were away")
    expect(row(ann, "nothing for ann, edited").locator(".tx-edited")).to_have_text("(edited)")
    expect(chip(ann, "hello", "👀")).to_have_attribute("title", "bob")
    expect(chip(ann, "second one", "🎉")).to_have_count(0)
    expect(chip(ann, "nothing for ann, edited", "👍")).to_have_text("👍 1")
    expect(message_log(ann).locator("[data-deleted] .tx-tombstone")).to_have_count(2)
    expect(message_log(ann).locator(".tx-msg[data-state=sent]")).to_have_count(7)
    assert bodies(ann) == bodies(bob)  # the same messages, once each, in the same order
