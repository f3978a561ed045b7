"""Publish/subscribe between server processes, chosen by URL like the history store.

The interface is deliberately tiny (publish text on a channel, subscribe a callback) so that
the memory backend is a dict of sets and the Redis backend a thin adapter; what is published is
an already-encoded frame, so each broadcast is encoded once however many nodes and sockets get it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = ["Handler", "PubSub", "from_url"]

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

    @abstractmethod
    async def subscribe(self, channel: str, handler: Handler) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    @abstractmethod
    async def publish(self, channel: str, data: str) -> None: ...


def from_url(url: str) -> PubSub:
    """``memory://`` (one process) or ``redis://host:port/db`` (several server processes)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "memory":
        from talkex_widget.backends.pubsub.memory import MemoryPubSub

        return MemoryPubSub()
    if scheme in ("redis", "rediss"):
        from talkex_widget.backends.pubsub.redis import RedisPubSub

        return RedisPubSub(url)
    raise ValueError(f"unknown pubsub URL {url!r}: use memory:// or redis://HOST:PORT/DB")
