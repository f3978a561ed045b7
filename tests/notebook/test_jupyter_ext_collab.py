"""Two collaborators on one notebook (JupyterLab with jupyter-collaboration): each view chats
as the person viewing it, the Jupyter route carries a view whose direct port is blocked, and a
busy kernel does not stall it.

The first person runs the notebook; the second opens the same notebook in a browser context of
their own (another anonymous Jupyter identity), trusts it from the command palette (widget
outputs of someone else's run render only in a trusted notebook, JupyterLab issue #11435) and
sees the same widget output. Their direct socket to the Talkex server is blocked, as on a
remote Jupyter, so their view goes through ``<base_url>talkex/``.

"Who's online" shows each collaborator as JupyterLab shows them: their anonymous name and the
colour JupyterLab picked for them. Neither browser ever holds the kernel's shared token: every
frame either page receives (the kernel's channels included) is searched for it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, KERNEL_TIMEOUT, Lab, chat_cells, joined, online, open_notebook, say
from .test_notebook_chat import kernel_client, wait_busy

pytestmark = pytest.mark.browser

BLOCK_DIRECT = """
(() => {
  // The chat's own socket (not Jupyter's, not the route) cannot connect: as when the
  // browser has no way to the Talkex server's port.
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const u = new URL(url, location.href);
    const direct = u.pathname.endsWith("/socket/websocket") && !u.pathname.includes("/talkex/");
    return new Native(direct ? "ws://127.0.0.1:9/blocked" : url, protocols);
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


JUPYTER_USER_KEY = "@jupyterlab/services:UserManager#user"
RETURNING_VISITOR = """
(() => {
  // JupyterLab picks a colour for a user the server gives none (token login) only once it
  // has kept an identity from an earlier visit: a returning visitor, who has one from the
  // start. Keep an empty identity, and JupyterLab picks the colour on this first load.
  if (localStorage.getItem(KEY) === null) localStorage.setItem(KEY, "{}");
})();
""".replace("KEY", json.dumps(JUPYTER_USER_KEY))
RESOLVED = """(avatar, colour) => {
  const probe = document.createElement("div");
  probe.style.background = colour;
  document.body.append(probe);
  const jupyterlab = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return [getComputedStyle(avatar).backgroundColor, jupyterlab];
}"""


def returning_visitor(context: Any) -> list[str | bytes]:
    """Prepare ``context`` as a returning JupyterLab visitor; the frames its pages receive."""
    context.add_init_script(RETURNING_VISITOR)
    frames: list[str | bytes] = []

    def heard(payload: str | bytes) -> None:
        frames.append(payload)

    context.on("page", lambda page: page.on("websocket", lambda ws: ws.on("framereceived", heard)))
    return frames


def jupyterlab_identity(page: Page) -> dict[str, Any]:
    """Who JupyterLab shows the page's user as (name, colour), once it picked the colour."""
    handle = page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem({json.dumps(JUPYTER_USER_KEY)}) || 'null')?.color"
    )
    assert handle.json_value()
    return dict(
        page.evaluate(f"() => JSON.parse(localStorage.getItem({json.dumps(JUPYTER_USER_KEY)}))")
    )


def holds(frames: list[str | bytes], text: str) -> bool:
    return any(text in (f if isinstance(f, str) else f.decode("utf-8", "replace")) for f in frames)


def open_without_running(context: Any, lab: Lab, name: str, workspace: str) -> Page:
    """The second collaborator opens the notebook the first one ran, and trusts it."""
    page: Page = context.new_page()
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab.token}")
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const name = panel?.querySelector('.jp-KernelName')?.textContent?.trim();
            return !!name && name !== 'No Kernel';
        }""",
        timeout=KERNEL_TIMEOUT,
    )
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#command-palette")
    palette.locator("input").fill("Trust Notebook")
    palette.locator(".lm-CommandPalette-item").get_by_text("Trust Notebook", exact=True).click()
    # JupyterLab asks to confirm ("Trust"), or says the notebook is trusted already ("Ok").
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    return page


def kernel_messages(lab: Lab, notebook: str, last: str) -> list[tuple[str, str]]:
    """``(author, body)`` of the messages the notebook's ``w`` holds once it holds ``last``
    (the kernel hears the room on its own link, maybe after the pages)."""
    code = (
        "import json, time\n"
        "deadline = time.monotonic() + 15\n"
        f"while time.monotonic() < deadline and {last!r} not in [m['body'] for m in w.messages]:\n"
        "    time.sleep(0.05)\n"
        "print(json.dumps([[m['author'], m['body']] for m in w.messages]))"
    )
    client = kernel_client(lab, notebook)
    printed: list[str] = []
    try:
        reply = client.execute_interactive(
            code,
            timeout=30,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok", reply
    finally:
        client.stop_channels()
    return [tuple(pair) for pair in json.loads("".join(printed))]


def test_two_collaborators_each_chat_as_themselves_through_direct_and_route(
    notebooks: Lab, new_context: Any
) -> None:
    lab = notebooks
    nickname = f"ada-{secrets.token_hex(3)}"
    name = lab.write_notebook(f"collab-{nickname}.ipynb", *chat_cells("collab", nickname))
    ada_context = new_context()
    ada_frames = returning_visitor(ada_context)
    ada = open_notebook(ada_context, lab, name)
    ada_root = joined(ada)
    expect(ada_root).to_have_attribute("data-transport", "websocket")

    bob_context = new_context()
    bob_frames = returning_visitor(bob_context)
    bob_context.add_init_script(BLOCK_DIRECT)
    bob = open_without_running(bob_context, lab, name, f"{Path(name).stem}-bob")
    bob_root = joined(bob)
    expect(bob_root).to_have_attribute("data-transport", "route")

    # Two people: ada (her view and her kernel, one presence key) and bob under the
    # anonymous name Jupyter shows for him.
    for page in (ada, bob):
        expect(online(page).locator("li")).to_have_count(2)
        expect(online(page).locator(f"li[data-nickname='{nickname}']")).to_have_count(1)
    bob_name = online(bob).locator("li.tx-self").get_attribute("data-nickname")
    assert bob_name and bob_name.startswith("Anonymous "), bob_name

    # Each is shown as JupyterLab shows them: bob by his anonymous name, ada (alone with her
    # notebook until bob came) by her own nickname; each in the colour JupyterLab picked for
    # them, which in JupyterLab is its theme's colour, not the standalone page's fallback.
    ada_look, bob_look = jupyterlab_identity(ada), jupyterlab_identity(bob)
    assert bob_look["display_name"] == bob_name
    for page in (ada, bob):
        for key, shown, look in ((bob_name, bob_name, bob_look), (nickname, nickname, ada_look)):
            row = online(page).locator(f"li[data-nickname='{key}']")
            expect(row.locator(".tx-name")).to_have_text(shown)
            expect(row.locator(".tx-avatar")).to_have_attribute("data-colour", look["color"])
    painted, jupyterlab = (
        online(ada)
        .locator(f"li[data-nickname='{bob_name}'] .tx-avatar")
        .evaluate(RESOLVED, bob_look["color"])
    )
    assert painted == jupyterlab, (painted, jupyterlab)
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    for who, page in (("ada", ada), ("bob", bob)):
        shot = ARTIFACTS / "screenshots" / f"collab-{who}-online.png"
        online(page).screenshot(path=str(shot))
        print(f"screenshot: {shot}")

    # The kernel gave neither browser its shared token: each chats with a token of its own.
    shared = lab.talkex_server().token
    assert shared
    for frames in (ada_frames, bob_frames):
        assert holds(frames, '"server_url"'), "no config message heard: the check proves nothing"
        assert not holds(frames, shared)

    say(bob, "bob here, through Jupyter")
    for root in (ada_root, bob_root):
        group = root.locator(f".tx-group[data-author='{bob_name}']")
        expect(group).to_contain_text("bob here, through Jupyter")
    say(ada, "ada here, direct")
    expect(bob_root.locator(f".tx-group[data-author='{nickname}']")).to_contain_text(
        "ada here, direct"
    )
    assert kernel_messages(lab, name, last="ada here, direct")[-2:] == [
        (bob_name, "bob here, through Jupyter"),
        (nickname, "ada here, direct"),
    ]

    # The kernel runs a long cell: bob's view, on the route, neither waits for it nor
    # stalls; the relay would.
    client = kernel_client(lab, name)
    try:
        sleeping = client.execute("import time; time.sleep(60)")  # interrupted below
        wait_busy(client, sleeping)
        say(bob, "bob types while it sleeps")
        expect(ada_root.locator(".tx-messages")).to_contain_text("bob types while it sleeps")
        say(ada, "ada answers while it sleeps")
        expect(bob_root.locator(".tx-messages")).to_contain_text("ada answers while it sleeps")
        expect(bob_root).to_have_attribute("data-transport", "route")
        lab.api("POST", f"/api/kernels/{lab.kernel_id(name)}/interrupt")
    finally:
        client.stop_channels()


def test_notebook_7_uses_the_route_too(notebooks: Lab, new_context: Any) -> None:
    """Alone with a notebook in Notebook 7, direct port blocked: the route, under one's own
    nickname (not an anonymous name)."""
    lab = notebooks
    nickname = f"dora-{secrets.token_hex(3)}"
    name = lab.write_notebook(f"nb7-{nickname}.ipynb", *chat_cells("nb7", nickname))
    context = new_context()
    context.add_init_script(BLOCK_DIRECT)
    page = open_notebook(context, lab, name, app="notebook")
    root = joined(page)
    expect(root).to_have_attribute("data-transport", "route")
    expect(online(page).locator(f"li.tx-self[data-nickname='{nickname}']")).to_have_count(1)
    say(page, "from notebook 7")
    expect(root.locator(f".tx-group[data-author='{nickname}']")).to_contain_text("from notebook 7")


def test_without_the_extension_the_old_routes_still_work(notebooks: Lab, new_context: Any) -> None:
    """A page whose Jupyter has no Talkex extension (``talkex/`` answers 404): the kernel's
    config as before, and with the direct port blocked the comm relay."""
    lab = notebooks
    nickname = f"erin-{secrets.token_hex(3)}"
    name = lab.write_notebook(f"noext-{nickname}.ipynb", *chat_cells("noext", nickname))
    context = new_context()
    context.add_init_script(BLOCK_DIRECT)
    context.route("**/talkex/**", lambda route: route.fulfill(status=404, body="{}"))
    page = open_notebook(context, lab, name)
    root = joined(page)
    expect(root).to_have_attribute("data-transport", "relay")
    expect(online(page).locator(f"li.tx-self[data-nickname='{nickname}']")).to_have_count(1)
    say(page, "through the kernel")
    expect(root.locator(f".tx-group[data-author='{nickname}']")).to_contain_text(
        "through the kernel"
    )
