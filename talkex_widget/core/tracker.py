"""Presence across several server nodes, in the manner of Phoenix.Tracker. Pure: no I/O.

Each node owns the presences of its own sockets and tells the others what changed as numbered
deltas. Heartbeats carry the node's sequence number and how many presences it owns (a cheap
digest): a node that sees a gap, an unknown node, or a count that does not match asks that
node for its full state. A node silent for longer than the timeout is considered down and its
presences leave, with ordinary ``leaves`` diffs. A node name is stable across restarts while
its ``epoch`` changes, so a restarted node replaces its former self at once instead of leaving
ghosts until the timeout.

The service feeds :meth:`Tracker.receive` with what arrives from the pubsub and publishes what
the methods return; diffs returned as ``(topic, diff)`` go to the local members of that room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from talkex_widget.core.presence import (
    Diff,
    Meta,
    PresenceTable,
    State,
    empty_diff,
    is_empty,
    new_ref,
)

__all__ = ["SYNC_RETRY", "Tracker"]

SYNC_RETRY = 2.0
"""Seconds before asking the same node for its state again."""

Delivery = list[tuple[str, Diff]]
Outgoing = list[dict[str, Any]]


@dataclass
class RemoteNode:
    epoch: str
    seq: int = 0
    last_heard: float = 0.0
    refs: dict[str, dict[str, str]] = field(default_factory=dict)
    """``{topic: {phx_ref: key}}``: the presences this node owns."""
    sync_asked: float | None = None

    def count(self) -> int:
        return sum(len(refs) for refs in self.refs.values())


class Tracker:
    def __init__(self, node: str, epoch: str | None = None) -> None:
        self.node = node
        self.epoch = epoch or new_ref()
        self.seq = 0
        self.tables: dict[str, PresenceTable] = {}
        self.local: dict[str, dict[str, str]] = {}
        self.remotes: dict[str, RemoteNode] = {}

    # -- what this node's sockets do ----------------------------------------------------------

    def track(self, topic: str, key: str, meta: Meta) -> tuple[str, Diff, dict[str, Any]]:
        ref, diff = self._table(topic).track(key, meta)
        self.local.setdefault(topic, {})[ref] = key
        return ref, diff, self._delta(topic, diff)

    def update(
        self, topic: str, key: str, ref: str, meta: Meta
    ) -> tuple[str, Diff, dict[str, Any]]:
        fresh, diff = self._table(topic).update(key, ref, meta)
        owned = self.local.setdefault(topic, {})
        owned.pop(ref, None)
        owned[fresh] = key
        return fresh, diff, self._delta(topic, diff)

    def untrack(self, topic: str, key: str, ref: str) -> tuple[Diff, dict[str, Any]]:
        diff = self._table(topic).untrack(key, ref)
        owned = self.local.get(topic, {})
        owned.pop(ref, None)
        if not owned:
            self.local.pop(topic, None)
        self._forget_empty(topic)
        return diff, self._delta(topic, diff)

    def get(self, topic: str, key: str, ref: str) -> Meta | None:
        table = self.tables.get(topic)
        return table.get(key, ref) if table else None

    def state(self, topic: str) -> State:
        table = self.tables.get(topic)
        return table.state() if table else {}

    def _table(self, topic: str) -> PresenceTable:
        table = self.tables.get(topic)
        if table is None:
            table = self.tables[topic] = PresenceTable()
        return table

    def _forget_empty(self, topic: str) -> None:
        table = self.tables.get(topic)
        if table is not None and len(table) == 0:
            del self.tables[topic]

    def _delta(self, topic: str, diff: Diff) -> dict[str, Any]:
        self.seq += 1
        return {"type": "delta", **self._signature(), "topic": topic, "diff": diff}

    def _signature(self) -> dict[str, Any]:
        return {"node": self.node, "epoch": self.epoch, "seq": self.seq}

    # -- what this node tells the others ------------------------------------------------------

    def heartbeat(self) -> dict[str, Any]:
        count = sum(len(refs) for refs in self.local.values())
        return {"type": "heartbeat", **self._signature(), "count": count}

    def sync_message(self) -> dict[str, Any]:
        """This node's own presences, for a node that lost track of them."""
        state: dict[str, State] = {}
        for topic, refs in self.local.items():
            table = self.tables[topic]
            topic_state: State = {}
            for ref, key in refs.items():
                meta = table.get(key, ref)
                if meta is not None:
                    topic_state.setdefault(key, {"metas": []})["metas"].append(dict(meta))
            state[topic] = topic_state
        return {"type": "sync", **self._signature(), "state": state}

    # -- what the others tell this node -------------------------------------------------------

    def receive(self, message: dict[str, Any], now: float) -> tuple[Delivery, Outgoing]:
        """Apply one message from the bus; returns local diffs and messages to publish."""
        kind = message.get("type")
        node = message.get("node")
        if kind == "sync_request":
            return [], ([self.sync_message()] if message.get("to") == self.node else [])
        if node == self.node or not isinstance(node, str):
            return [], []
        delivery: Delivery = []
        remote = self.remotes.get(node)
        if remote is None or remote.epoch != message.get("epoch"):
            if remote is not None:  # the node restarted: its former presences are gone
                delivery += self._drop(node)
            remote = self.remotes[node] = RemoteNode(epoch=str(message.get("epoch")))
        remote.last_heard = now
        seq = int(message.get("seq", 0))
        outgoing: Outgoing = []
        if kind == "delta":
            if seq <= remote.seq:
                return delivery, []  # already covered by a sync
            in_order = seq == remote.seq + 1
            remote.seq = seq
            delivery += self._apply_remote(remote, message["topic"], message["diff"])
            if not in_order:
                outgoing += self._ask_sync(node, remote, now)
        elif kind == "heartbeat":
            if seq != remote.seq or message.get("count") != remote.count():
                outgoing += self._ask_sync(node, remote, now)
        elif kind == "sync":
            delivery += self._replace(remote, message.get("state", {}))
            remote.seq = seq
            remote.sync_asked = None
        return delivery, outgoing

    def expire(self, now: float, timeout: float) -> Delivery:
        """Remove the presences of nodes silent for ``timeout`` seconds."""
        delivery: Delivery = []
        for node, remote in list(self.remotes.items()):
            if now - remote.last_heard > timeout:
                delivery += self._drop(node)
        return delivery

    def _ask_sync(self, node: str, remote: RemoteNode, now: float) -> Outgoing:
        if remote.sync_asked is not None and now - remote.sync_asked < SYNC_RETRY:
            return []
        remote.sync_asked = now
        return [{"type": "sync_request", "node": self.node, "to": node}]

    def _apply_remote(self, remote: RemoteNode, topic: str, diff: Diff) -> Delivery:
        changed = self._table(topic).apply(diff)
        owned = remote.refs.setdefault(topic, {})
        for key, presence in changed["joins"].items():
            for meta in presence["metas"]:
                owned[meta["phx_ref"]] = key
        for presence in changed["leaves"].values():
            for meta in presence["metas"]:
                owned.pop(meta["phx_ref"], None)
        if not owned:
            remote.refs.pop(topic, None)
        self._forget_empty(topic)
        return [] if is_empty(changed) else [(topic, changed)]

    def _replace(self, remote: RemoteNode, state: dict[str, State]) -> Delivery:
        """Make this node's copy of ``remote``'s presences equal ``state``."""
        delivery: Delivery = []
        for topic in set(remote.refs) | set(state):
            held = remote.refs.get(topic, {})
            wanted = state.get(topic, {})
            wanted_refs = {m["phx_ref"] for p in wanted.values() for m in p["metas"]}
            diff = empty_diff()
            for key, presence in wanted.items():
                fresh = [m for m in presence["metas"] if m["phx_ref"] not in held]
                if fresh:
                    diff["joins"][key] = {"metas": fresh}
            for ref, key in held.items():
                if ref not in wanted_refs:
                    meta = self.get(topic, key, ref) or {"phx_ref": ref}
                    diff["leaves"].setdefault(key, {"metas": []})["metas"].append(meta)
            delivery += self._apply_remote(remote, topic, diff)
        return delivery

    def _drop(self, node: str) -> Delivery:
        remote = self.remotes.pop(node)
        return self._replace(remote, {})
