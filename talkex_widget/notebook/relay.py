"""The kernel end of the comm relay: Phoenix frames between a widget view and the server.

A view whose direct WebSocket cannot open (the browser has no route to the server, a proxy
blocks it) asks the kernel to open the socket instead and passes frames over the widget's comm:

    view -> kernel  {kind: "relay_open", view, conn, url}
                    {kind: "relay_send", view, conn, data}
                    {kind: "relay_close", view, conn, code, reason}
    kernel -> view  {kind: "relay_opened", view, conn}
                    {kind: "relay_message", view, conn, data}
                    {kind: "relay_closed", view, conn, code, reason}

``conn`` names one connection of a view (echoed back when the view sent one). The sockets live
on the background loop, never on the kernel's: frames from the server reach the view while a
cell runs, because comm messages sent from another thread go out through ipykernel's IOPub
thread (the same path ``print`` from a thread takes). Frames from the view wait for the kernel:
comm messages are handled between cells.

The kernel only connects to the widget's own server: the view names the URL, but a URL with
another scheme, host, port or path is refused, so a view cannot make the kernel open arbitrary
connections.

Log lines never hold a view's URL or a server's refusal as they came: the URL's query carries
the token, and a kernel's log goes to stderr, which ends up in cell outputs that are saved with
the notebook. They name the view, the host and port, and a reason with every token cut out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import LoopThread

__all__ = ["CLOSE_ABNORMAL", "CLOSE_POLICY", "RelayHub", "relay_target"]

log = logging.getLogger("talkex.relay")

CLOSE_ABNORMAL = 1006
"""What a browser reports when a WebSocket could not open or broke without a close frame."""
CLOSE_POLICY = 1008
CONNECT_TIMEOUT = 10.0
MAX_MESSAGE = 16 * 1024 * 1024

Post = Callable[[dict[str, Any]], None]
Key = tuple[str, Any]


def _endpoint(scheme: str, netloc: str) -> tuple[str, str, int]:
    parts = urlsplit(f"{scheme}://{netloc}")
    secure = scheme in ("https", "wss")
    return (
        "wss" if secure else "ws",
        (parts.hostname or "").lower(),
        parts.port or (443 if secure else 80),
    )


def relay_target(url: object, server: ServerInfo) -> str | None:
    """The socket URL to open for a view's ``url``, or ``None`` if it is not ``server``'s.

    The URL is rebuilt from the server's own scheme, host and path; only the query (``vsn``,
    ``nickname``, ``token``) comes from the view. A view without a token (the kernel keeps it
    from views that can chat as their viewers, see :mod:`.views`) relays with the kernel's.
    """
    if not isinstance(url, str):
        return None
    try:
        given = urlsplit(url)
        base = urlsplit(server.url)
        if _endpoint(given.scheme, given.netloc) != _endpoint(base.scheme, base.netloc):
            return None
    except ValueError:  # a port that is not a number
        return None
    path = base.path.rstrip("/") + "/socket/websocket"
    if given.path.rstrip("/") != path:
        return None
    scheme = "wss" if base.scheme == "https" else "ws"
    query = given.query
    if server.token and not parse_qs(query).get("token"):
        query = "&".join(filter(None, [query, urlencode({"token": server.token})]))
    return urlunsplit((scheme, base.netloc, path, query, ""))


def _where(url: object) -> str:
    """``scheme://host:port`` of ``url`` for a log line: its path and query (the token) stay out."""
    if not isinstance(url, str):
        return f"a {type(url).__name__}, not a URL"
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "an unreadable URL"
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def _scrub(text: str, url: str, server: ServerInfo) -> str:
    """``text`` with the view's token (from ``url``) and the server's token cut out.

    A server or a library may echo what it was sent in an error; the reason goes to a log line
    and back to the view, and neither may carry a token.
    """
    try:
        secrets = set(parse_qs(urlsplit(url).query).get("token", []))
    except ValueError:
        secrets = set()
    if server.token:
        secrets.add(server.token)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


class _Connection:
    """One relayed WebSocket; its methods run on the background loop."""

    def __init__(self, hub: RelayHub, key: Key, url: str) -> None:
        self.hub = hub
        self.key = key
        self.url = url
        self.ws: WebSocketClientConnection | None = None
        self.backlog: list[str] = []
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    def reply(self, kind: str, **fields: Any) -> None:
        view, conn = self.key
        message = {"kind": kind, "view": view, **fields}
        if conn is not None:
            message["conn"] = conn
        self.hub.post(message)

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        try:
            request = HTTPRequest(
                self.url, connect_timeout=CONNECT_TIMEOUT, request_timeout=CONNECT_TIMEOUT
            )
            ws = await websocket_connect(request, max_message_size=MAX_MESSAGE)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = _scrub(_reason(exc), self.url, self.hub.server())
            log.info("relay for view %s could not open: %s", self.key[0], reason)
            self.finish(CLOSE_ABNORMAL, reason[:120])
            return
        if self.closed:
            ws.close()
            return
        self.ws = ws
        self.reply("relay_opened")
        for data in self.backlog:
            self.send(data)
        self.backlog.clear()
        while True:
            frame = await ws.read_message()
            if frame is None:
                break
            self.reply("relay_message", data=frame if isinstance(frame, str) else frame.decode())
        self.finish(ws.close_code or CLOSE_ABNORMAL, ws.close_reason or "")

    def send(self, data: str) -> None:
        if self.closed:
            return
        if self.ws is None:
            self.backlog.append(data)
            return
        with contextlib.suppress(WebSocketClosedError):
            self.ws.write_message(data).add_done_callback(_retrieve)

    def close(self, code: int | None, reason: str | None) -> None:
        """Closed by the view: no ``relay_closed`` goes back, the view already knows."""
        if self.closed:
            return
        self.closed = True
        self.hub.discard(self)
        if self.ws is not None:
            self.ws.close(code or 1000, reason or "")
        elif self.task is not None:
            self.task.cancel()

    def finish(self, code: int, reason: str) -> None:
        """Closed by the server or the network: tell the view."""
        if self.closed:
            return
        self.closed = True
        self.hub.discard(self)
        self.reply("relay_closed", code=code, reason=reason)


def _reason(exc: Exception) -> str:
    """Why a socket did not open: the server's refusal (bad token...) or the network error."""
    if isinstance(exc, HTTPClientError) and exc.response is not None and exc.response.body:
        return exc.response.body.decode(errors="replace")
    return str(exc)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a socket that closed mid-write is reported by read_message


class RelayHub:
    """The relayed sockets of one widget, keyed by ``(view, conn)``.

    :meth:`handle` runs on the kernel thread (comm messages); the sockets live on ``loop``;
    ``post`` sends a comm message to the views and must be safe from the loop's thread.
    ``server`` returns the widget's current server, the only one a relay may reach.
    """

    def __init__(self, loop: LoopThread, post: Post, server: Callable[[], ServerInfo]) -> None:
        self.loop = loop
        self.post = post
        self.server = server
        self._connections: dict[Key, _Connection] = {}

    def handle(self, msg: dict[str, Any]) -> bool:
        """Act on a relay message from a view; ``False`` if it was no relay message."""
        kind = msg.get("kind")
        if kind not in ("relay_open", "relay_send", "relay_close"):
            return False
        view = msg.get("view")
        if not isinstance(view, str):
            return True
        key = (view, msg.get("conn"))
        if kind == "relay_open":
            self.loop.call_soon(self._open, key, msg.get("url"))
        elif kind == "relay_send":
            data = msg.get("data")
            if isinstance(data, str):
                self.loop.call_soon(self._send, key, data)
        else:
            self.loop.call_soon(self._close, key, msg.get("code"), msg.get("reason"))
        return True

    def discard(self, connection: _Connection) -> None:
        if self._connections.get(connection.key) is connection:
            del self._connections[connection.key]

    def _open(self, key: Key, url: object) -> None:
        self._close(key, 1000, "replaced")
        server = self.server()
        target = None if server.hub else relay_target(url, server)
        connection = _Connection(self, key, target or "")
        if server.hub:  # relayed frames would speak as the kernel's owner, not the viewer
            connection.finish(CLOSE_POLICY, "on a hub, views connect through the hub's proxy")
            return
        if target is None:
            log.warning(
                "relay refused for view %s: %s is not this widget's server", key[0], _where(url)
            )
            connection.finish(CLOSE_POLICY, "the relay only connects to this widget's server")
            return
        self._connections[key] = connection
        connection.start()

    def _send(self, key: Key, data: str) -> None:
        connection = self._connections.get(key)
        if connection is not None:
            connection.send(data)

    def _close(self, key: Key, code: Any, reason: Any) -> None:
        connection = self._connections.get(key)
        if connection is not None:
            connection.close(
                code if isinstance(code, int) else None, reason if isinstance(reason, str) else None
            )

    def close_all(self) -> None:
        """Close every relayed socket (widget closed or moved to another server)."""

        def close() -> None:
            for connection in list(self._connections.values()):
                connection.finish(1001, "widget closed")
                if connection.ws is not None:
                    connection.ws.close(1001)
                elif connection.task is not None:
                    connection.task.cancel()

        if self.loop.running:
            self.loop.call_soon(close)

    def count(self) -> int:
        """How many relayed sockets are open or opening (read on the loop)."""
        return self.loop.run(lambda: len(self._connections), 5.0)
