"""A pubsub whose messages carry an HMAC: only nodes that share the cluster secret are heard.

Whoever can ``PUBLISH`` to the Redis the nodes share could otherwise post in any room as
anyone, add or remove people from presence on behalf of another node, and make every node
publish its whole state with a forged ``sync_request``. With a cluster secret (``talkex serve
--cluster-secret-file``), every string published is sent as ``v1.<hex HMAC-SHA256>.<data>``,
the MAC taken over the channel and the data, and what arrives is handed on only when its MAC
matches. The rest is dropped and counted (:attr:`SignedPubSub.rejected`, in ``/healthz``'s
details), with one warning at the first and then at most one a minute: a flood must not turn
into a flood of log lines.

What this does not do: hide the messages (anyone who can ``SUBSCRIBE`` reads the rooms; use a
Redis password or ACL and ``rediss://``), nor refuse a genuine message replayed by someone who
recorded it (the presence tracker ignores old sequence numbers, and a node answers sync
requests at a bounded rate, but a replayed room message is shown again).

A wrapper over any :class:`~talkex_widget.backends.pubsub.PubSub`, so the Redis adapter stays
a thin adapter and the memory backend can be signed in tests.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from talkex_widget.backends import pubsub
from talkex_widget.core.auth import check_secret

__all__ = ["WARN_EVERY", "SignedPubSub"]

log = logging.getLogger("talkex.pubsub")

_VERSION = "v1."
_MAC_HEX = 64  # SHA-256
_HEAD = len(_VERSION) + _MAC_HEX + 1  # "v1." + MAC + "."
_KEY_LABEL = b"talkex cluster bus v1"
"""The MAC key is derived from the secret for this one use, so a secret that is also used to
sign identity tokens (``--secret``) never yields MACs that mean something elsewhere."""

WARN_EVERY = 60.0
"""Seconds between two warnings about dropped messages."""


class SignedPubSub(pubsub.PubSub):
    """``inner`` with every message signed on publish and checked on delivery."""

    def __init__(
        self,
        inner: pubsub.PubSub,
        secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_secret(secret, "the cluster secret")
        self.inner = inner
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._clock = clock
        self._handlers: dict[tuple[str, pubsub.Handler], pubsub.Handler] = {}
        self._rejected = 0
        self._unreported = 0
        self._warned_at: float | None = None

    @property
    def healthy(self) -> bool:
        return self.inner.healthy

    @property
    def rejected(self) -> int:
        return self._rejected

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def subscribe(self, channel: str, handler: pubsub.Handler) -> None:
        key = (channel, handler)
        if key in self._handlers:
            return
        self._handlers[key] = checked = self._checked(handler)
        await self.inner.subscribe(channel, checked)

    async def unsubscribe(self, channel: str, handler: pubsub.Handler) -> None:
        checked = self._handlers.pop((channel, handler), None)
        if checked is not None:
            await self.inner.unsubscribe(channel, checked)

    async def publish(self, channel: str, data: str) -> None:
        await self.inner.publish(channel, f"{_VERSION}{self._mac(channel, data)}.{data}")

    def _checked(self, handler: pubsub.Handler) -> pubsub.Handler:
        def receive(channel: str, signed: str) -> None:
            data = self._verified(channel, signed)
            if data is None:
                self._reject(channel)
            else:
                handler(channel, data)

        return receive

    def _verified(self, channel: str, signed: str) -> str | None:
        """The data of a message this cluster signed, or ``None``."""
        if not signed.startswith(_VERSION) or signed[_HEAD - 1 : _HEAD] != ".":
            return None
        data = signed[_HEAD:]
        given = signed[len(_VERSION) : _HEAD - 1]
        expected = self._mac(channel, data).encode()
        # Bytes: comparing a str that is not ASCII would raise instead of saying no.
        return data if hmac.compare_digest(given.encode(), expected) else None

    def _mac(self, channel: str, data: str) -> str:
        # The channel is signed too: a room's message replayed into another room is refused.
        message = channel.encode() + b"\n" + data.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _reject(self, channel: str) -> None:
        self._rejected += 1
        self._unreported += 1
        now = self._clock()
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
            return
        log.warning(
            "dropped %d message(s) on the pubsub not signed with this cluster's secret "
            "(latest on %s, %d in all): someone without the secret publishes to it, or the "
            "nodes were given different --cluster-secret values",
            self._unreported,
            channel,
            self._rejected,
        )
        self._warned_at, self._unreported = now, 0
