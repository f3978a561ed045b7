"""The Tornado shell: WebSocket endpoint, pages, JSON API, health check, and server lifecycle.

Handlers stay thin: they authenticate, then hand frames to a :class:`~.service.Session`. All
state lives in the injected :class:`~.service.ChatService`, so several apps (tests, an embedded
server in a kernel) can run in one process without sharing anything.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket
from tornado.ioloop import PeriodicCallback
from tornado.iostream import IOStream

from talkex_widget.backends import history, pubsub
from talkex_widget.core.auth import Auth, Identity
from talkex_widget.core.limits import CloseCode, Limits
from talkex_widget.core.rooms import RoomError, RoomRules
from talkex_widget.core.version import __version__
from talkex_widget.server.framing import Broadcast, text_frame
from talkex_widget.server.service import ChatService, Session

__all__ = ["ServerConfig", "TalkexServer", "is_loopback", "make_app"]


log = logging.getLogger("talkex.server")

STATIC_DIR = Path(__file__).parents[1] / "static"


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
    limits: Limits = field(default_factory=Limits)
    secret: str | None = None
    """With a secret, sockets need signed tokens that bind the nickname (``talkex token``)."""
    node_name: str | None = None
    """This process's name among the servers sharing a pubsub (default: hostname:port)."""
    node_timeout: float = 30.0

    def check(self) -> None:
        """Refuse configurations that would expose an unauthenticated chat to the network."""
        if not self.token and not self.secret and not is_loopback(self.host):
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


class Gate:
    """Connection counts per nickname and per address, shared by all socket handlers."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.by_nickname: dict[str, int] = {}
        self.by_ip: dict[str, int] = {}

    def refusal(self, nickname: str, ip: str) -> str | None:
        per_nick = self.limits.max_connections_per_nickname
        per_ip = self.limits.max_connections_per_ip
        if per_nick and self.by_nickname.get(nickname, 0) >= per_nick:
            return f"too many connections for {nickname!r} (limit {per_nick})"
        if per_ip and self.by_ip.get(ip, 0) >= per_ip:
            return f"too many connections from this address (limit {per_ip})"
        return None

    def enter(self, nickname: str, ip: str) -> None:
        self.by_nickname[nickname] = self.by_nickname.get(nickname, 0) + 1
        self.by_ip[ip] = self.by_ip.get(ip, 0) + 1

    def leave(self, nickname: str, ip: str) -> None:
        for counts, key in ((self.by_nickname, nickname), (self.by_ip, ip)):
            counts[key] -= 1
            if not counts[key]:
                del counts[key]


class BaseHandler(tornado.web.RequestHandler):
    def initialize(self, service: ChatService, auth: Auth, gate: Gate) -> None:
        self.service = service
        self.auth = auth

    def identity(self) -> Identity | None:
        return _identify(self, self.auth)

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")

    def check_request_origin(self) -> bool:
        return self.auth.origin_allowed(self.request.headers.get("Origin"), self.request.host)

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
        if not self.check_request_origin() or self.identity() is None:
            self.set_status(403)
            self.finish(_FORBIDDEN_PAGE)
            return
        if given is not None and not self.auth.open:
            # Keep the token in a cookie, Jupyter style, and drop it from the address bar.
            self.set_cookie(
                self.auth.cookie_name(self.request.host),
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
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'",
        )
        self.set_header("X-Frame-Options", "DENY")
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


class OriginsHandler(BaseHandler):
    """``POST /api/origins {"origin": ...}``: a token holder vouches for a browser origin.

    A notebook widget's page lives on the Jupyter server's origin, which this server cannot
    know; the kernel, which holds the token, tells it (the widget's view reports
    ``location.origin`` over the kernel's authenticated comm).
    """

    def post(self) -> None:
        # The token itself, never the cookie: a cookie would let any page vouch for itself.
        header = self.request.headers.get("Authorization", "")
        given = (
            header[6:] if header.startswith("token ") else self.get_query_argument("token", None)
        )
        if given is None or self.auth.identify(given) is None:
            raise tornado.web.HTTPError(403, "missing or wrong token")
        try:
            origin = orjson.loads(self.request.body).get("origin")
            if not isinstance(origin, str):
                raise ValueError("origin must be a string")
            self.auth.allow(origin)
        except (ValueError, AttributeError) as exc:
            raise tornado.web.HTTPError(400, str(exc)) from None
        self.write_json({"allowed": sorted(self.auth.allow_origins)})


class MessagesHandler(BaseHandler):
    """``GET /api/rooms/<room>/messages?before_id=&limit=``: scroll-back for scripts."""

    async def get(self, room: str) -> None:
        if not self.check_request_origin():
            raise tornado.web.HTTPError(403, "origin not allowed")
        if self.identity() is None:
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


class _Protocol(tornado.websocket.WebSocketProtocol13):
    """Tornado drops a connection whose text frame is not UTF-8 without a word; RFC 6455
    has a close code for exactly that (1007), which tells the client what it did wrong."""

    def _handle_message(self, opcode: int, data: bytes) -> asyncio.Future[None] | None:
        if opcode == 0x1 and not self._frame_compressed:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self.close(CloseCode.INVALID_DATA, "text frame is not valid UTF-8")
                return None
        return super()._handle_message(opcode, data)


class SocketHandler(tornado.websocket.WebSocketHandler):
    """``/socket/websocket``: the Phoenix V2 endpoint. Implements the service's ``Peer``."""

    def initialize(self, service: ChatService, auth: Auth, gate: Gate) -> None:
        self.service = service
        self.auth = auth
        self.gate = gate
        self.entered = False
        self.session: Session | None = None
        self.id = secrets.token_hex(8)
        self.nickname = ""
        self.last_seen = time.monotonic()

    async def get(self, *args: Any, **kwargs: Any) -> None:
        vsn = self.get_query_argument("vsn", "")
        if not vsn.startswith("2."):
            self._refuse(f"unsupported protocol version {vsn or '(none)'}: this server speaks 2.x")
            return
        identity = _identify(self, self.auth)
        if identity is None:
            self._refuse("missing, wrong or expired token")
            return
        if self.auth.secret is not None and identity.nickname is None:
            self._refuse("this server needs a signed token that names you (talkex token NICKNAME)")
            return
        try:
            self.nickname = self.service.rules.nickname(identity.nickname or self._raw_nickname())
        except RoomError as exc:
            self._refuse(exc.reason)
            return
        refusal = self.gate.refusal(self.nickname, self.request.remote_ip or "")
        if refusal is not None:
            self.set_status(429)
            self.finish(orjson.dumps({"error": refusal}))
            return
        await super().get(*args, **kwargs)

    def _raw_nickname(self) -> str | None:
        """The nickname exactly as sent: Tornado's argument helpers quietly turn control
        characters into spaces, which would let a hostile name through in disguise."""
        values = self.request.query_arguments.get("nickname")
        if not values:
            return None
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise RoomError("nickname is not valid UTF-8") from None

    def _refuse(self, reason: str) -> None:
        log.info("refused socket from %s: %s", self.request.remote_ip, reason)
        self.set_status(403)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": reason}))

    def get_websocket_protocol(self) -> tornado.websocket.WebSocketProtocol | None:
        protocol = super().get_websocket_protocol()
        if isinstance(protocol, tornado.websocket.WebSocketProtocol13):
            return _Protocol(self, False, protocol.params)
        return protocol

    def check_origin(self, origin: str) -> bool:
        return self.auth.origin_allowed(origin, self.request.host)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.gate.enter(self.nickname, self.request.remote_ip or "")
        self.entered = True
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
        if self.entered:
            self.entered = False
            self.gate.leave(self.nickname, self.request.remote_ip or "")
        # At shutdown the server has closed the session already, and its loop may be ending:
        # spawning a no-op close then would leave a task that never runs.
        if self.session is not None and not self.session.closed:
            self.service.spawn(self.session.close())

    def send(self, text: str) -> None:
        conn = self.ws_connection
        if conn is None or conn.is_closing():
            return
        stream = getattr(conn, "stream", None)
        pending = getattr(stream, "_write_buffer", None)  # Tornado keeps no public count
        backlog = len(pending) if pending is not None else 0
        if backlog > self.service.limits.max_send_buffer_bytes:
            # A client that stopped reading: drop it rather than buffer without bound.
            log.warning("dropping %s (%s): %d bytes unread", self.id, self.nickname, backlog)
            self.close(CloseCode.POLICY, "not reading: too far behind")
            if stream is not None:
                stream.close()
            return
        # TLS, permessage-deflate, or a Tornado whose internals moved: Tornado's own path.
        if (
            pending is None
            or type(stream) is not IOStream
            or not isinstance(conn, tornado.websocket.WebSocketProtocol13)
            or conn._compressor is not None
        ):
            self.write_message(text).add_done_callback(_retrieve)
            return
        frame = text.frame if type(text) is Broadcast else text_frame(text.encode())
        self.write_frame(stream, frame, backlog)

    @staticmethod
    def write_frame(stream: IOStream, frame: bytes, backlog: int) -> None:
        """Write a whole WebSocket frame: straight to the socket when nothing is queued.

        With an empty buffer everything written before (by us or by Tornado: pings, close)
        is already with the kernel, so a direct ``send`` keeps the order, and costs no
        future, task or copy. Whatever the kernel does not take, and every frame while
        something is queued, goes behind the queue through Tornado's buffered write, where
        the slow-consumer check in :meth:`send` sees it.
        """
        rest: bytes | memoryview = frame
        if not backlog:
            try:
                sent = stream.socket.send(frame)
            except OSError:  # EAGAIN, or a dead peer that the buffered write will close
                sent = 0
            if sent == len(frame):
                return
            rest = memoryview(frame)[sent:]
        stream.write(rest)  # not closed: send() checked; Tornado retrieves the future's error

    def close_peer(self, code: int, reason: str) -> None:
        self.close(code, reason)


def _identify(handler: tornado.web.RequestHandler, auth: Auth) -> Identity | None:
    """Token from the query string first (start-up URL, scripts, widget), else the cookie."""
    given = handler.get_query_argument("token", None)
    if given is None:
        given = handler.get_cookie(auth.cookie_name(handler.request.host))
    return auth.identify(given)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a peer that went away mid-write is not an error worth logging


def make_app(service: ChatService, config: ServerConfig) -> tornado.web.Application:
    auth = Auth(config.token, config.allow_origins, config.secret)
    deps = {"service": service, "auth": auth, "gate": Gate(config.limits)}
    return tornado.web.Application(
        [
            (r"/", PageHandler, deps),
            (r"/rooms/([^/]+)", PageHandler, deps),
            (r"/healthz", HealthHandler, deps),
            (r"/api/rooms/([^/]+)/messages", MessagesHandler, deps),
            (r"/api/origins", OriginsHandler, deps),
            (r"/socket/websocket", SocketHandler, deps),
        ],
        static_path=str(STATIC_DIR),
        websocket_max_message_size=config.limits.max_frame_bytes,
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
            limits=config.limits,
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
        self.http = tornado.httpserver.HTTPServer(
            self.app,
            xheaders=False,
            idle_connection_timeout=self.config.limits.handshake_timeout,
            body_timeout=self.config.limits.handshake_timeout,
        )
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
                session.peer.close(CloseCode.GOING_AWAY, "server shutting down")
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
