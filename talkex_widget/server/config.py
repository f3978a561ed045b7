"""What a server is told at start: :class:`ServerConfig`, the one home of the server defaults.

Kept free of Tornado so that the CLI can read every default from here (and from
:class:`~talkex_widget.core.limits.Limits` and :class:`~talkex_widget.core.rooms.RoomRules`)
without importing the web stack to print ``--help``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from talkex_widget.core.auth import check_secret, loopback_host
from talkex_widget.core.channels import DEFAULT_MAX_CHANNELS
from talkex_widget.core.limits import Limits
from talkex_widget.core.rooms import RoomRules
from talkex_widget.server.cluster import NODE_TIMEOUT

if TYPE_CHECKING:
    from talkex_widget.server.hub import HubSettings

__all__ = ["HOSTS", "ServerConfig", "is_loopback"]

HOSTS = ("notebook",)
"""What may host a server besides itself (:attr:`ServerConfig.hosted_by`)."""


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
    """Sockets silent (no frame, no pong) for this many seconds are closed."""
    rules: RoomRules = field(default_factory=RoomRules)
    max_channels: int = DEFAULT_MAX_CHANNELS
    limits: Limits = field(default_factory=Limits)
    secret: str | None = None
    """With a secret, sockets need signed tokens that bind the nickname (``talkex token``)."""
    view_key: str | None = None
    """Lets the Jupyter server extension vouch for who views a notebook (viewer tokens); the
    embedded server makes one and shares it only through the 0600 runtime file."""
    node_name: str | None = None
    """This process's name among the servers sharing a pubsub (default: hostname:port)."""
    node_timeout: float = NODE_TIMEOUT
    cluster_secret: str | None = None
    """Signs what this node publishes on the pubsub and drops what no node signed (Redis)."""
    hub: HubSettings | None = None
    """JupyterHub mode (``talkex serve --jupyterhub``): the hub says who people are, and every
    route is under the hub's service prefix."""
    hosted_by: str | None = None
    """``"notebook"`` when a notebook kernel hosts this server (the embedded server): should it
    stay away, its pages say the notebook stopped instead of only "reconnecting" (the page
    shell's ``data-hosted-by``). ``None`` for ``talkex serve`` and a hub service."""

    @property
    def prefix(self) -> str:
        """The path every route starts with: ``/``, or the hub's service prefix."""
        return self.hub.prefix if self.hub is not None else "/"

    def check(self) -> None:
        """Refuse configurations that would expose an unauthenticated chat to the network, sign
        identities with a secret short enough to guess from one token offline, or name a host
        the pages do not know. Here, not in the CLI, so an embedded server gets the same answer
        as ``talkex serve``."""
        if self.hub is None and not self.token and not self.secret and not is_loopback(self.host):
            raise ValueError(
                f"refusing to serve {self.host} without a token: anyone on the network could "
                "read and post. Give --token, or bind to 127.0.0.1."
            )
        if self.secret:
            check_secret(self.secret)
        if self.hosted_by is not None and self.hosted_by not in HOSTS:
            raise ValueError(f"hosted_by must be one of {HOSTS} or None, not {self.hosted_by!r}")

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{port or self.port}{self.prefix}"
        if self.hub is not None:  # the hub's login, not a token, lets people in
            return base
        return base + ("?" + urlencode({"token": self.token}) if self.token else "")


def is_loopback(host: str) -> bool:
    """``host`` (to bind, or from a Host header) is this machine's loopback only."""
    return loopback_host(host)
