"""The multi-node tracker as pure data: deltas, heartbeats, syncs, node death and restart."""

from __future__ import annotations

from typing import Any

from talkex_widget.core.presence import sync_diff
from talkex_widget.core.tracker import Tracker

T = "room:lobby"


def deliver(client: dict[str, Any], deliveries: list[tuple[str, Any]]) -> dict[str, Any]:
    for _topic, diff in deliveries:
        client = sync_diff(client, diff)
    return client


def test_deltas_replicate_tracks_updates_and_untracks() -> None:
    a, b = Tracker("a"), Tracker("b")
    ref, _, delta = a.track(T, "alice", {"status": "online"})
    out, _ = b.receive(delta, now=0)
    assert out[0][1]["joins"]["alice"]["metas"][0]["phx_ref"] == ref
    new_ref, _, delta = a.update(T, "alice", ref, {"status": "away"})
    out, _ = b.receive(delta, now=0)
    assert b.state(T) == a.state(T)
    assert b.state(T)["alice"]["metas"][0]["phx_ref_prev"] == ref
    _, delta = a.untrack(T, "alice", new_ref)
    b.receive(delta, now=0)
    assert b.state(T) == {} == a.state(T)


def test_one_person_on_two_nodes_is_one_key_with_two_metas() -> None:
    a, b = Tracker("a"), Tracker("b")
    _, _, da = a.track(T, "carol", {"status": "online"})
    _, _, db = b.track(T, "carol", {"status": "online"})
    a.receive(db, now=0)
    b.receive(da, now=0)
    assert len(a.state(T)["carol"]["metas"]) == 2
    assert len(b.state(T)["carol"]["metas"]) == 2


def test_replayed_delta_changes_nothing() -> None:
    a, b = Tracker("a"), Tracker("b")
    _, _, delta = a.track(T, "alice", {})
    b.receive(delta, now=0)
    out, _ = b.receive(delta, now=0)
    assert out == [] and len(b.state(T)["alice"]["metas"]) == 1


def test_a_gap_or_a_count_mismatch_asks_for_a_sync_which_repairs_the_replica() -> None:
    a, b = Tracker("a"), Tracker("b")
    a.track(T, "lost1", {})  # deltas b never sees
    a.track(T, "lost2", {})
    _, _, delta = a.track(T, "seen", {})
    out, asks = b.receive(delta, now=0)
    assert asks == [{"type": "sync_request", "node": "b", "to": "a"}]
    _, again = b.receive(a.heartbeat(), now=0.5)
    assert again == []  # not asked twice within the retry window
    _, answers = a.receive(asks[0], now=0)
    client = deliver({}, out)
    out, _ = b.receive(answers[0], now=0.6)
    client = deliver(client, out)
    assert b.state(T) == a.state(T) and set(client) == {"lost1", "seen", "lost2"}
    _, asks = b.receive(a.heartbeat(), now=5)
    assert asks == []  # in sync now


def test_a_silent_node_expires_with_ordinary_leaves() -> None:
    a, b = Tracker("a"), Tracker("b")
    _, _, delta = b.track(T, "bob", {})
    a.receive(delta, now=0)
    client = deliver({}, [(T, {"joins": a.state(T), "leaves": {}})])
    assert a.expire(now=10, timeout=30) == []
    out = a.expire(now=31, timeout=30)
    assert list(out[0][1]["leaves"]) == ["bob"] and a.state(T) == {}
    assert deliver(client, out) == {}


def test_a_restarted_node_replaces_its_former_self_at_once() -> None:
    a, b = Tracker("a"), Tracker("b", epoch="one")
    _, _, delta = b.track(T, "bob", {})
    a.receive(delta, now=0)
    reborn = Tracker("b", epoch="two")
    _, _, delta = reborn.track(T, "bob", {})
    out, _ = a.receive(delta, now=1)
    client = deliver({"bob": {"metas": list(a.state(T)["bob"]["metas"])}}, out)
    assert len(a.state(T)["bob"]["metas"]) == 1  # no ghost meta from the old epoch
    assert client == a.state(T)


def test_own_messages_are_ignored_and_sync_is_only_answered_when_addressed() -> None:
    a = Tracker("a")
    _, _, delta = a.track(T, "alice", {})
    assert a.receive(delta, now=0) == ([], [])
    assert a.receive({"type": "sync_request", "node": "b", "to": "c"}, now=0) == ([], [])
