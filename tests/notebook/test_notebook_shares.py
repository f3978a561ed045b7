"""Results shared from a kernel, as people see them: a DataFrame and a matplotlib figure that
ada's notebook shares show as a table and an image in the widgets of bob (JupyterLab) and eve
(Notebook 7) and on the page; a figure that is no PNG/JPEG, or too large, is refused with the
reason in ada's cell output and nothing is stored. Screenshots of the widget and the page
(light and dark) are kept in ``test-artifacts/screenshots`` to be looked at."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from ..browser.conftest import ARTIFACTS
from ..helpers import api_json
from .conftest import Lab, chat_cells, joined, open_notebook

pytestmark = pytest.mark.browser

ROOM = "results"
SCREENSHOTS = ARTIFACTS / "screenshots"
PNG_DATA_URL = re.compile(r"^data:image/png;base64,iVBORw0KGgo")
SHARE = (
    "import pandas as pd, matplotlib\n"
    "matplotlib.use('Agg')\n"
    "import matplotlib.pyplot as plt\n"
    "df = pd.DataFrame({'region': ['north', 'south'], 'n': [1204, 987]})\n"
    "w.share(df, caption='sales by region')\n"
    "fig, ax = plt.subplots(figsize=(3, 2))\n"
    "ax.plot([1, 3, 2])\n"
    "w.share(fig, caption='loss curve')\n"
    "print('shared', len(w.messages))"
)
REFUSED = (
    "class Svg:\n"
    "    def _repr_png_(self):\n"
    "        return b'<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>'\n"
    "class Huge:\n"
    "    def _repr_png_(self):\n"
    "        return b'\\x89PNG' + bytes(2 * 1024 * 1024)\n"
    "for bad in (Svg(), Huge()):\n"
    "    try:\n"
    "        w.share(bad)\n"
    "    except Exception as exc:\n"
    "        print('refused:', exc)"
)


def stored(server_url: str, token: str) -> list[dict[str, Any]]:
    return list(api_json(f"{server_url}api/rooms/{ROOM}/messages", token=token)["messages"])


def check_results(root: Any) -> None:
    """The table and the figure as a reader sees them, in a widget or on the page."""
    table = root.locator(".tx-shared-table").last
    expect(table.locator(".tx-shared-caption")).to_have_text("sales by region")
    expect(table.locator("th")).to_have_text(["region", "n"])
    expect(table.locator("td")).to_have_text(["north", "1204", "south", "987"])
    expect(table.get_by_role("button", name="Copy table as TSV")).to_be_visible()
    figure = root.locator(".tx-shared-figure").last
    image = figure.locator("img")
    expect(image).to_have_attribute("src", PNG_DATA_URL)
    expect(figure.locator("figcaption")).to_have_text("loss curve")
    assert image.evaluate("img => img.complete && img.naturalWidth > 100")
    figure.locator(".tx-figure-open").click()
    lightbox = root.locator(".tx-lightbox")
    expect(lightbox.locator("img")).to_be_visible()
    lightbox.click()
    expect(lightbox).to_have_count(0)


def open_page(context: Any, server_url: str, token: str, nickname: str) -> Page:
    page: Page = context.new_page()
    page.goto(f"{server_url}?token={token}")
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_label("Room").fill(ROOM)
    page.get_by_role("button", name="Join").click()
    expect(page.locator(".tx-room[data-joined='true']")).to_be_visible()
    return page


def test_a_dataframe_and_a_figure_from_a_kernel_show_in_another_widget_and_on_the_page(
    notebooks: Lab, new_context: Any
) -> None:
    lab = notebooks
    bob = open_notebook(
        new_context(), lab, lab.write_notebook("bob.ipynb", *chat_cells(ROOM, "bob"))
    )
    bob_root = joined(bob)
    eve = open_notebook(  # Notebook 7 too
        new_context(),
        lab,
        lab.write_notebook("eve.ipynb", *chat_cells(ROOM, "eve")),
        app="notebook",
    )
    eve_root = joined(eve)
    server = lab.talkex_server()
    reader = new_context(permissions=["clipboard-read", "clipboard-write"])
    light = open_page(reader, server.url, server.token, "cy")
    dark = open_page(new_context(color_scheme="dark"), server.url, server.token, "dee")

    ada = open_notebook(
        new_context(),
        lab,
        lab.write_notebook("ada.ipynb", *chat_cells(ROOM, "ada"), SHARE, REFUSED),
    )
    joined(ada)
    for root in (bob_root, eve_root, light.locator(".talkex"), dark.locator(".talkex")):
        check_results(root)

    # The refusals, in ada's own words: the server's reason, and the size check before sending.
    outputs = ada.locator(".jp-OutputArea-output")
    expect(outputs.filter(has_text="refused: new_msg refused: image refused")).to_contain_text(
        "not a PNG or JPEG image"
    )
    expect(outputs.filter(has_text="over the server's limit")).to_contain_text("1,048,576")
    light.get_by_role("button", name="Copy table as TSV").click()
    expect(light.get_by_role("button", name="Copy table as TSV")).to_have_text("Copied")
    assert light.evaluate("navigator.clipboard.readText()") == "region\tn\nnorth\t1204\nsouth\t987"
    kinds = [m.get("kind", "text") for m in stored(server.url, server.token)]
    assert kinds == ["table", "figure"]  # nothing stored for either refusal

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    bob_root.locator(".tx-messages").screenshot(path=SCREENSHOTS / "shares-widget.png")
    light.screenshot(path=SCREENSHOTS / "shares-page-light.png")
    dark.screenshot(path=SCREENSHOTS / "shares-page-dark.png")
