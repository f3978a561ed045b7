"""Who may connect: the shared token, signed identity tokens, and allowed browser origins.

The shared token works like Jupyter's: whoever holds it may read and post, under any
nickname. A deployment that must stop people speaking as each other sets a secret and hands
out signed, expiring tokens that bind a nickname (``talkex token NICKNAME``); the socket then
takes the nickname from the token, never from the query string, and is closed when the token
expires. Only the shared token (the kernel's) may vouch for browser origins, and what it
vouches for expires: a signed token names a person, it does not run the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from talkex_widget.core.profiles import Profile

__all__ = [
    "MAX_ORIGINS",
    "MIN_SECRET_BYTES",
    "ORIGIN_TTL",
    "VIEW_PREFIX",
    "Auth",
    "Identity",
    "TokenError",
    "authorization_token",
    "check_secret",
    "issue_token",
    "issue_view_token",
    "loopback_host",
    "read_token",
    "read_view_identity",
    "read_view_token",
]

_PREFIX = "tx1"
VIEW_PREFIX = "tv1"
"""Viewer tokens (see :func:`issue_view_token`): a prefix of their own, inside the signed
text, so a token of one kind never passes for the other even if the keys were equal."""
_ORIGIN_RE = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)
MAX_ORIGINS = 64
"""Origins registered through ``POST /api/origins`` kept at once; registering one more drops
the one registered (or refreshed) longest ago, so the list stays bounded and the kernel that
just vouched for its page is always served."""
ORIGIN_TTL = 24 * 3600.0
"""Seconds a registered origin stays trusted. The kernel vouches again each time a view opens,
so only origins nobody has used for a day lapse."""
MIN_SECRET_BYTES = 32
"""Shortest ``--secret`` accepted: HMAC-SHA256 keys shorter than this can be guessed offline
from one token (or, for the cluster secret, from one bus message)."""


def check_secret(secret: str, what: str = "the secret") -> None:
    """Refuse a secret too short to sign with: one rule for ``--secret``, ``talkex token`` and
    the cluster secret, so none of them accepts what another refuses."""
    size = len(secret.encode())
    if size < MIN_SECRET_BYTES:
        raise ValueError(
            f"{what} is {size} bytes; it must be at least {MIN_SECRET_BYTES} bytes "
            "(make one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


class TokenError(ValueError):
    """A signed token that is malformed, forged or expired; the message says which."""


@dataclass(frozen=True, slots=True)
class Identity:
    nickname: str | None
    """The nickname a signed token binds; ``None`` for the shared token (or no auth)."""
    expires: float | None = None
    """When the signed token that proved this stops proving it (seconds since the epoch):
    an open socket is closed then. ``None``: the shared token, which does not expire."""
    profile: Profile | None = None
    """How the person is shown (display name, colour, avatar), when whoever vouched for the
    name also said that: a viewer token or the hub. Never from the shared token."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(
    secret: str,
    nickname: str,
    ttl: float,
    now: float | None = None,
    *,
    prefix: str = _PREFIX,
    claims: Mapping[str, str] | None = None,
) -> str:
    """A token binding ``nickname`` (and any other ``claims``) until ``now + ttl`` (seconds),
    signed with ``secret``."""
    expires = int((now if now is not None else time.time()) + ttl)
    payload = _b64(orjson.dumps({**(claims or {}), "sub": nickname, "exp": expires}))
    return f"{prefix}.{payload}.{_sign(secret, f'{prefix}.{payload}')}"


def read_token(secret: str, token: str, now: float | None = None, *, prefix: str = _PREFIX) -> str:
    """The nickname a valid token binds; :class:`TokenError` otherwise."""
    return str(_claims(secret, token, now, prefix)["sub"])


def _claims(secret: str, token: str, now: float | None, prefix: str) -> dict[str, Any]:
    """The claims of a valid token (``sub``, the nickname, and ``exp``, its expiry, checked);
    :class:`TokenError` otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != prefix:
        raise TokenError("not a signed Talkex token")
    expected = _sign(secret, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(expected.encode(), parts[2].encode()):
        raise TokenError("token signature does not match")
    try:
        claims = orjson.loads(_unb64(parts[1]))
        nickname, expires = claims["sub"], claims["exp"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("token payload is malformed") from None
    if not isinstance(nickname, str) or not isinstance(expires, int):
        raise TokenError("token payload is malformed")
    if (now if now is not None else time.time()) >= expires:
        raise TokenError("token has expired")
    return claims


def issue_view_token(
    key: str,
    nickname: str,
    ttl: float,
    now: float | None = None,
    profile: Profile | None = None,
) -> str:
    """A viewer token: the Jupyter server extension vouches that the person viewing a
    notebook is ``nickname`` (from Jupyter's own login), shown as ``profile`` says (the name
    and colour JupyterLab shows for them), for ``ttl`` seconds.

    ``key`` is the embedded server's view key, which only that server and the extensions of
    the same OS user read (from the 0600 runtime file): a front end cannot mint one, so a
    view cannot claim to be someone else, nor look like them.
    """
    claims = profile.meta() if profile is not None else None
    return issue_token(key, nickname, ttl, now, prefix=VIEW_PREFIX, claims=claims)


def read_view_token(key: str, token: str, now: float | None = None) -> str:
    """The nickname a valid viewer token binds; :class:`TokenError` otherwise."""
    return read_token(key, token, now, prefix=VIEW_PREFIX)


def read_view_identity(key: str, token: str, now: float | None = None) -> Identity:
    """Who a valid viewer token names and how they are shown; :class:`TokenError` otherwise.

    The profile is checked again here (:meth:`Profile.from_meta`): the key's holder signed
    it, but what the server puts in everyone's presence list answers to its own rules.
    """
    claims = _claims(key, token, now, VIEW_PREFIX)
    nickname = claims["sub"]
    profile = Profile.from_meta(claims).without_name(nickname)
    return Identity(nickname, None, profile or None)


class Auth:
    """The server's credentials: what proves an identity, and which browser origins it trusts.

    ``clock`` (monotonic seconds) times registered origins; tests pass a fake one.
    """

    def __init__(
        self,
        token: str | None,
        allow_origins: tuple[str, ...] = (),
        secret: str | None = None,
        view_key: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token or None
        self.secret = secret or None
        self.view_key = view_key or None
        """Checks viewer tokens (:func:`issue_view_token`) beside the shared token."""
        self.fixed_origins = frozenset(o.rstrip("/") for o in allow_origins)
        """``--allow-origin``: trusted for the server's lifetime."""
        self.registered: dict[str, float] = {}
        """Origins vouched for through the API, oldest first, each with when it lapses."""
        self.clock = clock

    @property
    def open(self) -> bool:
        """No credentials needed at all (``--token ''`` on a loopback host)."""
        return self.token is None and self.secret is None

    def identify(self, given: str | None) -> Identity | None:
        """The identity ``given`` proves, or ``None``. Comparisons take constant time."""
        if self.open:
            return Identity(None)
        if given is None:
            return None
        if self.view_key is not None and given.startswith(VIEW_PREFIX + "."):
            try:  # a viewer token lets a view connect; its socket then stays (no expiry)
                return read_view_identity(self.view_key, given)
            except TokenError:
                return None
        if self.secret is not None and given.startswith(_PREFIX + "."):
            try:
                claims = _claims(self.secret, given, None, _PREFIX)
            except TokenError:
                return None
            return Identity(claims["sub"], float(claims["exp"]))
        if self.is_server_token(given):
            return Identity(None)
        return None

    def is_server_token(self, given: str | None) -> bool:
        """``given`` is the shared token itself (the kernel's), not merely some valid token."""
        return (
            given is not None
            and self.token is not None
            and hmac.compare_digest(given.encode(), self.token.encode())
        )

    def allow(self, origin: str) -> None:
        """Trust one more browser origin (a Jupyter server whose pages embed the widget) for
        :data:`ORIGIN_TTL` seconds; registering it again restarts its time.

        Raises ``ValueError`` for anything but ``scheme://host[:port]``. Past
        :data:`MAX_ORIGINS` the origin registered longest ago is dropped.
        """
        origin = origin.rstrip("/")
        if not _ORIGIN_RE.fullmatch(origin):
            raise ValueError(f"not an origin (http[s]://host[:port]): {origin[:100]!r}")
        self._forget_lapsed()
        self.registered.pop(origin, None)  # re-inserted last: the newest
        while len(self.registered) >= MAX_ORIGINS:
            del self.registered[next(iter(self.registered))]
        self.registered[origin] = self.clock() + ORIGIN_TTL

    def allowed_origins(self) -> list[str]:
        """Every origin trusted now, sorted."""
        self._forget_lapsed()
        return sorted(self.fixed_origins | self.registered.keys())

    def _forget_lapsed(self) -> None:
        now = self.clock()
        for origin in [o for o, lapses in self.registered.items() if lapses <= now]:
            del self.registered[origin]

    def origin_allowed(self, origin: str | None, host: str) -> bool:
        """Browsers attach cookies to cross-site WebSocket requests, and any page may try to
        open a socket: only the server's own pages and the listed origins may."""
        if origin is None:
            return True  # not a browser: scripts, the Python client, the kernel relay
        origin = origin.rstrip("/")
        if urlsplit(origin).netloc == host or origin in self.fixed_origins:
            return True
        lapses = self.registered.get(origin)
        return lapses is not None and lapses > self.clock()

    @staticmethod
    def cookie_name(host: str) -> str:
        """Cookies ignore ports: name them per port so two local servers do not clash."""
        port = host.rsplit(":", 1)[-1] if ":" in host else "80"
        return f"talkex-token-{port}"


def authorization_token(header: str | None) -> str | None:
    """The token in an ``Authorization: token T`` (Jupyter's form) or ``Bearer T`` header."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() in ("token", "bearer") and value else None


def loopback_host(host: str) -> bool:
    """``host`` (a Host header: name or address, maybe a port) names this machine's loopback:
    ``localhost``, ``127.x.y.z`` or ``[::1]``.

    What a browser puts in Host is the name in the page's URL, so a DNS rebinding page on
    ``rebind.example`` (resolving to 127.0.0.1) sends ``rebind.example`` and is refused.
    Addresses are parsed, never prefix-matched: ``127.0.0.1.rebind.example`` is a name.
    A bare address (``::1``, as ``--host`` takes it) counts too.
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not _PORT_RE.fullmatch(rest)):
            return False
    else:
        name, colon, port = host.partition(":")
        if colon and not _PORT_RE.fullmatch(colon + port):
            return False
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


_PORT_RE = re.compile(r":[0-9]{1,5}")
