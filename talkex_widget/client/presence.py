"""A channel's presence list, as phoenix.js's ``Presence`` keeps it.

Diffs that arrive before the ``presence_state`` of the current join are held and applied after
it, so a reconnect never shows a stale or half-applied list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from talkex_widget.core.presence import State, sync_diff, sync_state

if TYPE_CHECKING:
    from .channel import Channel

__all__ = ["PRESENCE_RANK", "PresenceView", "shown_status"]

PRESENCE_RANK = {"busy": 3, "online": 2, "away": 1}
"""Which of a person's connections speaks for them, as the browser list decides
(js/src/lib/presence.js): busy (a running cell, often the kernel's link) says the most, then
any online one (one tab in use means they are there), then away."""


def shown_status(metas: list[dict[str, Any]]) -> str:
    """The status a person with these connections shows: the most present one, the latest on
    a tie (``sync_diff`` appends joined metas, and an update is a join)."""
    best = "online"
    rank = 0
    for meta in metas:
        status = meta.get("status", "online")
        status = status if status in PRESENCE_RANK else "online"
        if PRESENCE_RANK[status] >= rank:
            best, rank = status, PRESENCE_RANK[status]
    return best


class PresenceView:
    """phoenix.js ``Presence``: state from ``presence_state``, diffs applied after it."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.state: State = {}
        self._pending: list[dict[str, Any]] = []
        self._join_ref: str | None = None
        self.on_sync: list[Callable[[], None]] = []
        channel.on("presence_state", self._on_state)
        channel.on("presence_diff", self._on_diff)

    def _on_state(self, payload: dict[str, Any]) -> None:
        self._join_ref = self.channel.join_ref
        self.state = sync_state(self.state, payload)
        for diff in self._pending:
            self.state = sync_diff(self.state, diff)
        self._pending = []
        self._synced()

    def _on_diff(self, payload: dict[str, Any]) -> None:
        if self._join_ref != self.channel.join_ref:
            self._pending.append(payload)
            return
        self.state = sync_diff(self.state, payload)
        self._synced()

    def _synced(self) -> None:
        for callback in self.on_sync:
            callback()

    def list(self) -> dict[str, list[dict[str, Any]]]:
        """``{nickname: [meta, ...]}``, one entry per person, one meta per connection."""
        return {key: [dict(m) for m in presence["metas"]] for key, presence in self.state.items()}

    def statuses(self) -> dict[str, str]:
        """``{nickname: status}``: each person's :func:`shown_status`, the rule the browser
        list uses too, so a notebook that starts running a cell shows its owner busy
        everywhere, and an idle tab does not show someone away who is active in another."""
        return {
            key: shown_status(presence["metas"])
            for key, presence in self.state.items()
            if presence["metas"]
        }
