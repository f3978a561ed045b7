"""Presence batching: many presence changes reaching a room as one diff. Pure: no I/O.

Delivering each join to everyone makes a join storm of N users cost N²/2 frames.
:class:`DiffBatch` merges the diffs of a short window into one diff, delivered once per
member, and :meth:`DiffBatch.rewind` gives the state the members held before it, which is what
a socket that joined during the window is sent as its ``presence_state``.
"""

from __future__ import annotations

from dataclasses import dataclass

from talkex_widget.core.presence import Diff, Meta, State, empty_diff

__all__ = ["BATCH_MAX", "BATCH_PER_MEMBER", "DiffBatch", "batch_window"]

BATCH_PER_MEMBER = 0.00015
BATCH_MAX = 1.0
"""A room's presence batch window: 0.15 ms per member (150 ms at 1,000), at most 1 s.

A flush costs one send per member, so a window in proportion to the room keeps a room's
presence within about 7,000 deliveries per second (10,000 in a room of 10,000) however fast
people come and go, and a join storm of N people far below the N²/2 of one diff per join.
A small room hardly waits: two people's presence goes out within a millisecond."""


def batch_window(members: int) -> float:
    """How long a room's presence changes are gathered before one diff goes out."""
    return min(BATCH_MAX, members * BATCH_PER_MEMBER)


@dataclass(slots=True)
class _Change:
    """One meta's fate over a window, by ``phx_ref`` (unique, never reused for another meta)."""

    key: str
    before: Meta | None
    """The meta as clients held it when the window opened; ``None`` if they did not."""
    after: Meta | None
    """The meta now; ``None`` if it has left."""


class DiffBatch:
    """Presence diffs of one topic merged over a window, as phoenix.js's ``syncDiff`` sees them.

    Merging is per meta: a meta that joined and left within the window cancels out (clients
    never hear of it); one that left and came back is sent as a join (its latest meta);
    an ``update`` stays a leave of the old meta plus a join of the new one, ``phx_ref_prev``
    untouched. ``syncDiff`` applies joins before leaves, which is right for the merged diff
    because no meta is in both.
    """

    def __init__(self) -> None:
        self._changes: dict[str, _Change] = {}

    def __bool__(self) -> bool:
        return bool(self._changes)

    def add(self, diff: Diff) -> None:
        """Merge the next diff (joins before leaves, as the tracker's diffs are applied).

        A meta seen first in ``joins`` was not held when the window opened; one seen first in
        ``leaves`` was. Either way its latest fate is what it is now: joined, or gone.
        """
        changes = self._changes
        for side, joined in (("joins", True), ("leaves", False)):
            for key, presence in diff.get(side, {}).items():
                for meta in presence["metas"]:
                    now = meta if joined else None
                    change = changes.get(meta["phx_ref"])
                    if change is None:
                        changes[meta["phx_ref"]] = _Change(key, None if joined else meta, now)
                    else:
                        change.after = now

    def diff(self) -> Diff:
        """The merged diff: what turns the clients' state at the window's start into now."""
        merged = empty_diff()
        for change in self._changes.values():
            if change.after is not None:
                if change.after != change.before:
                    merged["joins"].setdefault(change.key, {"metas": []})["metas"].append(
                        change.after
                    )
            elif change.before is not None:
                merged["leaves"].setdefault(change.key, {"metas": []})["metas"].append(
                    change.before
                )
        return merged

    def rewind(self, state: State) -> State:
        """The state clients held at the window's start, given the state now.

        A socket that joined during the window gets this as its ``presence_state`` and then
        the merged diff, like everyone else, which brings it to ``state`` exactly.
        """
        changes = self._changes
        before: State = {}
        for key, presence in state.items():
            metas = [m for m in presence["metas"] if m["phx_ref"] not in changes]
            if metas:
                before[key] = {"metas": metas}
        for change in changes.values():
            if change.before is not None:
                before.setdefault(change.key, {"metas": []})["metas"].append(change.before)
        return before
