"""The Tornado application and the server's lifecycle: :func:`make_app` and :class:`TalkexServer`.

All state lives in the injected :class:`~.service.ChatService`, so several apps (tests, an
embedded server in a kernel) can run in one process without sharing anything. The handlers are
in :mod:`.handlers` and :mod:`.websocket`.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.ioloop import PeriodicCallback

from talkex_widget.backends import history, pubsub
from talkex_widget.core.auth import Auth
from talkex_widget.core.kinds import attachment_frame_bytes
from talkex_widget.core.limits import CloseCode
from talkex_widget.server.attachments import ATTACHMENT_ROUTE, AttachmentHandler
from talkex_widget.server.config import ServerConfig, is_loopback
from talkex_widget.server.framing import FrameCache
from talkex_widget.server.handlers import (
    HealthHandler,
    MessagesHandler,
    OriginsHandler,
    PageHandler,
)
from talkex_widget.server.identity import Identifier, TokenIdentifier
from talkex_widget.server.intake import TalkexApplication
from talkex_widget.server.service import ChatService
from talkex_widget.server.websocket import Gate, SocketHandler

# ServerConfig, is_loopback and SocketHandler live in .config and .websocket; the notebook
# and the tests import them from here, where they were before the server was carved up.
__all__ = ["ServerConfig", "SocketHandler", "TalkexServer", "is_loopback", "make_app"]

log = logging.getLogger("talkex.server")

STATIC_DIR = Path(__file__).parents[1] / "static"
_READ_SLACK = 128 * 1024
"""Room in a connection's read buffer beyond a body or frame: Tornado's 64 KiB of headers and
one 64 KiB read from the socket."""


def frame_bytes(config: ServerConfig) -> int:
    """The largest WebSocket frame taken: ``--max-frame-bytes``, or enough for a figure of
    ``--max-attachment`` bytes (base64 in its ``new_msg``), whichever is larger."""
    return max(config.limits.max_frame_bytes, attachment_frame_bytes(config.rules.max_attachment))


def make_app(service: ChatService, config: ServerConfig) -> tornado.web.Application:
    """The routes, each handler given the service and the auth it needs, nothing global.

    In hub mode every route is under the hub's service prefix, the hub identifies people, and
    the hub's sign-in routes are added; nobody vouches for origins (all is on the hub's own).
    """
    auth = Auth(config.token, config.allow_origins, config.secret, config.view_key)
    prefix, limits = config.prefix, config.limits
    identifier: Identifier = TokenIdentifier(auth)
    settings: dict[str, Any] = {}
    if config.hub is not None:
        from talkex_widget.server.hub import HubIdentity, hub_limits, hub_routes

        identifier = hub = HubIdentity(config.hub)
        limits = hub_limits(limits)
        settings["cookie_secret"] = config.hub.cookie_secret
    deps = {"service": service, "auth": auth, "identifier": identifier, "prefix": prefix}
    socket_deps = {**deps, "gate": Gate(limits), "frames": FrameCache()}
    page_deps = {**deps, "hosted_by": config.hosted_by}
    extra = hub_routes(hub) if config.hub is not None else [(r"/api/origins", OriginsHandler, deps)]
    return TalkexApplication(
        [
            (prefix, PageHandler, page_deps),
            (prefix + r"rooms/([^/]+)", PageHandler, page_deps),
            (prefix + "healthz", HealthHandler, deps),
            (prefix + r"api/rooms/([^/]+)/messages", MessagesHandler, deps),
            (prefix + ATTACHMENT_ROUTE, AttachmentHandler, deps),
            (prefix + "socket/websocket", SocketHandler, socket_deps),
            *extra,
        ],
        max_request_bytes=limits.max_request_bytes,
        # Auth off: a DNS rebinding page must not reach us by a name of its own (hub mode
        # has the hub's login and the hub's host).
        loopback_only=auth.open and config.hub is None,
        static_path=str(STATIC_DIR),
        static_url_prefix=prefix + "static/",
        websocket_max_message_size=frame_bytes(config),
        **settings,
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
            bus or pubsub.from_url(config.pubsub, secret=config.cluster_secret),
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
        limits = self.config.limits
        self.http = tornado.httpserver.HTTPServer(
            self.app,
            xheaders=False,
            idle_connection_timeout=limits.handshake_timeout,
            body_timeout=limits.handshake_timeout,
            # Tornado's defaults (100 MB) would buffer huge bodies before any token check;
            # the read buffer holds one WebSocket frame or body, plus headers and a read chunk.
            max_body_size=limits.max_request_bytes,
            max_buffer_size=max(frame_bytes(self.config), limits.max_request_bytes) + _READ_SLACK,
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
