"""The kernel's side of a widget's views: the token handshake and the comm relay.

The token is never a trait: traits are saved with the notebook. Each view asks for it with a
``{kind: "hello", view}`` custom message and the kernel answers ``{kind: "config", view, token,
server_url[, host]}``; the answer lives only in the browser's memory.

No view gets the shared token when the views can chat as their viewers instead
(:func:`~.viewer.viewers_vouched`: the kernel's Jupyter server has the Talkex extension and
the server takes its viewer tokens). The rule is per kernel, not per view: a comm message
reaches every browser connected to the kernel, so a token sent to the owner's view would sit
in each collaborator's browser too. A view that then gets no identity from the extension
(a front end without it) relays through the kernel, which adds its own token
(:func:`~.relay.relay_target`). ``host: "notebook"`` says a
kernel hosts the server: should it stay away, the view says
:data:`~.takeover.GONE_MESSAGE` rather than spin. Every other custom message
belongs to the relay (:mod:`.relay`), which carries Phoenix frames for views that cannot reach
the server.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient

from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import LoopThread, manager
from talkex_widget.notebook.relay import RelayHub
from talkex_widget.notebook.viewer import viewers_vouched

__all__ = ["CommSend", "Views"]

log = logging.getLogger("talkex.widget")

CommSend = Callable[[dict[str, Any], Any], None]
"""The widget's own custom-message send: ``send(content, buffers)``."""


class Views:
    """Every view of one widget (one per output showing it), by the id each view chose."""

    def __init__(
        self, loop: LoopThread, comm_send: CommSend, server: Callable[[], ServerInfo]
    ) -> None:
        self._loop = loop
        self._comm_send = comm_send
        self._server = server
        self._lock = threading.RLock()
        self._ids: set[str] = set()
        self.relays = RelayHub(loop, self.post, server)

    def post(self, content: dict[str, Any], buffers: Any = None) -> None:
        """Send a custom message to the views, from any thread.

        Safe from the background loop: ipykernel 7 hands IOPub messages from any thread to its
        IOPub thread (a per-thread pipe, as for ``print`` in a thread), so relayed frames reach
        the browser while a cell keeps the kernel's main thread busy. Marshalling onto the
        kernel's loop instead would hold them until the cell ends. The lock keeps our own
        threads from interleaving inside the session's message construction.
        """
        with self._lock:
            self._comm_send(content, buffers)

    def handle(self, content: Any) -> None:
        """A custom message from a view (kernel thread): a hello, or relay traffic."""
        if not isinstance(content, dict):
            return
        if content.get("kind") == "hello" and isinstance(content.get("view"), str):
            self._ids.add(content["view"])
            origin = content.get("origin")
            if isinstance(origin, str) and origin and not self._server().hub:
                self._loop.submit(self._vouch_then_config(content["view"], origin))
            else:
                self._send_config(content["view"])
        else:
            self.relays.handle(content)

    def moved(self) -> None:
        """The server changed: tell every view where it is now; they restart their sessions."""
        self.relays.close_all()
        for view in list(self._ids):
            self._send_config(view)

    def close(self) -> None:
        self.relays.close_all()

    async def _vouch_then_config(self, view: str, origin: str) -> None:
        """Tell the server the view's page origin may open sockets, then hand over the config.

        The server refuses browser origins it does not know (cross-site WebSocket hijacking);
        the Jupyter page's origin is known only to the view, which reports it over the
        kernel's authenticated comm. Should the server refuse, the view still works through
        the comm relay.
        """
        info = self._server()
        manager().origins.add(origin)  # a server taken over starts knowing it (.takeover)
        try:
            await AsyncHTTPClient().fetch(
                info.url + "api/origins",
                method="POST",
                body=json.dumps({"origin": origin}),
                headers={"Authorization": f"token {info.token or ''}"},
                request_timeout=5,
            )
        except Exception as exc:
            log.info("server did not accept the origin %s: %s", origin, exc)
        self._send_config(view)

    def _send_config(self, view: str) -> None:
        info = self._server()
        if info.hub:  # the viewer signs in to the hub: the kernel owner's token stays here
            self.post({"kind": "config", "view": view, "server_url": info.url, "hub": True})
        else:
            config = {"kind": "config", "view": view, "server_url": info.url}
            if not viewers_vouched(info.view_key):
                config["token"] = info.token
            if info.pid is not None:  # a kernel hosts it: it may stop, and another take over
                config["host"] = "notebook"
            self.post(config)
