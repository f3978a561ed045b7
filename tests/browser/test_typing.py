"""Typing indicators as people see them: "ann is typing…" while she types, gone by itself a
few seconds after she stops, and at once when her message arrives (issue 15)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .conftest import TOKEN
from .pages import composer, join, send

pytestmark = pytest.mark.browser


def test_typing_shows_for_the_others_and_expires(chat_server, new_context):
    ann = join(new_context(), chat_server, TOKEN, "ann")
    bob = join(new_context(), chat_server, TOKEN, "bob")
    line = bob.locator(".tx-typing")
    expect(line).to_have_text("")

    composer(ann).press_sequentially("hel")
    expect(line).to_have_text("ann is typing…")
    expect(ann.locator(".tx-typing")).to_have_text("")  # never ourselves
    started = time.monotonic()
    expect(line).to_have_text("", timeout=12_000)  # she stopped: it expires by itself
    assert time.monotonic() - started > 3, "gone before the time-to-live"

    composer(ann).press_sequentially("lo")
    expect(line).to_have_text("ann is typing…")
    send(ann, "hello")
    expect(line).to_have_text("", timeout=2_000)  # her message ends it at once
