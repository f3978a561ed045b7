"""Publish/subscribe between server processes, chosen by URL like the history store.

The interface is deliberately tiny (publish text on a channel, subscribe a callback) so that
the memory backend is a dict of sets and the Redis backend a thin adapter; what is published is
an already-encoded frame, so each broadcast is encoded once however many nodes and sockets get it.

A shared pubsub is a trust boundary: what arrives on it becomes room messages and presence.
Given a cluster secret, :func:`from_url` wraps the backend in a
:class:`~talkex_widget.backends.pubsub.signed.SignedPubSub`, which drops what no node signed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = ["Handler", "PubSub", "from_url"]

log = logging.getLogger("talkex.pubsub")

Handler = Callable[[str, str], None]
"""Called with ``(channel, data)`` for every message published on a subscribed channel."""


class PubSub(ABC):
    async def start(self) -> None:  # noqa: B027 - optional hook, most backends need nothing
        """Connect; called once before use."""

    async def close(self) -> None:  # noqa: B027
        """Disconnect; called once at shutdown."""

    @property
    def healthy(self) -> bool:
        """False while the backend cannot reach its peers (reported by ``/healthz``)."""
        return True

    @property
    def rejected(self) -> int:
        """Messages dropped because no node of this cluster signed them (``/healthz``)."""
        return 0

    @abstractmethod
    async def subscribe(self, channel: str, handler: Handler) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    @abstractmethod
    async def publish(self, channel: str, data: str) -> None: ...


def from_url(url: str, *, secret: str | None = None) -> PubSub:
    """``memory://`` (one process) or ``redis://host:port/db`` (several server processes),
    its messages signed and checked with ``secret`` when one is given.

    A Redis pubsub without a secret works, with a warning: anyone who can publish to that
    Redis can speak for the nodes.
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    backend: PubSub
    if scheme == "memory":
        from talkex_widget.backends.pubsub.memory import MemoryPubSub

        backend = MemoryPubSub()
    elif scheme in ("redis", "rediss"):
        from talkex_widget.backends.pubsub.redis import RedisPubSub

        backend = RedisPubSub(url)
        if not secret:
            log.warning(
                "the Redis pubsub is not signed: whoever can publish to that Redis can post in "
                "any room as anyone and fake presence. Give every node the same "
                "--cluster-secret-file (or TALKEX_CLUSTER_SECRET)"
            )
    else:
        raise ValueError(  # the scheme only: the rest of a URL may hold a password
            f"unknown pubsub URL scheme {scheme!r}: use memory:// or redis://HOST:PORT/DB"
        )
    if not secret:
        return backend
    from talkex_widget.backends.pubsub.signed import SignedPubSub

    return SignedPubSub(backend, secret)
