"""In-process pubsub: delivery is a direct call, in publish order."""

from __future__ import annotations

from talkex_widget.backends import pubsub

__all__ = ["MemoryPubSub"]


class MemoryPubSub(pubsub.PubSub):
    def __init__(self) -> None:
        self._handlers: dict[str, list[pubsub.Handler]] = {}

    async def subscribe(self, channel: str, handler: pubsub.Handler) -> None:
        handlers = self._handlers.setdefault(channel, [])
        if handler not in handlers:
            handlers.append(handler)

    async def unsubscribe(self, channel: str, handler: pubsub.Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]

    async def publish(self, channel: str, data: str) -> None:
        for handler in tuple(self._handlers.get(channel, ())):
            handler(channel, data)
