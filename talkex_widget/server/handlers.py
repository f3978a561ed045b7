"""The HTTP handlers: the page shell, the health check, and the JSON API.

Thin on purpose (authenticate, validate, call the injected service); the WebSocket endpoint
lives in :mod:`.websocket`. The token is looked up the same way for pages, the API and the
socket (:func:`identify`).
"""

from __future__ import annotations

from typing import Any

import orjson
import tornado.escape
import tornado.web

from talkex_widget.core.auth import Auth, Identity, authorization_token
from talkex_widget.core.rooms import RoomError
from talkex_widget.core.version import __version__
from talkex_widget.server.identity import Admission, Identifier, TokenIdentifier, identify
from talkex_widget.server.intake import RedactingHandler
from talkex_widget.server.service import ChatService

__all__ = [
    "HealthHandler",
    "MessagesHandler",
    "OriginsHandler",
    "PageHandler",
    "identify",
]


class BaseHandler(RedactingHandler):
    def initialize(
        self, service: ChatService, auth: Auth, identifier: Identifier, prefix: str = "/"
    ) -> None:
        self.service = service
        self.auth = auth
        self.identifier = identifier
        self.prefix = prefix
        self.admission = Admission(None)

    async def prepare(self) -> None:
        self.admission = await self.identifier.admit(self, socket=False)

    def identity(self) -> Identity | None:
        return self.admission.identity

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

    def initialize(
        self,
        service: ChatService,
        auth: Auth,
        identifier: Identifier,
        prefix: str = "/",
        hosted_by: str | None = None,
    ) -> None:
        super().initialize(service, auth, identifier, prefix)
        self.hosted_by = hosted_by

    def get(self, room: str | None = None) -> None:
        given = self.get_query_argument("token", None)
        if not self.check_request_origin():
            self.set_status(403)
            self.finish(_FORBIDDEN_PAGE)
            return
        identity = self.identity()
        if identity is None:
            sign_in = self.identifier.sign_in_url(self)
            if sign_in is not None and self.admission.user is None:
                self.redirect(sign_in)  # the hub's login, then back here
                return
            self.set_status(403)
            reason = self.admission.reason if self.admission.user is not None else None
            self.finish(_refused_page(reason) if reason else _FORBIDDEN_PAGE)
            return
        if (
            given is not None
            and isinstance(self.identifier, TokenIdentifier)
            and not self.auth.open
        ):
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
                base=tornado.escape.xhtml_escape(self.prefix),
                # A name the server vouches for (hub mode): the page asks for no nickname.
                user=tornado.escape.xhtml_escape(
                    identity.nickname if self.admission.user is not None else ""
                ),
                # "notebook": a kernel hosts the server, so a long outage says it stopped.
                hosted_by=tornado.escape.xhtml_escape(self.hosted_by or ""),
            )
        )


class HealthHandler(BaseHandler):
    """``/healthz``: ``{"status"}`` for anyone (load balancers, probes); the version and the
    room and connection counts only for a token holder (query, cookie or Authorization
    header), since they tell a stranger what runs here and how busy it is."""

    def get(self) -> None:
        health: dict[str, Any] = {"status": "ok" if self.service.pubsub.healthy else "degraded"}
        if self.identity() is not None:
            health.update(version=__version__, **self.service.stats())
        self.write_json(health)


class OriginsHandler(BaseHandler):
    """``POST /api/origins {"origin": ...}``: the kernel vouches for a browser origin.

    A notebook widget's page lives on the Jupyter server's origin, which this server cannot
    know; the kernel, which holds the server's token, tells it (the widget's view reports
    ``location.origin`` over the kernel's authenticated comm). Only that shared token may: a
    signed token names one person, and an origin it could add would let a page of theirs
    open sockets with other people's cookies. Registered origins lapse after a day
    (:data:`~talkex_widget.core.auth.ORIGIN_TTL`); see :meth:`Auth.allow` for the bound.
    """

    def post(self) -> None:
        # The token itself, never the cookie: a cookie would let any page vouch for itself.
        given = authorization_token(self.request.headers.get("Authorization"))
        if given is None:
            given = self.get_query_argument("token", None)
        if not self.auth.is_server_token(given):
            raise tornado.web.HTTPError(403, "only the server's own token may add origins")
        try:
            origin = orjson.loads(self.request.body).get("origin")
            if not isinstance(origin, str):
                raise ValueError("origin must be a string")
            self.auth.allow(origin)
        except (ValueError, AttributeError) as exc:
            raise tornado.web.HTTPError(400, str(exc)) from None
        self.write_json({"allowed": self.auth.allowed_origins()})


class MessagesHandler(BaseHandler):
    """``GET /api/rooms/<room>/messages?before_id=&limit=``: scroll-back for scripts."""

    async def get(self, room: str) -> None:
        if not self.check_request_origin():
            raise tornado.web.HTTPError(403, "origin not allowed")
        if self.identity() is None:
            raise tornado.web.HTTPError(403, self.admission.reason or "missing or wrong token")
        rules = self.service.rules
        try:
            rules.room_name(room)
            refusal = self.admission.room_refusal(room)
            if refusal is not None:
                raise tornado.web.HTTPError(403, refusal)
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


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Talkex</title>
<link rel="stylesheet" href="{css}">
</head>
<body class="talkex-page" data-base="{base}" data-user="{user}" data-hosted-by="{hosted_by}">
<div id="talkex-root"></div>
<script type="module" src="{script}"></script>
</body>
</html>
"""


def _refused_page(reason: str) -> str:
    return _REFUSED_PAGE.format(reason=tornado.escape.xhtml_escape(reason))


_REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Talkex: no access</title></head>
<body><h1>No access to this chat</h1><p>{reason}</p></body></html>
"""

_FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Talkex: token needed</title></head>
<body><h1>Token needed</h1>
<p>Open the address that <code>talkex serve</code> printed, the one ending in
<code>?token=...</code>. The token is then remembered by this browser.</p></body></html>
"""
