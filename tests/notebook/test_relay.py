"""The comm relay: which URLs a view may reach through the kernel, and frames both ways."""

from __future__ import annotations

import json
from collections.abc import Callable

from talkex_widget import ChatWidget
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import ServerThread
from talkex_widget.notebook.relay import relay_target

from .conftest import STANDALONE_TOKEN as TOKEN
from .conftest import ViewSpy
from .threaded import wait_until


def test_relay_target_accepts_only_the_widgets_server() -> None:
    server = ServerInfo("http://127.0.0.1:4000/")
    ok = "ws://127.0.0.1:4000/socket/websocket?vsn=2.0.0&token=t&nickname=ada"
    assert relay_target(ok, server) == ok
    assert relay_target(ok.replace("127.0.0.1", "localhost"), server) is None
    assert relay_target(ok.replace("4000", "4001"), server) is None
    assert relay_target(ok.replace("ws:", "wss:"), server) is None
    assert relay_target(ok.replace("/socket/websocket", "/admin"), server) is None
    assert relay_target("ws://127.0.0.1:notaport/", server) is None
    assert relay_target(None, server) is None
    prefixed = ServerInfo("https://example.org:443/chat/")
    assert (
        relay_target("wss://EXAMPLE.org/chat/socket/websocket?vsn=2.0.0", prefixed)
        == "wss://example.org:443/chat/socket/websocket?vsn=2.0.0"
    )


def test_a_view_without_a_token_relays_with_the_kernels() -> None:
    """The kernel keeps its token from views that chat as their viewers (notebook/views.py);
    should one of them relay after all, the kernel adds it. A view's own token stays."""
    server = ServerInfo("http://127.0.0.1:4000/", "kernel token")
    base = "ws://127.0.0.1:4000/socket/websocket"
    assert relay_target(f"{base}?vsn=2.0.0&nickname=ada", server) == (
        f"{base}?vsn=2.0.0&nickname=ada&token=kernel+token"
    )
    assert relay_target(base, server) == f"{base}?token=kernel+token"
    assert relay_target(f"{base}?token=tv1.x.y", server) == f"{base}?token=tv1.x.y"
    assert relay_target(f"{base}?vsn=2.0.0", ServerInfo("http://127.0.0.1:4000/")) == (
        f"{base}?vsn=2.0.0"
    )


def test_relay_carries_phoenix_frames(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,
) -> None:
    widget = make_widget(room="lobby", nickname="ada")
    views = ViewSpy(widget)
    url = f"ws://127.0.0.1:{standalone.port}/socket/websocket?token={TOKEN}&nickname=relayed&vsn=2.0.0"

    views.say({"kind": "relay_open", "view": "v1", "conn": 1, "url": url})
    views.wait(lambda m: m["kind"] == "relay_opened" and m.get("conn") == 1)
    join = ["1", "1", "room:lobby", "phx_join", {}]
    views.say({"kind": "relay_send", "view": "v1", "conn": 1, "data": json.dumps(join)})
    reply = views.wait(lambda m: m["kind"] == "relay_message" and '"phx_reply"' in m["data"])
    assert json.loads(reply["data"])[4]["status"] == "ok"
    wait_until(lambda: "relayed" in widget.presence)
    widget.send("to everyone")
    views.wait(lambda m: m["kind"] == "relay_message" and "to everyone" in m["data"])

    # a URL that is not the widget's server is refused, and nothing is opened
    views.say({"kind": "relay_open", "view": "v2", "url": "ws://127.0.0.1:9/socket/websocket"})
    closed = views.wait(lambda m: m["kind"] == "relay_closed" and m["view"] == "v2")
    assert closed["code"] == 1008

    # closed by the view: the server sees the socket go (presence leaves)
    views.say({"kind": "relay_close", "view": "v1", "conn": 1, "code": 1000, "reason": ""})
    wait_until(lambda: "relayed" not in widget.presence)
    assert widget._views.relays.count() == 0

    # a server that goes away is reported to the view
    views.say({"kind": "relay_open", "view": "v3", "url": url})
    views.wait(lambda m: m["kind"] == "relay_opened" and m["view"] == "v3")
    standalone.stop()
    closed = views.wait(lambda m: m["kind"] == "relay_closed" and m["view"] == "v3")
    assert closed["code"] == 1001
