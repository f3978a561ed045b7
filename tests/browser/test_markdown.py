"""Messages as markdown on the page: what one person writes, another reads formatted.

Alice writes markdown the way notebook people do (a table, a task list, a link, Python and SQL
in fences); Bob sees it rendered and highlighted, copies a code block with its button, and the
page is photographed in light and dark for a person to look at (``test-artifacts/screenshots``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, TOKEN
from .pages import join, message_log, send

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
PYTHON = 'def fit(model, X, y):\n    """Train it."""\n    return model.fit(X, y, epochs=20)  # slow'
SQL = "SELECT region, count(*) AS n\nFROM sales\nWHERE year = 2026\nGROUP BY region;"
NOTES = (
    "**Nightly run** is ~~late~~ done. Plan:\n\n"
    "- [x] load `sales.parquet`\n"
    "- [ ] check the outliers\n\n"
    "| region | n |\n| :-- | --: |\n| north | 1204 |\n| south | 987 |\n\n"
    "Details: [the run log](https://example.com/runs/42) and https://example.com/docs"
)


def latest_body(page: Page):  # type: ignore[no-untyped-def]
    return message_log(page).locator(".tx-msg[data-state=sent] .tx-body").last


def test_markdown_and_highlighted_code_render_for_the_reader(chat_server, new_context):
    alice = join(new_context(), chat_server, TOKEN, "alice")
    bob = join(new_context(), chat_server, TOKEN, "bob")

    send(alice, NOTES)
    body = latest_body(bob)
    expect(body.locator("strong")).to_have_text("Nightly run")
    expect(body.locator("s")).to_have_text("late")
    expect(body.locator("code")).to_have_text("sales.parquet")
    boxes = body.locator("li.task-list-item input[type=checkbox]")
    expect(boxes).to_have_count(2)
    expect(boxes.first).to_be_checked()
    expect(boxes.last).not_to_be_checked()
    expect(boxes.first).to_be_disabled()
    expect(body.locator("table th")).to_have_text(["region", "n"])
    expect(body.locator("table td")).to_have_text(["north", "1204", "south", "987"])
    assert body.locator("td").nth(1).evaluate("e => getComputedStyle(e).textAlign") == "right"
    links = body.get_by_role("link")
    expect(links).to_have_text(["the run log", "https://example.com/docs"])
    for i in range(2):
        expect(links.nth(i)).to_have_attribute("target", "_blank")
        expect(links.nth(i)).to_have_attribute("rel", "noopener noreferrer")
    expect(links.first).to_have_attribute("href", "https://example.com/runs/42")

    send(alice, f"Try this:\n```python\n{PYTHON}\n```")
    code = latest_body(bob).locator(".tx-code")
    expect(code.locator(".tx-code-lang")).to_have_text("python")
    expect(code.locator("pre code")).to_have_text(PYTHON)
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    expect(code.locator(".hljs-string")).to_have_text('"""Train it."""')
    expect(code.locator(".hljs-comment")).to_have_text("# slow")
    keyword = code.locator(".hljs-keyword").first.evaluate("e => getComputedStyle(e).color")
    plain = code.locator("pre code").evaluate("e => getComputedStyle(e).color")
    assert keyword != plain, "keywords are not coloured"

    # Markup a person might paste stays text, and a remote image is a link, not a request.
    send(alice, "<b>not bold</b> ![chart](https://example.com/chart.png)")
    body = latest_body(bob)
    expect(body).to_have_text("<b>not bold</b> chart")
    expect(body.locator("b, img")).to_have_count(0)
    expect(body.get_by_role("link", name="chart")).to_have_attribute(
        "href", "https://example.com/chart.png"
    )


def test_copy_button_copies_the_code(chat_server, new_context):
    alice = join(new_context(), chat_server, TOKEN, "alice")
    bob_ctx = new_context(permissions=["clipboard-read", "clipboard-write"])
    bob = join(bob_ctx, chat_server, TOKEN, "bob")
    send(alice, f"Query:\n```sql\n{SQL}\n```\nand\n```bash\npip install talkex\n```")

    buttons = latest_body(bob).get_by_role("button", name="Copy code")
    expect(buttons).to_have_count(2)
    buttons.first.click()
    expect(buttons.first).to_have_text("Copied")
    assert bob.evaluate("navigator.clipboard.readText()") == SQL
    expect(buttons.first).to_have_text("Copy")  # the confirmation goes away by itself

    buttons.last.click()
    expect(buttons.last).to_have_text("Copied")
    assert bob.evaluate("navigator.clipboard.readText()") == "pip install talkex"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_markdown_screenshots(scheme, chat_server, new_context):
    options = {"color_scheme": scheme, "viewport": {"width": 900, "height": 620}}
    alice = join(new_context(**options), chat_server, TOKEN, "alice")
    bob = join(new_context(**options), chat_server, TOKEN, "bob")
    send(alice, NOTES)
    send(bob, f"Looks good. Can you run\n```python\n{PYTHON}\n```")
    send(alice, f"> run it\n\nSure, and the totals:\n```sql\n{SQL}\n```")
    expect(message_log(bob).locator(".tx-msg[data-state=sent]")).to_have_count(3)
    expect(message_log(bob).locator(".hljs-keyword").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"markdown-{scheme}.png"
    bob.screenshot(path=str(path))
    print(f"screenshot: {path}")
