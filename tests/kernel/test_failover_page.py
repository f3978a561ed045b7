"""Failover seen from a browser: a Talkex page (phoenix.js in Chromium) on the server a kernel
hosts keeps the room when that kernel is killed and another takes over on the same port: it
reconnects by itself, shows every message once, and presence converges."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from playwright.sync_api import expect

from ..browser.pages import RECONNECT_TIMEOUT, bodies, join, person, presence_list, send
from ..helpers import room_history
from ..jupyter_dirs import JupyterDirs
from ..notebook.threaded import wait_until
from .conftest import Kernel
from .test_failover import TAKEOVER_TIMEOUT
from .test_kernels import open_room, read_runtime


def test_a_page_keeps_the_room_when_its_host_kernel_is_killed(
    start_kernel: Callable[..., Kernel],
    jupyter_dirs: JupyterDirs,
    new_context: Callable[..., Any],
) -> None:
    a, b = start_kernel(), start_kernel()
    url = open_room(a, "ada")
    assert open_room(b, "bob") == url
    host = read_runtime(jupyter_dirs)
    server = SimpleNamespace(port=int(url.rstrip("/").rsplit(":", 1)[1]))
    page = join(new_context(), server, host["token"], "page")  # type: ignore[arg-type]
    a.value("w.send('from ada')")
    send(page, "from the page")
    expect(page.locator(".tx-msg .tx-body").get_by_text("from ada")).to_be_visible()
    expect(person(page, "ada")).to_be_visible()

    os.kill(a.pid, signal.SIGKILL)
    wait_until(lambda: read_runtime(jupyter_dirs)["pid"] == b.pid, TAKEOVER_TIMEOUT, "B took over")
    assert read_runtime(jupyter_dirs)["url"] == url

    b.value("w.send('bob after the takeover')")
    expect(page.locator(".tx-msg .tx-body").get_by_text("bob after the takeover")).to_be_visible(
        timeout=RECONNECT_TIMEOUT
    )
    expect(person(page, "ada")).to_have_count(0, timeout=RECONNECT_TIMEOUT)
    expect(presence_list(page).locator("li")).to_have_count(2)  # bob and the page, once each
    send(page, "the page after the takeover")
    wait_until(
        lambda: "the page after the takeover" in [m["body"] for m in b.value("w.messages")],
        what="the page's message in B",
    )

    history = [m["body"] for m in room_history(server.port, host["token"], "lobby")]
    assert sorted(history) == sorted(set(history))
    expect(page.locator(".tx-msg .tx-body")).to_have_count(len(history))
    assert bodies(page) == history
