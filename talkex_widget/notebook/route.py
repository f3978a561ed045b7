"""``<base_url>talkex/``: the chat through Jupyter's own server, port and login.

A browser can always reach the Jupyter server that serves its notebook, already logged in; it
often cannot reach the embedded Talkex server's loopback port (a remote or proxied Jupyter),
and the comm relay stalls behind a busy kernel. These handlers forward to the Talkex server this
user's kernels use, found only through the 0600 runtime file: the request never names the
target, so the route cannot be turned towards another host.

Everything here is behind Jupyter's authentication and authorization (resource ``kernels``:
whoever may use this server's kernels may use their chat). Who is speaking is decided here,
never by the browser: the upstream socket carries a credential minted for Jupyter's
``current_user`` (see :mod:`.viewer`), whatever ``token`` or ``nickname`` the page sent.

- ``GET api/viewer?nickname=N&color=C``: who you are in the chat, with a credential for the
  direct route (``C``: the colour JupyterLab shows for you, see :mod:`.viewer`).
- ``socket/websocket``: the Phoenix socket, forwarded frame by frame.
- ``GET healthz`` and ``GET api/...``: forwarded (the message API, attachments); never the
  chat's own pages, which do not belong on Jupyter's origin.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import tornado.websocket
from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from talkex_widget.core.auth import issue_view_token
from talkex_widget.notebook.discovery import ServerInfo, read_runtime_file
from talkex_widget.notebook.viewer import Viewer, Viewers

__all__ = ["VIEW_TOKEN_TTL", "ForwardHandler", "RouteSocket", "ViewerHandler", "credential"]

log = logging.getLogger("talkex.route")

VIEW_TOKEN_TTL = 600.0
"""Seconds a viewer token given to a page lasts: long enough for a view to connect and
reconnect a while, short enough that a copied one is soon useless. An open socket stays."""
CONNECT_TIMEOUT = 10.0
MAX_MESSAGE = 16 * 1024 * 1024
"""Largest frame taken from the Talkex server (which enforces its own, lower limit)."""
FORWARDED_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Content-Disposition",
    "X-Content-Type-Options",
)
"""What a forwarded answer keeps; Jupyter adds its own API policy (``default-src 'none'``)."""
RESOURCE = "kernels"
"""What Jupyter's authorizer is asked about: the chat is the chat of this server's kernels."""
_CREDENTIALS = ("token", "nickname", "color")
"""Query parameters the route decides itself (the colour goes into the credential)."""


def credential(server: ServerInfo, viewer: Viewer) -> str:
    """A viewer token naming ``viewer`` on ``server``, with how they are shown (409 if the
    server takes none)."""
    if server.view_key is None:
        raise web.HTTPError(409, "this Talkex server takes no viewer identities: restart it")
    return issue_view_token(
        server.view_key, viewer.nickname, VIEW_TOKEN_TTL, None, viewer.profile()
    )


class _RouteMixin:
    """What every route handler needs: the server, the viewer, and Jupyter's authorizer."""

    settings: dict[str, Any]
    current_user: Any
    authorizer: Any

    @property
    def viewers(self) -> Viewers:
        return self.settings["talkex_viewers"]

    def local_server(self) -> ServerInfo:
        """The runtime file's server, or a 404 saying there is none (yet)."""
        server = read_runtime_file()
        if server is None:
            raise web.HTTPError(404, "no Talkex server runs for this user's kernels")
        return server

    async def admit(self, action: str) -> Viewer:
        """Jupyter's user, authorized for ``action`` on the kernels, as a chat viewer."""
        user = self.current_user
        if not user:
            raise web.HTTPError(403, "not logged in to Jupyter")
        allowed = await ensure_async(self.authorizer.is_authorized(self, user, action, RESOURCE))
        if not allowed:
            raise web.HTTPError(403, f"not allowed to {action} {RESOURCE}")
        wanted = self.get_query_argument("nickname", None)  # type: ignore[attr-defined]
        colour = self.get_query_argument("color", None)  # type: ignore[attr-defined]
        return self.viewers.viewer(user, wanted, colour)

    def upstream_query(self, server: ServerInfo, viewer: Viewer) -> str:
        """The page's query with the viewer's own credential instead of any it sent."""
        pairs = [(k, v) for k, v in parse_qsl(self.request.query) if k not in _CREDENTIALS]  # type: ignore[attr-defined]
        pairs.append(("token", credential(server, viewer)))
        return urlencode(pairs)


class ViewerHandler(_RouteMixin, APIHandler):
    """``GET <base_url>talkex/api/viewer?nickname=N``: who this page's user is in the chat,
    viewing a widget whose nickname is ``N``.

    The answer carries a short-lived viewer token for the direct route and the relay; it lives
    only in the page's memory. The kernels' shared token never reaches a page this way.
    """

    async def get(self) -> None:
        viewer = await self.admit("read")
        server = self.local_server()
        body = {
            **viewer.to_json(),
            "server_url": server.url,
            "token": credential(server, viewer),
            "expires_in": VIEW_TOKEN_TTL,
        }
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(orjson.dumps(body))


class ForwardHandler(_RouteMixin, APIHandler):
    """``GET <base_url>talkex/<path>``: the Talkex server's own HTTP routes, as the viewer."""

    async def get(self, path: str) -> None:
        viewer = await self.admit("read")
        server = self.local_server()
        url = f"{server.url}{path}?{self.upstream_query(server, viewer)}"
        try:
            response = await AsyncHTTPClient().fetch(url, raise_error=False, request_timeout=30)
        except OSError as exc:
            raise web.HTTPError(502, f"the Talkex server did not answer: {exc}") from None
        self.set_status(response.code)
        for name in FORWARDED_HEADERS:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        self.finish(response.body or b"")


class RouteSocket(_RouteMixin, WebSocketMixin, tornado.websocket.WebSocketHandler, JupyterHandler):
    """``<base_url>talkex/socket/websocket``: the Phoenix socket, through Jupyter.

    The upstream socket opens before the page's is accepted, so a refusal (no server, a
    server that says no) reaches the page as an HTTP error it can fall back from. Frames pass
    unchanged both ways; either side closing closes the other with the same code.
    """

    upstream: tornado.websocket.WebSocketClientConnection | None = None
    pump: asyncio.Task[None] | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        viewer = await self.admit("execute")
        server = self.local_server()
        base = server.url.replace("http", "ws", 1)
        url = f"{base}socket/websocket?{self.upstream_query(server, viewer)}"
        request = HTTPRequest(url, connect_timeout=CONNECT_TIMEOUT, request_timeout=CONNECT_TIMEOUT)
        try:
            self.upstream = await tornado.websocket.websocket_connect(
                request, max_message_size=MAX_MESSAGE
            )
        except HTTPClientError as exc:
            body = exc.response.body if exc.response is not None else b""
            log.info("the Talkex server refused %s: %s %s", viewer.username, exc.code, body[:200])
            self.set_status(exc.code)
            self.set_header("Content-Type", "application/json")
            self.finish(body or orjson.dumps({"error": str(exc)}))
            return
        except OSError as exc:
            raise web.HTTPError(502, f"the Talkex server did not answer: {exc}") from None
        await super().get(*args, **kwargs)
        if self.ws_connection is None:  # the page's upgrade failed: let the server go too
            self.upstream.close()

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        self.set_nodelay(True)
        self.pump = asyncio.ensure_future(self._from_server())

    async def _from_server(self) -> None:
        upstream = self.upstream
        assert upstream is not None
        while True:
            message = await upstream.read_message()
            if message is None:
                break
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except tornado.websocket.WebSocketClosedError:
                upstream.close()
                return
        self.close(upstream.close_code or 1011, upstream.close_reason or "")

    async def on_message(self, message: str | bytes) -> None:
        if self.upstream is not None:
            try:
                await self.upstream.write_message(message, binary=isinstance(message, bytes))
            except tornado.websocket.WebSocketClosedError:
                self.close(1011, "the Talkex server went away")

    def on_close(self) -> None:
        if self.upstream is not None:
            self.upstream.close(self.close_code or 1000, self.close_reason or "")
        super().on_close()
