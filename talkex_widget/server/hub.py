"""JupyterHub mode: the hub says who each request is, and Talkex serves under its prefix.

As a hub service, Talkex trusts nothing the client says about itself. A request is someone
because the hub vouches for a token it carries: the ``Authorization: token ...`` header (a
kernel's ``JUPYTERHUB_API_TOKEN``, scripts), ``?token=`` on the WebSocket only (browsers cannot
set headers there), or the OAuth cookie this service sets after the hub's login (browsers).
:class:`jupyterhub.services.auth.HubOAuth` does the OAuth exchange, the cookie and a short
cache of the hub's answers; the decisions taken from the hub's user model are pure and live in
:mod:`talkex_widget.core.hub_access`.

Everything the hub tells a managed service comes from the environment it starts it with
(``JUPYTERHUB_SERVICE_URL``, ``_PREFIX``, ``_API_TOKEN``, ``_CLIENT_ID``, ...): see
:meth:`HubSettings.from_env`. The optional extra ``talkex-widget[jupyterhub]`` installs
JupyterHub; nothing imports this module unless hub mode is asked for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import tornado.escape
import tornado.web
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado.httputil import url_concat

from talkex_widget.core.auth import Identity
from talkex_widget.core.hub_access import HubUser, access_refusal
from talkex_widget.core.limits import Limits
from talkex_widget.server.identity import Admission
from talkex_widget.server.intake import RedactingHandler

__all__ = [
    "HubConfigError",
    "HubIdentity",
    "HubSettings",
    "HubUnavailable",
    "hub_limits",
    "hub_routes",
    "safe_next_url",
]

log = logging.getLogger("talkex.hub")

CACHE_SECONDS = 60
"""How long the hub's answer about a token is reused: a revoked token or a changed group
takes at most this long to apply, and a reconnecting room of sockets costs one hub request."""


class HubConfigError(ValueError):
    """``talkex serve --jupyterhub`` outside a hub (or with a hub that left out a variable)."""


class HubUnavailable(RuntimeError):
    """The hub did not answer who a token belongs to; the request is refused, not guessed."""


@dataclass(frozen=True)
class HubSettings:
    """What the hub tells its managed service, read once at start-up."""

    service_name: str
    url: str
    """Where the hub expects this service to listen (``http://127.0.0.1:10101``)."""
    prefix: str
    """The public path the proxy routes here (``/services/talkex/``); every route is under it."""
    api_url: str
    api_token: str = dataclasses.field(repr=False)
    client_id: str
    oauth_callback_url: str
    hub_prefix: str = "/hub/"
    hub_host: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> HubSettings:
        """The settings from the variables JupyterHub sets for a managed service."""
        needed = {
            "JUPYTERHUB_SERVICE_URL": "where to listen",
            "JUPYTERHUB_API_TOKEN": "this service's own hub token",
            "JUPYTERHUB_CLIENT_ID": "its OAuth client",
        }
        missing = [f"{name} ({why})" for name, why in needed.items() if not environ.get(name)]
        if missing:
            raise HubConfigError(
                "--jupyterhub needs the variables the hub gives a managed service; missing: "
                + ", ".join(missing)
                + ". Declare talkex in c.JupyterHub.services with a command and a url."
            )
        name = environ.get("JUPYTERHUB_SERVICE_NAME") or "talkex"
        prefix = _slashed(environ.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{name}/")
        base = _slashed(environ.get("JUPYTERHUB_BASE_URL") or "/")
        return cls(
            service_name=name,
            url=environ["JUPYTERHUB_SERVICE_URL"],
            prefix=prefix,
            api_url=environ.get("JUPYTERHUB_API_URL") or "http://127.0.0.1:8081/hub/api",
            api_token=environ["JUPYTERHUB_API_TOKEN"],
            client_id=environ["JUPYTERHUB_CLIENT_ID"],
            oauth_callback_url=environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL")
            or url_path_join(prefix, "oauth_callback"),
            hub_prefix=url_path_join(base, "hub") + "/",
            hub_host=environ.get("JUPYTERHUB_HOST", ""),
        )

    @property
    def bind(self) -> tuple[str, int]:
        """Where to listen, from :attr:`url`: the hub chose the port and how to reach us.

        An address (``127.0.0.1``) or ``localhost`` is bound as is. A name (``hub`` on
        Kubernetes, where the proxy runs in another pod) names this host from elsewhere and
        may not be bindable here, so every interface is bound.
        """
        parts = urlsplit(self.url)
        if not parts.hostname:
            raise HubConfigError(f"JUPYTERHUB_SERVICE_URL has no host: {self.url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname
        try:
            ipaddress.ip_address(host)
        except ValueError:
            host = host if host == "localhost" else "0.0.0.0"
        return host, port

    @property
    def cookie_secret(self) -> bytes:
        """Derived from the service's own token, which the hub keeps across restarts: a
        restarted service still reads the OAuth cookies it set, so browsers stay signed in."""
        return hmac.new(self.api_token.encode(), b"talkex oauth cookies", hashlib.sha256).digest()


def _slashed(path: str) -> str:
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def hub_limits(limits: Limits) -> Limits:
    """Behind the hub's proxy every browser arrives from the proxy's address, so a cap per
    address would count the whole hub as one client. The cap per person still holds, and
    here it is per hub user, whom nobody can impersonate."""
    return dataclasses.replace(limits, max_connections_per_ip=0)


def safe_next_url(given: str | None, default: str) -> str:
    """A path on this host to return to after login, never another site (open redirect)."""
    if not given or not given.startswith("/") or given.startswith(("//", "/\\")):
        return default
    return given


class HubIdentity:
    """Asks the hub who a request is, and sends browsers through the hub's OAuth login."""

    def __init__(self, settings: HubSettings, oauth: HubOAuth | None = None) -> None:
        self.settings = settings
        self.oauth = oauth or HubOAuth(
            api_url=settings.api_url,
            api_token=settings.api_token,
            oauth_client_id=settings.client_id,
            oauth_redirect_uri=settings.oauth_callback_url,
            base_url=settings.prefix,
            hub_prefix=settings.hub_prefix,
            hub_host=settings.hub_host,
            access_scopes={f"access:services!service={settings.service_name}"},
            cache_max_age=CACHE_SECONDS,
        )

    async def user_for_token(self, token: str, session_id: str = "") -> HubUser | None:
        """The hub user behind ``token``, or ``None`` for a token the hub does not know."""
        try:
            model = await self.oauth.user_for_token(token, session_id=session_id, sync=False)
        except tornado.web.HTTPError as exc:
            raise HubUnavailable(exc.log_message or "the hub did not answer") from None
        if not model or model.get("kind", "user") != "user":
            return None
        return HubUser.from_model(model)

    def token(self, handler: tornado.web.RequestHandler, *, query: bool = False) -> str | None:
        """The token a request carries: header, then ``?token=`` if ``query``, then cookie.

        The cookie counts only for reads (GET, WebSocket): a cross-site form could post
        with it, and no change Talkex accepts over HTTP is worth that risk.
        """
        header = handler.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        if query:
            given = handler.get_query_argument("token", None)
            if given:
                return given
        if handler.request.method in ("GET", "HEAD"):
            cookie = handler.get_secure_cookie(self.oauth.cookie_name)
            if cookie:
                return cookie.decode("ascii", "replace")
        return None

    async def admit(self, handler: tornado.web.RequestHandler, *, socket: bool) -> Admission:
        """Who the hub says the request is; refused with the reason when the hub says no.

        The identity's nickname is the hub user's name: whatever name the client sends
        (``?nickname=``, the widget's ``nickname``) is ignored, as with signed tokens.
        """
        token = self.token(handler, query=socket)
        if token is None:
            return Admission(None, "not signed in to the hub")
        session_id = handler.get_cookie("jupyterhub-session-id", "") or ""
        try:
            user = await self.user_for_token(token, session_id)
        except HubUnavailable as exc:
            log.warning("hub did not identify a request: %s", exc)
            return Admission(None, "the hub did not answer; try again shortly")
        if user is None:
            return Admission(None, "the hub does not know this token (expired or revoked)")
        refusal = access_refusal(user, self.settings.service_name)
        if refusal is not None:
            return Admission(None, refusal, user)
        return Admission(Identity(user.name, profile=user.profile()), None, user)

    def sign_in_url(self, handler: tornado.web.RequestHandler) -> str | None:
        """The hub's sign-in for a page, coming back to the page asked for."""
        return self.login_url(handler, next_url=handler.request.uri or self.settings.prefix)

    def login_url(self, handler: tornado.web.RequestHandler, next_url: str) -> str:
        """The hub's authorize URL, with a state cookie (and PKCE) that the callback checks."""
        verifier, challenge, method = self.oauth.generate_pkce_code_challenge()
        state = self.oauth.set_state_cookie(handler, next_url=next_url, code_verifier=verifier)
        return url_concat(
            self.oauth.login_url,
            {"state": state, "code_challenge": challenge, "code_challenge_method": method},
        )


class _HubHandler(RedactingHandler):
    def initialize(self, hub: HubIdentity) -> None:
        self.hub = hub

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")


class LoginHandler(_HubHandler):
    """``<prefix>login?next=PATH``: the "Sign in to chat" action starts the hub's OAuth here
    and comes back to ``next`` (a path on this host) once the hub has said who you are."""

    def get(self) -> None:
        default = url_path_join(self.hub.settings.prefix, "signed-in")
        next_url = safe_next_url(self.get_query_argument("next", None), default)
        self.redirect(self.hub.login_url(self, next_url))


class MeHandler(_HubHandler):
    """``<prefix>api/me``: who the hub says you are, so a view knows whether to offer the
    sign-in action (401, with the path that starts it) or to connect (200)."""

    async def get(self) -> None:
        admission = await self.hub.admit(self, socket=False)
        user, reason = admission.user, admission.reason
        body: dict[str, Any]
        if user is None:
            self.set_status(401)
            body = {"error": reason, "login_url": url_path_join(self.hub.settings.prefix, "login")}
        elif admission.identity is None:
            self.set_status(403)
            body = {"error": reason, "name": user.name}
        else:
            body = {
                "name": user.name,
                "display_name": user.display_name,
                "groups": sorted(user.groups),
                **({"color": user.color} if user.color else {}),
                **({"avatar_url": user.avatar_url} if user.avatar_url else {}),
            }
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(body))


class SignedInHandler(_HubHandler):
    """Where a sign-in opened from a notebook lands: the notebook's view reconnects by
    itself, so this tab only says so."""

    async def get(self) -> None:
        admission = await self.hub.admit(self, socket=False)
        user = admission.user
        if user is None or admission.identity is None:
            raise tornado.web.HTTPError(403, admission.reason or "not signed in")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_SIGNED_IN.format(name=tornado.escape.xhtml_escape(user.display_name)))


class CallbackHandler(RedactingHandler, HubOAuthCallbackHandler):
    """JupyterHub's own OAuth callback, given this service's :class:`HubOAuth`.

    Its URL carries the OAuth ``code`` (worth a token until used) and ``state``: a refused
    callback is logged through :class:`RedactingHandler`, without them."""

    def initialize(self, hub: HubIdentity) -> None:
        self.hub_auth = hub.oauth


def hub_routes(hub: HubIdentity) -> list[tuple[str, type[tornado.web.RequestHandler], dict]]:
    """The routes hub mode adds, under the service prefix; the chat's own routes come from
    the app, mounted under the same prefix."""
    prefix = hub.settings.prefix
    deps = {"hub": hub}
    return [
        (url_path_join(prefix, "login"), LoginHandler, deps),
        (url_path_join(prefix, "oauth_callback"), CallbackHandler, deps),
        (url_path_join(prefix, "signed-in"), SignedInHandler, deps),
        (url_path_join(prefix, "api/me"), MeHandler, deps),
    ]


_SIGNED_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Talkex: signed in</title></head>
<body><h1>Signed in to chat as {name}</h1>
<p>Your notebook's chat connects by itself now. You can close this tab.</p></body></html>
"""
