"""How the page looks in light and dark: screenshots to look at, and a contrast check.

The screenshots land in ``test-artifacts/screenshots/`` (room and join form, light and dark)
for a person to look at; the test itself checks what a machine can: every piece of text a
reader needs has enough contrast against the background it is drawn on (WCAG AA: 4.5:1 for
text; 3:1 for the status dots, which are graphics).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, TOKEN
from .pages import composer, join, message_log, open_room, person, send
from .servers import start_url

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORT = {"width": 900, "height": 520}

# Effective colours: the text colour and the background stack under the element, composed.
CONTRAST_JS = """
(els) => {
  const parse = (c) => {
    let m = /^rgba?\\(([^)]*)\\)$/.exec(c);
    if (m) {
      const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    m = /^color\\(srgb ([^)]*)\\)$/.exec(c);
    if (m) {
      const p = m[1].split(/[\\s\\/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    throw new Error("unknown colour " + c);
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  return els.map((el) => {
    const style = getComputedStyle(el);
    const isDot = el.getAttribute("role") === "img";
    const bg = background(isDot ? el.parentElement : el);
    let fg = isDot ? parse(style.backgroundColor) : parse(style.color);
    if (isDot && fg[3] === 0) {
      fg = parse(style.boxShadow.match(/(rgba?|color)\\([^)]*\\)/)[0]);
    }
    const [a, b] = [luminance(over(fg, bg)), luminance(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    return { what: el.className || el.tagName, text: el.textContent, ratio };
  });
}
"""

TEXT = [
    ".tx-title",
    ".tx-online-count",
    ".tx-connection",
    ".tx-me",
    ".tx-status-select",
    ".tx-link",
    ".tx-author",
    ".tx-time",
    ".tx-body",
    ".tx-you",
    ".tx-count",
    ".tx-person .tx-name",
    ".tx-counter",
    ".tx-send",
]

JOIN_TEXT = [".tx-join-title", ".tx-field > span", ".tx-field input", "[role=alert]", ".tx-primary"]


def low_contrast(
    page: Page, selectors: list[str], minimum: float, root: str = ".tx-room"
) -> list[str]:
    found = []
    for selector in selectors:
        elements = page.locator(f"{root} {selector}")
        assert elements.count(), f"nothing matches {selector}"
        for item in elements.evaluate_all(CONTRAST_JS):
            if item["ratio"] < minimum:
                found.append(f"{selector} {item['text']!r}: {item['ratio']:.2f}")
    return found


def shoot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_room_and_join_form_are_readable(scheme, chat_server, new_context):
    options = {"color_scheme": scheme, "viewport": VIEWPORT}
    alice = join(new_context(**options), chat_server, TOKEN, "alice")
    bob_ctx = new_context(**options)
    bob = join(bob_ctx, chat_server, TOKEN, "bob")
    open_room(bob_ctx, chat_server)  # Bob in a second tab: "×2"
    send(alice, "Morning! Is the nightly run done?")
    send(alice, "The plots in cell 12 look off.")
    send(bob, "Yes, finished at 06:10. Looking at cell 12 now.")
    send(bob, "Long line to see wrapping: " + "the quick brown fox jumps over the lazy dog " * 4)
    send(alice, "Thanks 🙏 — ping me when it is fixed.")
    alice.get_by_label("Status").select_option("away")
    expect(person(bob, "alice")).to_have_attribute("data-status", "away")
    expect(person(bob, "bob")).to_have_attribute("data-count", "2")
    expect(message_log(bob).locator(".tx-msg[data-state=sent]")).to_have_count(5)
    composer(bob).fill("a draft")

    assert bob.evaluate(f"matchMedia('(prefers-color-scheme: {scheme})').matches"), (
        "the context did not emulate the colour scheme"
    )
    shoot(bob, f"room-{scheme}")
    shoot(alice, f"room-{scheme}-own")
    assert low_contrast(bob, TEXT, 4.5) == []
    assert low_contrast(bob, ["[role=img]"], 3.0) == []

    form = new_context(**options).new_page()
    form.goto(start_url(chat_server, TOKEN))
    form.get_by_label("Nickname").fill("eve\u202e")
    form.get_by_label("Room").fill("lobby")
    form.get_by_role("button", name="Join").click()
    expect(form.get_by_role("alert")).to_be_visible()
    shoot(form, f"join-{scheme}")
    assert low_contrast(form, JOIN_TEXT, 4.5, root=".tx-join") == []
