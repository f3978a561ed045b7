"""The Tornado shell: WebSocket endpoint, pages, JSON API, health check, and server lifecycle.

Handlers stay thin: they authenticate, then hand frames to a :class:`~.service.Session`. All
state lives in the injected :class:`~.service.ChatService`, so several apps (tests, an embedded
server in a kernel) can run in one process without sharing anything.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket
from tornado.ioloop import PeriodicCallback

from . import __version__, history, pubsub
from .rooms import RoomError, RoomRules
from .service import ChatService, Session

__all__ = ["ServerConfig", "TalkexServer", "is_loopback", "make_app"]

log = logging.getLogger("talkex.server")

STATIC_DIR = Path(__file__).parent / "static"
CLOSE_GOING_AWAY = 1001


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 4000
    token: str | None = field(default_factory=lambda: secrets.token_hex(24))
    """``None`` or empty turns authentication off (loopback hosts only)."""
    db: str = "memory://"
    pubsub: str = "memory://"
    allow_origins: tuple[str, ...] = ()
    idle_timeout: float = 60.0
    rules: RoomRules = field(default_factory=RoomRules)
    max_channels: int = 100
    node_name: str | None = None
    """This process's name among the servers sharing a pubsub (default: hostname:port)."""
    node_timeout: float = 30.0

    def check(self) -> None:
        """Refuse configurations that would expose an unauthenticated chat to the network."""
        if not self.token and not is_loopback(self.host):
            raise ValueError(
                f"refusing to serve {self.host} without a token: anyone on the network could "
                "read and post. Give --token, or bind to 127.0.0.1."
            )

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{port or self.port}/"
        return base + ("?" + urlencode({"token": self.token}) if self.token else "")


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class Auth:
    """Token checks shared by every handler: constant-time, from query param or cookie."""

    def __init__(self, token: str | None, allow_origins: tuple[str, ...]) -> None:
        self.token = token or None
        self.allow_origins = {o.rstrip("/") for o in allow_origins}

    def cookie_name(self, request: tornado.httputil.HTTPServerRequest) -> str:
        # Cookies ignore ports: name them per port so two local servers do not clash.
        port = request.host.rsplit(":", 1)[-1] if ":" in request.host else "80"
        return f"talkex-token-{port}"

    def matches(self, given: str | None) -> bool:
        if self.token is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def origin_allowed(self, origin: str | None, host: str, *, token_in_url: bool) -> bool:
        """Browsers send the cookie with cross-site WebSocket requests, so a connection that
        relies on the cookie must come from an allowed origin; a token given in the URL proves
        the page was handed the token, wherever it is served from (the notebook widget)."""
        if origin is None or token_in_url:
            return True
        origin = origin.rstrip("/")
        return urlsplit(origin).netloc == host or origin in self.allow_origins


class BaseHandler(tornado.web.RequestHandler):
    def initialize(self, service: ChatService, auth: Auth) -> None:
        self.service = service
        self.auth = auth

    def authenticated(self) -> bool:
        given = self.get_query_argument("token", None)
        if given is not None:
            return self.auth.matches(given)
        return self.auth.matches(self.get_cookie(self.auth.cookie_name(self.request)))

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.write_json({"error": reason}, status_code)


class PageHandler(BaseHandler):
    """``/`` and ``/rooms/<room>``: one HTML shell; the page bundle does the rest."""

    def get(self, room: str | None = None) -> None:
        given = self.get_query_argument("token", None)
        if not self.authenticated():
            self.set_status(403)
            self.finish(_FORBIDDEN_PAGE)
            return
        if given is not None and self.auth.token is not None:
            # Keep the token in a cookie, Jupyter style, and drop it from the address bar.
            self.set_cookie(
                self.auth.cookie_name(self.request),
                given,
                httponly=True,
                samesite="Strict",
                expires_days=30,
            )
            self.redirect(self.request.path)
            return
        if room is not None:
            try:
                self.service.rules.room_name(room)
            except RoomError as exc:
                self.set_status(404)
                room = None
                self.set_header("X-Talkex-Error", exc.reason)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            _PAGE.format(
                script=self.static_url("page.js"),
                css=self.static_url("talkex.css"),
            )
        )


class HealthHandler(BaseHandler):
    def get(self) -> None:
        healthy = self.service.pubsub.healthy
        self.write_json(
            {
                "status": "ok" if healthy else "degraded",
                "version": __version__,
                **self.service.stats(),
            }
        )


class MessagesHandler(BaseHandler):
    """``GET /api/rooms/<room>/messages?before_id=&limit=``: scroll-back for scripts."""

    async def get(self, room: str) -> None:
        if not self.authenticated():
            raise tornado.web.HTTPError(403, "missing or wrong token")
        rules = self.service.rules
        try:
            rules.room_name(room)
            query = {}
            for name in ("before_id", "limit"):
                raw = self.get_query_argument(name, None)
                if raw not in (None, ""):
                    if not raw.isdigit():
                        raise RoomError(f"{name} must be a positive integer")
                    query[name] = int(raw)
            before_id = rules.optional_int(query, "before_id", minimum=1)
            limit = rules.history_limit(query)
        except RoomError as exc:
            raise tornado.web.HTTPError(400, exc.reason) from None
        messages, more = await self.service.history.before(room, before_id, limit)
        self.write_json(
            {"room": room, "messages": [m.to_wire() for m in messages], "has_more": more}
        )


class SocketHandler(tornado.websocket.WebSocketHandler):
    """``/socket/websocket``: the Phoenix V2 endpoint. Implements the service's ``Peer``."""

    def initialize(self, service: ChatService, auth: Auth) -> None:
        self.service = service
        self.auth = auth
        self.session: Session | None = None
        self.id = secrets.token_hex(8)
        self.nickname = ""
        self.last_seen = time.monotonic()

    async def get(self, *args: Any, **kwargs: Any) -> None:
        vsn = self.get_query_argument("vsn", "")
        if not vsn.startswith("2."):
            self._refuse(f"unsupported protocol version {vsn or '(none)'}: this server speaks 2.x")
            return
        token = self.get_query_argument("token", None)
        if token is None:
            token = self.get_cookie(self.auth.cookie_name(self.request))
        if not self.auth.matches(token):
            self._refuse("missing or wrong token")
            return
        try:
            self.nickname = self.service.rules.nickname(self.get_query_argument("nickname", None))
        except RoomError as exc:
            self._refuse(exc.reason)
            return
        await super().get(*args, **kwargs)

    def _refuse(self, reason: str) -> None:
        log.info("refused socket from %s: %s", self.request.remote_ip, reason)
        self.set_status(403)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": reason}))

    def check_origin(self, origin: str) -> bool:
        token_in_url = self.get_query_argument("token", None) is not None
        return self.auth.origin_allowed(origin, self.request.host, token_in_url=token_in_url)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.session = self.service.open_session(self)
        self.set_nodelay(True)

    async def on_message(self, message: str | bytes) -> None:
        self.last_seen = time.monotonic()
        assert self.session is not None
        if isinstance(message, bytes):
            self.send(
                '[null,null,"phoenix","phx_error",{"reason":"binary frames are not '
                'supported: send JSON text frames"}]'
            )
            return
        await self.session.receive(message)

    def on_pong(self, data: bytes) -> None:
        self.last_seen = time.monotonic()

    def on_close(self) -> None:
        if self.session is not None:
            self.service.spawn(self.session.close())

    def send(self, text: str) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        future = self.write_message(text)
        future.add_done_callback(_retrieve)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a peer that went away mid-write is not an error worth logging


def make_app(service: ChatService, config: ServerConfig) -> tornado.web.Application:
    auth = Auth(config.token, config.allow_origins)
    deps = {"service": service, "auth": auth}
    return tornado.web.Application(
        [
            (r"/", PageHandler, deps),
            (r"/rooms/([^/]+)", PageHandler, deps),
            (r"/healthz", HealthHandler, deps),
            (r"/api/rooms/([^/]+)/messages", MessagesHandler, deps),
            (r"/socket/websocket", SocketHandler, deps),
        ],
        static_path=str(STATIC_DIR),
        websocket_max_message_size=64 * 1024,
    )


class TalkexServer:
    """A running server: bind, serve, and stop cleanly (sockets closed with 1001)."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        history_store: history.HistoryStore | None = None,
        bus: pubsub.PubSub | None = None,
    ) -> None:
        """Backends come from the config's URLs unless given (tests share one bus this way)."""
        config.check()
        self.config = config
        self.service = ChatService(
            history_store or history.from_url(config.db),
            bus or pubsub.from_url(config.pubsub),
            rules=config.rules,
            max_channels=config.max_channels,
            node=config.node_name,
            node_timeout=config.node_timeout,
        )
        self.app = make_app(self.service, config)
        self.http: tornado.httpserver.HTTPServer | None = None
        self.port = config.port
        self._sweeper: PeriodicCallback | None = None

    @property
    def url(self) -> str:
        return self.config.url(self.port)

    async def start(self) -> None:
        sockets = tornado.netutil.bind_sockets(self.config.port, self.config.host)
        self.port = sockets[0].getsockname()[1]
        if self.config.node_name is None:
            # Stable across restarts of the same server, so peers replace its old presences.
            self.service.tracker.node = f"{socket.gethostname()}:{self.port}"
        try:
            await self.service.start()
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        self.http = tornado.httpserver.HTTPServer(self.app, xheaders=False)
        self.http.add_sockets(sockets)
        interval = max(0.5, min(5.0, self.config.idle_timeout / 4))
        self._sweeper = PeriodicCallback(self._close_idle, interval * 1000)
        self._sweeper.start()

    def _close_idle(self) -> None:
        deadline = time.monotonic() - self.config.idle_timeout
        for session in list(self.service.sessions):
            peer = session.peer
            if isinstance(peer, SocketHandler) and peer.last_seen < deadline:
                log.info(
                    "closing %s (%s): silent for %.0f s",
                    peer.id,
                    peer.nickname,
                    self.config.idle_timeout,
                )
                peer.close(1000, "idle timeout")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        if self.http is not None:
            self.http.stop()
        for session in list(self.service.sessions):
            if isinstance(session.peer, SocketHandler):
                session.peer.close(CLOSE_GOING_AWAY, "server shutting down")
            await session.close()
        if self.http is not None:
            await self.http.close_all_connections()
        await self.service.close()


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Talkex</title>
<link rel="stylesheet" href="{css}">
</head>
<body class="talkex-page">
<div id="talkex-root"></div>
<script type="module" src="{script}"></script>
</body>
</html>
"""

_FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Talkex: token needed</title></head>
<body><h1>Token needed</h1>
<p>Open the address that <code>talkex serve</code> printed, the one ending in
<code>?token=...</code>. The token is then remembered by this browser.</p></body></html>
"""
