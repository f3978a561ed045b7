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

__all__ = ["PresenceView"]


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
        """``{nickname: status}``: the status of the connection that changed last, the rule
        the browser UI uses too (``sync_diff`` appends joined metas, and an update is a join),
        so a notebook that starts running a cell shows its owner busy everywhere."""
        return {
            key: presence["metas"][-1].get("status", "online")
            for key, presence in self.state.items()
            if presence["metas"]
        }
