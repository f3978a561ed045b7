"""Hostile text stays text: message bodies, nicknames and room names never become markup.

Bodies are rendered as markdown, so the catalogue (``xss_catalogue.json``, shared with the JS
renderer's unit tests) mixes plain HTML injections with markdown's own: ``javascript:`` and
``data:`` links, autolinks, reference definitions, entity tricks, HTML inside code and tables.
Each case says the text a reader sees (``text``, whitespace collapsed; the body itself when
absent): what markdown means is shown, nothing is run or injected.

The page's Content-Security-Policy would block inline handlers even if markup got in, which
would hide a rendering bug. These contexts bypass the CSP, and a control proves that an
injected handler would really run and be caught, so "no dialog" means the UI escaped it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from talkex_widget.core.limits import Limits

from .conftest import TOKEN
from .pages import (
    DialogRecorder,
    css_string,
    join,
    message_log,
    person,
    presence_list,
    send,
)
from .servers import start_url

pytestmark = pytest.mark.browser

CATALOGUE = json.loads((Path(__file__).parent / "xss_catalogue.json").read_text("utf-8"))
PAYLOADS = [case["body"] for case in CATALOGUE]
HOSTILE_NICKNAME = "<img src=x onerror=alert(3)>"
"""28 printable characters: a valid nickname, so it must be shown as text everywhere."""

# What React renders in a room, and what the markdown renderer may produce inside a body;
# anything else in the page came from someone's text.
ROOM_TAGS = {"DIV", "SPAN", "BDI", "TIME", "BUTTON", "UL", "LI", "ASIDE", "HEADER", "H2"}
ROOM_TAGS |= {"SELECT", "OPTION", "TEXTAREA", "A", "WBR"}
MARKDOWN_TAGS = {"P", "BR", "STRONG", "EM", "S", "CODE", "PRE", "OL", "BLOCKQUOTE", "HR"}
MARKDOWN_TAGS |= {"TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "INPUT"} | {
    f"H{n}" for n in range(1, 7)
}
FORBIDDEN = "img, svg, iframe, object, embed, math, details, style, a[href^='javascript' i], b"
SHOWN_TEXTS = """els => els.map(e => {
    const copy = e.cloneNode(true);
    copy.querySelectorAll(".tx-code-head").forEach(head => head.remove());
    return copy.textContent.replace(/\\s+/g, " ").trim();
})"""
LINKS = """els => els.map(a => [a.getAttribute("href"), a.target, a.rel])"""

SOCKET_OUTCOME = """(nickname) => new Promise((resolve) => {
    const query = new URLSearchParams({ vsn: "2.0.0", nickname });
    const ws = new WebSocket(`ws://${location.host}/socket/websocket?${query}`);
    ws.onopen = () => { ws.close(); resolve("open"); };
    ws.onclose = () => resolve("refused");
})"""


def shown(text: str) -> str:
    return " ".join(text.split())


def hostile_context(new_context) -> tuple[BrowserContext, DialogRecorder]:  # type: ignore[no-untyped-def]
    context = new_context(bypass_csp=True)
    return context, DialogRecorder(context)


def prove_handlers_would_fire(page: Page, dialogs: DialogRecorder) -> None:
    """The control: an inline handler in parsed markup runs here and its alert is recorded.
    ``alert`` blocks until the recorder dismisses it, so the promise settles after that."""
    page.evaluate(
        """() => new Promise((resolve) => {
            window.__talkexControl = resolve;
            const probe = document.createElement("div");
            probe.innerHTML =
                '<img src="data:," onerror="alert(\\'control\\'); window.__talkexControl()">';
        })"""
    )
    assert dialogs.messages == ["control"], dialogs.messages
    dialogs.messages.clear()


def assert_no_injection(page: Page) -> None:
    # Where hostile text lands: the messages and the people. The room's own chrome (the
    # notification bell's icon is an inline SVG) is the app's markup, not the sender's.
    for region in (message_log(page), presence_list(page)):
        tags = set(region.locator("*").evaluate_all("els => els.map(e => e.tagName)"))
        assert tags <= ROOM_TAGS | MARKDOWN_TAGS, tags - ROOM_TAGS - MARKDOWN_TAGS
        assert region.locator(FORBIDDEN).count() == 0
    assert page.locator(f".tx-room :is({FORBIDDEN}):not(.tx-notify *)").count() == 0
    # Links in bodies only to http(s) or mail, in a new tab, without opener or referrer.
    for href, target, rel in page.locator(".tx-body a").evaluate_all(LINKS):
        assert href.startswith(("https://", "http://", "mailto:")), href
        assert (target, rel) == ("_blank", "noopener noreferrer"), href
    # Task-list boxes only, and they cannot be ticked.
    boxes = page.locator(".tx-body input")
    assert boxes.count() == page.locator(".tx-body input[type=checkbox][disabled]").count()
    # The page's own module script and nothing else.
    assert page.locator("script").count() == 1
    assert page.locator("script").get_attribute("type") == "module"
    handlers = page.evaluate(
        """() => [...document.querySelectorAll("*")].flatMap(
            e => [...e.attributes].map(a => a.name).filter(n => n.startsWith("on")))"""
    )
    assert handlers == []


def test_hostile_bodies_and_nickname_render_as_text(make_server, new_context):
    # The whole catalogue in one go, above the default rate of 20 messages per 10 s.
    chat_server = make_server(limits=Limits(messages_per_window=200))
    mallory_ctx, mallory_dialogs = hostile_context(new_context)
    bob_ctx, bob_dialogs = hostile_context(new_context)
    mallory = join(mallory_ctx, chat_server, TOKEN, HOSTILE_NICKNAME)
    bob = join(bob_ctx, chat_server, TOKEN, "bob")
    prove_handlers_would_fire(bob, bob_dialogs)

    # The nickname is shown literally in both presence lists and in Mallory's header.
    for page in (mallory, bob):
        row = person(page, HOSTILE_NICKNAME)
        expect(row).to_have_count(1)
        expect(row.locator("bdi")).to_have_text(HOSTILE_NICKNAME)
        expect(presence_list(page).locator("li")).to_have_count(2)
    expect(mallory.locator(".tx-me")).to_have_text(HOSTILE_NICKNAME)

    for payload in PAYLOADS:
        send(mallory, payload)
    expected = [shown(case.get("text", case["body"])) for case in CATALOGUE]
    for page in (mallory, bob):
        sent = message_log(page).locator(".tx-msg[data-state=sent]")
        expect(sent).to_have_count(len(PAYLOADS))
        texts = message_log(page).locator(".tx-msg .tx-body").evaluate_all(SHOWN_TEXTS)
        assert texts == expected
        group = message_log(page).locator(f".tx-group[data-author={css_string(HOSTILE_NICKNAME)}]")
        expect(group).to_have_count(1)
        expect(group.locator(".tx-author")).to_have_text(HOSTILE_NICKNAME)
        assert_no_injection(page)
        # Hovering and clicking what was sent runs nothing either.
        for body in message_log(page).locator(".tx-body").all():
            body.hover()
        message_log(page).locator(".tx-body").last.click()

    # Bob answers, quoting one: his view re-renders the whole log; still text.
    send(bob, f"you wrote {PAYLOADS[0]}")
    expect(message_log(mallory).locator(".tx-group[data-author=bob] .tx-body")).to_have_text(
        f"you wrote {PAYLOADS[0]}"
    )
    for page in (mallory, bob):
        assert_no_injection(page)
    assert mallory_dialogs.messages == []
    assert bob_dialogs.messages == []


def test_hostile_room_names_and_invisible_nicknames_are_refused_with_a_reason(
    chat_server, new_context
):
    context, dialogs = hostile_context(new_context)
    page = context.new_page()
    page.goto(start_url(chat_server, TOKEN))
    home = page.url
    alert = page.get_by_role("alert")
    nickname, room = page.get_by_label("Nickname"), page.get_by_label("Room")
    join_button = page.get_by_role("button", name="Join")

    # Room names are letters, digits, '-', '_' and '.': markup is refused before any request.
    nickname.fill("erin")
    for bad_room in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "a/b"):
        room.fill(bad_room)
        join_button.click()
        expect(alert).to_have_text("room name may only use letters, digits, '-', '_' and '.'")
        assert page.url == home

    # Bidi overrides and zero-width characters let one person pass for another: refused.
    room.fill("lobby")
    for bad_nickname in ("ali\u202ece", "b\u200bob", "\u2066eve\u2069", "zoe\u200d", "x\u00ady"):
        nickname.fill(bad_nickname)
        join_button.click()
        expect(alert).to_have_text(
            "nickname may not contain control or invisible formatting characters"
        )
        assert page.url == home
    assert page.evaluate("localStorage.getItem('talkex.nickname')") is None

    # Past the form, the server refuses the same names at the socket (the cookie is sent).
    for name, outcome in (("erin", "open"), ("ali\u202ece", "refused"), ("b\u200bob", "refused")):
        assert page.evaluate(SOCKET_OUTCOME, name) == outcome, name

    # A hostile room in the address: the server answers 404 with the page, which says why.
    response = page.goto(
        f"http://127.0.0.1:{chat_server.port}/rooms/%3Cscript%3Ealert(3)%3C%2Fscript%3E"
    )
    assert response is not None and response.status == 404
    assert "letters, digits" in (response.header_value("x-talkex-error") or "")
    expect(alert).to_have_text("room name may only use letters, digits, '-', '_' and '.'")
    expect(page.get_by_label("Room")).to_have_value("<script>alert(3)</script>")
    assert page.locator("script").count() == 1

    # A stale or planted bad nickname in storage never reaches the server: the form asks again.
    page.evaluate("localStorage.setItem('talkex.nickname', 'mal\u202elory')")
    page.goto(f"http://127.0.0.1:{chat_server.port}/rooms/lobby")
    expect(page.get_by_role("button", name="Join")).to_be_visible()
    expect(page.locator(".tx-room")).to_have_count(0)
    expect(page.get_by_label("Room")).to_have_value("lobby")
    page.get_by_role("button", name="Join").click()
    expect(alert).to_have_text(
        "nickname may not contain control or invisible formatting characters"
    )
    assert dialogs.messages == []
