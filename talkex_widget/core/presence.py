"""Presence with Phoenix semantics, as plain data.

The shapes are Phoenix's so the stock ``phoenix.js`` ``Presence`` can consume what the server
sends: a state is ``{key: {"metas": [meta, ...]}}``, every meta carries a unique ``phx_ref``,
a diff is ``{"joins": state, "leaves": state}``.

Two halves:

* :class:`PresenceTable` is the server's authoritative table for one topic. Its operations
  return the diff to broadcast. It is mutable because rebuilding a 10,000-entry state for each
  join would make a join storm quadratic.
* :func:`sync_state`, :func:`sync_diff` and :func:`list_presences` are the client-side functions
  of ``presence.js`` (``syncState``/``syncDiff``/``list``), ported line for line so the Python
  client's view behaves exactly like the browser's.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from talkex_widget.core.names import LookAlikes

__all__ = [
    "Diff",
    "Meta",
    "PresenceTable",
    "State",
    "empty_diff",
    "is_empty",
    "list_presences",
    "new_ref",
    "sync_diff",
    "sync_state",
]

Meta = dict[str, Any]
State = dict[str, dict[str, list[Meta]]]
Diff = dict[str, State]

JoinCallback = Callable[[str, "dict[str, list[Meta]] | None", "dict[str, list[Meta]]"], None]
LeaveCallback = Callable[[str, "dict[str, list[Meta]]", "dict[str, list[Meta]]"], None]


def new_ref() -> str:
    """A presence reference like Phoenix's: short, random, opaque to clients."""
    return secrets.token_urlsafe(9)


def empty_diff() -> Diff:
    return {"joins": {}, "leaves": {}}


def is_empty(diff: Diff) -> bool:
    return not diff["joins"] and not diff["leaves"]


class PresenceTable:
    """Who is present on one topic: key (nickname) -> ``{phx_ref: meta}``, in join order."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Meta]] = {}
        self.names = LookAlikes()
        """The keys present, by skeleton: who a new name would be mistaken for."""

    def __len__(self) -> int:
        """Number of keys (people), not metas (connections)."""
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def keys(self) -> Iterator[str]:
        return iter(self._entries)

    def get(self, key: str, ref: str) -> Meta | None:
        return self._entries.get(key, {}).get(ref)

    def track(self, key: str, meta: Meta, ref: str | None = None) -> tuple[str, Diff]:
        """Add one connection's meta under ``key``; returns its ``phx_ref`` and the join diff."""
        ref = ref or new_ref()
        stored = {**meta, "phx_ref": ref}
        self._metas(key)[ref] = stored
        return ref, {"joins": {key: {"metas": [dict(stored)]}}, "leaves": {}}

    def update(
        self, key: str, ref: str, meta: Meta, new_ref_: str | None = None
    ) -> tuple[str, Diff]:
        """Replace a meta: old meta in ``leaves``, new one (with ``phx_ref_prev``) in ``joins``.

        Raises ``KeyError`` when ``(key, ref)`` is not tracked: updating someone who left is a
        caller bug, not something to paper over.
        """
        metas = self._entries[key]
        old = metas.pop(ref)
        fresh_ref = new_ref_ or new_ref()
        stored = {**meta, "phx_ref": fresh_ref, "phx_ref_prev": ref}
        metas[fresh_ref] = stored
        return fresh_ref, {
            "joins": {key: {"metas": [dict(stored)]}},
            "leaves": {key: {"metas": [old]}},
        }

    def untrack(self, key: str, ref: str) -> Diff:
        """Remove one connection's meta; the key disappears with its last meta."""
        metas = self._entries.get(key)
        if metas is None or ref not in metas:
            return empty_diff()
        old = metas.pop(ref)
        if not metas:
            self._drop(key)
        return {"joins": {}, "leaves": {key: {"metas": [old]}}}

    def apply(self, diff: Diff) -> Diff:
        """Apply a diff computed elsewhere (another node's); returns what actually changed.

        Idempotent: a leave of a meta not held, or a join of a meta already held, changes
        nothing and is left out of the result, so replaying a delta cannot duplicate anyone.
        Joins are applied before leaves, in the order phoenix.js's ``syncDiff`` uses.
        """
        changed = empty_diff()
        for key, presence in diff.get("joins", {}).items():
            metas = self._metas(key)
            added = []
            for meta in presence["metas"]:
                if meta["phx_ref"] not in metas:
                    metas[meta["phx_ref"]] = dict(meta)
                    added.append(dict(meta))
            if added:
                changed["joins"][key] = {"metas": added}
            elif not metas:
                self._drop(key)
        for key, presence in diff.get("leaves", {}).items():
            metas = self._entries.get(key)
            gone = [
                metas.pop(m["phx_ref"])
                for m in presence["metas"]
                if metas and m["phx_ref"] in metas
            ]
            if gone:
                changed["leaves"][key] = {"metas": gone}
            if metas is not None and not metas:
                self._drop(key)
        return changed

    def _metas(self, key: str) -> dict[str, Meta]:
        """The metas of ``key``, the key entered (and indexed) if it is new."""
        metas = self._entries.get(key)
        if metas is None:
            metas = self._entries[key] = {}
            self.names.add(key)
        return metas

    def _drop(self, key: str) -> None:
        del self._entries[key]
        self.names.discard(key)

    def state(self) -> State:
        """The full state as ``presence_state`` sends it (a fresh copy, safe to encode later)."""
        return {
            key: {"metas": [dict(meta) for meta in metas.values()]}
            for key, metas in self._entries.items()
        }


def sync_state(
    current: State,
    new_state: State,
    on_join: JoinCallback | None = None,
    on_leave: LeaveCallback | None = None,
) -> State:
    """``Presence.syncState`` of phoenix.js: reconcile a full state received after (re)join."""
    state = copy.deepcopy(current)
    joins: State = {}
    leaves: State = {}
    for key, presence in state.items():
        if key not in new_state:
            leaves[key] = presence
    for key, new_presence in new_state.items():
        current_presence = state.get(key)
        if current_presence is None:
            joins[key] = copy.deepcopy(new_presence)
            continue
        new_refs = {m["phx_ref"] for m in new_presence["metas"]}
        cur_refs = {m["phx_ref"] for m in current_presence["metas"]}
        joined = [m for m in new_presence["metas"] if m["phx_ref"] not in cur_refs]
        left = [m for m in current_presence["metas"] if m["phx_ref"] not in new_refs]
        if joined:
            joins[key] = {**copy.deepcopy(new_presence), "metas": copy.deepcopy(joined)}
        if left:
            leaves[key] = {**copy.deepcopy(current_presence), "metas": copy.deepcopy(left)}
    return sync_diff(state, {"joins": joins, "leaves": leaves}, on_join, on_leave)


def sync_diff(
    state: State,
    diff: Diff,
    on_join: JoinCallback | None = None,
    on_leave: LeaveCallback | None = None,
) -> State:
    """``Presence.syncDiff`` of phoenix.js: apply a ``presence_diff``; mutates ``state``."""
    diff = copy.deepcopy(diff)
    for key, new_presence in diff.get("joins", {}).items():
        current_presence = state.get(key)
        state[key] = copy.deepcopy(new_presence)
        if current_presence is not None:
            joined_refs = {m["phx_ref"] for m in state[key]["metas"]}
            kept = [m for m in current_presence["metas"] if m["phx_ref"] not in joined_refs]
            state[key]["metas"][:0] = kept
        if on_join:
            on_join(key, current_presence, new_presence)
    for key, left_presence in diff.get("leaves", {}).items():
        current_presence = state.get(key)
        if current_presence is None:
            continue
        remove = {m["phx_ref"] for m in left_presence["metas"]}
        current_presence["metas"] = [
            m for m in current_presence["metas"] if m["phx_ref"] not in remove
        ]
        if on_leave:
            on_leave(key, current_presence, left_presence)
        if not current_presence["metas"]:
            del state[key]
    return state


def list_presences(
    state: State,
    chooser: Callable[[str, dict[str, list[Meta]]], Any] | None = None,
) -> list[Any]:
    """``Presence.list`` of phoenix.js: one entry per key, shaped by ``chooser``."""
    if chooser is None:
        return list(state.values())
    return [chooser(key, presence) for key, presence in state.items()]
