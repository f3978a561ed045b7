"""Who may connect: the shared token, signed identity tokens, and allowed browser origins.

The shared token works like Jupyter's: whoever holds it may read and post, under any
nickname. A deployment that must stop people speaking as each other sets a secret and hands
out signed, expiring tokens that bind a nickname (``talkex token NICKNAME``); the socket then
takes the nickname from the token, never from the query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

__all__ = [
    "MAX_ORIGINS",
    "VIEW_PREFIX",
    "Auth",
    "Identity",
    "TokenError",
    "issue_token",
    "issue_view_token",
    "read_token",
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


class TokenError(ValueError):
    """A signed token that is malformed, forged or expired; the message says which."""


@dataclass(frozen=True, slots=True)
class Identity:
    nickname: str | None
    """The nickname a signed token binds; ``None`` for the shared token (or no auth)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(
    secret: str, nickname: str, ttl: float, now: float | None = None, *, prefix: str = _PREFIX
) -> str:
    """A token binding ``nickname`` until ``now + ttl`` (seconds), signed with ``secret``."""
    expires = int((now if now is not None else time.time()) + ttl)
    payload = _b64(orjson.dumps({"sub": nickname, "exp": expires}))
    return f"{prefix}.{payload}.{_sign(secret, f'{prefix}.{payload}')}"


def read_token(secret: str, token: str, now: float | None = None, *, prefix: str = _PREFIX) -> str:
    """The nickname a valid token binds; :class:`TokenError` otherwise."""
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
    return nickname


def issue_view_token(key: str, nickname: str, ttl: float, now: float | None = None) -> str:
    """A viewer token: the Jupyter server extension vouches that the person viewing a
    notebook is ``nickname`` (from Jupyter's own login), for ``ttl`` seconds.

    ``key`` is the embedded server's view key, which only that server and the extensions of
    the same OS user read (from the 0600 runtime file): a front end cannot mint one, so a
    view cannot claim to be someone else.
    """
    return issue_token(key, nickname, ttl, now, prefix=VIEW_PREFIX)


def read_view_token(key: str, token: str, now: float | None = None) -> str:
    """The nickname a valid viewer token binds; :class:`TokenError` otherwise."""
    return read_token(key, token, now, prefix=VIEW_PREFIX)


class Auth:
    def __init__(
        self,
        token: str | None,
        allow_origins: tuple[str, ...] = (),
        secret: str | None = None,
        view_key: str | None = None,
    ) -> None:
        self.token = token or None
        self.secret = secret or None
        self.view_key = view_key or None
        """Checks viewer tokens (:func:`issue_view_token`) beside the shared token."""
        self.allow_origins = {o.rstrip("/") for o in allow_origins}

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
            try:
                return Identity(read_view_token(self.view_key, given))
            except TokenError:
                return None
        if self.secret is not None and given.startswith(_PREFIX + "."):
            try:
                return Identity(read_token(self.secret, given))
            except TokenError:
                return None
        if self.token is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            return Identity(None)
        return None

    def allow(self, origin: str) -> None:
        """Trust one more browser origin (a Jupyter server whose pages embed the widget).

        Raises ``ValueError`` for anything but ``scheme://host[:port]``, and past
        :data:`MAX_ORIGINS` so a token holder cannot grow the set without bound.
        """
        origin = origin.rstrip("/")
        if not _ORIGIN_RE.fullmatch(origin):
            raise ValueError(f"not an origin (http[s]://host[:port]): {origin[:100]!r}")
        if origin not in self.allow_origins and len(self.allow_origins) >= MAX_ORIGINS:
            raise ValueError(f"too many allowed origins (limit {MAX_ORIGINS})")
        self.allow_origins.add(origin)

    def origin_allowed(self, origin: str | None, host: str) -> bool:
        """Browsers attach cookies to cross-site WebSocket requests, and any page may try to
        open a socket: only the server's own pages and the listed origins may."""
        if origin is None:
            return True  # not a browser: scripts, the Python client, the kernel relay
        origin = origin.rstrip("/")
        return urlsplit(origin).netloc == host or origin in self.allow_origins

    @staticmethod
    def cookie_name(host: str) -> str:
        """Cookies ignore ports: name them per port so two local servers do not clash."""
        port = host.rsplit(":", 1)[-1] if ":" in host else "80"
        return f"talkex-token-{port}"
