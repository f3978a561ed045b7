"""Presence batching: diffs merged over a window (DiffBatch), the flushes that send them
(PresenceFlush, driven here by a fake clock), and the service's batches end to end."""

from __future__ import annotations

import asyncio
import copy
import random
from typing import Any

import pytest

from talkex_widget.client import RoomClient
from talkex_widget.core import presence_batch
from talkex_widget.core.presence import PresenceTable, State, sync_diff, sync_state
from talkex_widget.core.presence_batch import BATCH_MAX, DiffBatch, batch_window
from talkex_widget.server.app import TalkexServer
from talkex_widget.server.members import Member, Room
from talkex_widget.server.presence_flush import PresenceFlush
from tests.conftest import Connect, JoinRoom, Raw
from tests.helpers import eventually

from .fakes import FakeClock, FakePeer


def normal(state: State) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """A state with meta order left out: phoenix.js's order within a key is not semantic."""
    return {
        key: sorted(tuple(sorted(m.items())) for m in presence["metas"])
        for key, presence in state.items()
        if presence["metas"]
    }


def test_the_window_grows_with_the_room_within_bounds() -> None:
    assert batch_window(2) < 0.001  # two people: no waiting to speak of
    assert batch_window(1000) == pytest.approx(0.15)
    assert batch_window(1_000_000) == BATCH_MAX


def test_a_join_then_leave_within_a_window_cancels_out() -> None:
    table = PresenceTable()
    batch = DiffBatch()
    ref, diff = table.track("alice", {"status": "online"})
    batch.add(diff)
    batch.add(table.untrack("alice", ref))
    assert batch.diff() == {"joins": {}, "leaves": {}}
    assert batch  # something happened: joiners of the window still get their state


def test_a_reconnect_is_the_old_meta_leaving_and_the_new_one_joining() -> None:
    table = PresenceTable()
    old, _ = table.track("bob", {"status": "online"})
    before = table.state()
    batch = DiffBatch()
    batch.add(table.untrack("bob", old))
    new, diff = table.track("bob", {"status": "online"})
    batch.add(diff)
    merged = batch.diff()
    assert merged == {
        "joins": {"bob": {"metas": [{"status": "online", "phx_ref": new}]}},
        "leaves": {"bob": {"metas": [{"status": "online", "phx_ref": old}]}},
    }
    assert normal(sync_diff(copy.deepcopy(before), merged)) == normal(table.state())


def test_updates_keep_phx_ref_prev_and_only_the_latest_meta_goes_out() -> None:
    table = PresenceTable()
    r1, _ = table.track("carol", {"status": "online"})
    batch = DiffBatch()
    r2, diff = table.update("carol", r1, {"status": "away"})
    batch.add(diff)
    r3, diff = table.update("carol", r2, {"status": "busy"})
    batch.add(diff)
    assert batch.diff() == {
        "joins": {"carol": {"metas": [{"status": "busy", "phx_ref": r3, "phx_ref_prev": r2}]}},
        "leaves": {"carol": {"metas": [{"status": "online", "phx_ref": r1}]}},
    }


def test_a_meta_that_left_and_came_back_is_a_join_only_if_it_changed() -> None:
    meta = {"status": "online", "phx_ref": "r1"}
    batch = DiffBatch()
    batch.add({"joins": {}, "leaves": {"dan": {"metas": [meta]}}})
    batch.add({"joins": {"dan": {"metas": [dict(meta)]}}, "leaves": {}})
    assert batch.diff() == {"joins": {}, "leaves": {}}
    changed = {**meta, "status": "away"}
    batch.add({"joins": {}, "leaves": {"dan": {"metas": [dict(meta)]}}})
    batch.add({"joins": {"dan": {"metas": [changed]}}, "leaves": {}})
    assert batch.diff() == {"joins": {"dan": {"metas": [changed]}}, "leaves": {}}
    assert batch.rewind({"dan": {"metas": [changed]}}) == {"dan": {"metas": [meta]}}


@pytest.mark.parametrize("seed", range(300))
def test_a_merged_window_ends_where_its_diffs_one_by_one_end(seed: int) -> None:
    """Random tracks, updates, untracks and remote resyncs (a meta leaving and coming back):
    the merged diff brings an existing view to the server's state, exactly as the diffs one
    by one would, and a joiner of the window (rewound state, then the diff) ends there too."""
    rng = random.Random(seed)
    origin = PresenceTable()  # where presences are tracked (another node, say)
    replica = PresenceTable()  # this node's copy, fed with the origin's diffs like a tracker
    refs: list[tuple[str, str]] = []
    for i in range(rng.randrange(0, 5)):
        key = rng.choice("abc")
        ref, diff = origin.track(key, {"n": i})
        replica.apply(diff)
        refs.append((key, ref))
    start = replica.state()
    one_by_one = copy.deepcopy(start)
    batch = DiffBatch()
    for step in range(rng.randrange(1, 12)):
        op = rng.random()
        if op < 0.35 or not refs:
            key = rng.choice("abcd")
            ref, diff = origin.track(key, {"n": 100 + step})
            refs.append((key, ref))
        elif op < 0.6:
            key, ref = refs.pop(rng.randrange(len(refs)))
            ref, diff = origin.update(key, ref, {"n": 200 + step})
            refs.append((key, ref))
        elif op < 0.85:
            key, ref = refs.pop(rng.randrange(len(refs)))
            diff = origin.untrack(key, ref)
        else:  # the replica lost the origin and resyncs: everything leaves and comes back
            changed = replica.apply({"joins": {}, "leaves": replica.state()})
            batch.add(changed)
            sync_diff(one_by_one, changed)
            diff = {"joins": origin.state(), "leaves": {}}
        changed = replica.apply(diff)
        batch.add(changed)
        sync_diff(one_by_one, changed)
    now = replica.state()
    assert normal(one_by_one) == normal(now)
    merged = batch.diff()
    assert normal(sync_diff(copy.deepcopy(start), merged)) == normal(now)
    rewound = batch.rewind(now)
    assert normal(rewound) == normal(start)
    assert normal(sync_diff(sync_state({}, rewound), merged)) == normal(now)
    for presence in merged["joins"].values():  # no meta both joins and leaves
        joined = {m["phx_ref"] for m in presence["metas"]}
        left = {m["phx_ref"] for p in merged["leaves"].values() for m in p["metas"]}
        assert not joined & left


# -- PresenceFlush with a fake clock ---------------------------------------------------------


class Lobby:
    """One room of local members, its presence table, and a PresenceFlush on a fake clock."""

    topic = "room:lobby"

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.table = PresenceTable()
        self.room = Room("lobby")
        self.rooms = {"lobby": self.room}
        self.flush = PresenceFlush(self.rooms, lambda _topic: self.table.state(), self.clock)

    def member(self, nickname: str, *, joined: bool = True) -> Member:
        """A local member; ``joined`` ones already had their ``presence_state``."""
        peer = FakePeer(nickname)
        member = Member(peer, "lobby", join_ref="1", buffer=None if joined else [])
        self.room.members[(peer.id, self.topic)] = member
        return member

    def track(self, member: Member) -> None:
        member.phx_ref, diff = self.table.track(member.peer.nickname, {"status": "online"})
        self.flush.add_diff(self.topic, diff)

    def join(self, nickname: str) -> Member:
        """A member joining now, as the service does it: tracked, and waiting for its state."""
        member = self.member(nickname, joined=False)
        self.flush.add_joiner(member)
        self.track(member)
        return member


def peer(member: Member) -> FakePeer:
    assert isinstance(member.peer, FakePeer)
    return member.peer


def diffs(member: Member) -> list[dict[str, Any]]:
    return [frame[4] for frame in peer(member).take() if frame[3] == "presence_diff"]


def test_the_first_change_goes_out_at_once_and_the_next_ones_wait_for_the_window() -> None:
    lobby = Lobby()
    watcher = lobby.member("watcher")
    lobby.track(lobby.member("ann"))
    assert lobby.clock.pending == [0.0]  # flushed as soon as the loop gets to it
    lobby.clock.advance()
    assert [set(d["joins"]) for d in diffs(watcher)] == [{"ann"}]
    window = batch_window(len(lobby.room.members))
    assert lobby.clock.pending == [window]
    lobby.track(lobby.member("bob"))
    lobby.track(lobby.member("cy"))
    lobby.clock.advance(window / 2)
    assert diffs(watcher) == []  # gathered, not sent
    lobby.clock.advance(window / 2)
    assert [set(d["joins"]) for d in diffs(watcher)] == [{"bob", "cy"}]  # one merged diff


def test_a_quiet_window_ends_the_batch_so_the_next_change_is_sent_at_once() -> None:
    lobby = Lobby()
    watcher = lobby.member("watcher")
    lobby.track(lobby.member("ann"))
    lobby.clock.advance()
    lobby.clock.advance(1.0)  # the window's flush finds nothing
    assert lobby.flush.batches == {} and lobby.clock.pending == []
    diffs(watcher)
    lobby.track(lobby.member("bob"))
    lobby.clock.advance()
    assert [set(d["joins"]) for d in diffs(watcher)] == [{"bob"}]


def test_every_member_gets_the_same_diff_text_object() -> None:
    lobby = Lobby()
    members = [lobby.member(f"m{i}") for i in range(3)]
    lobby.track(lobby.member("ann"))
    lobby.clock.advance()
    sent = [peer(m).sent for m in members]
    assert all(len(texts) == 1 for texts in sent)
    assert sent[0][0] is sent[1][0] is sent[2][0]  # framed once by the socket side


def test_joiners_get_the_state_before_the_window_then_what_was_broadcast_then_the_diff() -> None:
    lobby = Lobby()
    lobby.track(lobby.member("old"))
    lobby.clock.advance()
    window = batch_window(len(lobby.room.members))
    first, second = lobby.join("ann"), lobby.join("bob")
    first.deliver('[null,null,"room:lobby","new_msg",{"body":"hi"}]')
    assert peer(first).sent == [] and peer(second).sent == []  # nothing before the state
    lobby.clock.advance(window)
    got = {member.peer.nickname: peer(member).take() for member in (first, second)}
    assert [f[3] for f in got["ann"]] == ["presence_state", "new_msg", "presence_diff"]
    assert [f[3] for f in got["bob"]] == ["presence_state", "presence_diff"]
    for frames in got.values():
        state, diff = frames[0][4], frames[-1][4]
        assert frames[0][:3] == ["1", None, "room:lobby"]
        assert set(state) == {"old"}  # the state before the merged diff
        assert set(diff["joins"]) == {"ann", "bob"}
        assert normal(sync_diff(sync_state({}, state), diff)) == normal(lobby.table.state())
    assert first.buffer is None and second.buffer is None


def test_a_joiner_that_left_before_the_flush_is_sent_nothing() -> None:
    lobby = Lobby()
    watcher = lobby.member("watcher")
    gone = lobby.join("gone")
    del lobby.room.members[(gone.peer.id, lobby.topic)]
    lobby.flush.add_diff(lobby.topic, lobby.table.untrack("gone", gone.phx_ref or ""))
    lobby.clock.advance()
    assert peer(gone).sent == []
    assert diffs(watcher) == []  # joined and left within the window: nothing to tell


def test_a_room_without_local_members_gathers_nothing() -> None:
    lobby = Lobby()
    lobby.rooms.clear()
    _ref, diff = lobby.table.track("remote", {"status": "online"})
    lobby.flush.add_diff(lobby.topic, diff)
    assert lobby.flush.batches == {} and lobby.clock.pending == []


# -- the service's batches, end to end ------------------------------------------------------


async def test_a_join_storm_costs_a_few_presence_frames_per_member(
    server: TalkexServer, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence_batch, "BATCH_PER_MEMBER", 0.05)  # windows outlast a slow storm
    n = 30
    diffs = 0

    def count(_payload: dict[str, Any]) -> None:
        nonlocal diffs
        diffs += 1

    async def member(i: int) -> RoomClient:
        client = RoomClient(await connect(f"user{i}"), "lobby")
        client.channel.on("presence_diff", count)
        await client.join()
        return client

    clients = list(await asyncio.gather(*(member(i) for i in range(n))))
    await eventually(lambda: all(len(c.presence.state) == n for c in clients), timeout=10)
    tracker_state = server.service.tracker.state("room:lobby")
    for client in clients:
        assert normal(client.presence.state) == normal(tracker_state)
    assert diffs <= 3 * n, f"{diffs} presence_diff frames for {n} joins (naive: {n * n // 2})"


async def test_views_match_the_server_after_joins_leaves_updates_and_rejoins(
    server: TalkexServer, join_room: JoinRoom
) -> None:
    clients = list(await asyncio.gather(*(join_room(f"p{i}") for i in range(12))))
    tabs = list(await asyncio.gather(*(join_room(f"p{i}") for i in range(4))))  # second tabs
    await asyncio.gather(
        *(c.set_status("away") for c in clients[:4]),
        *(c.leave() for c in clients[8:]),
        *(t.socket.disconnect() for t in tabs[:2]),
        *(join_room(f"late{i}") for i in range(5)),
    )
    await asyncio.gather(*(c.set_status("busy") for c in clients[:2]))
    watchers = [*clients[:8], *tabs[2:]]

    def agree() -> bool:
        truth = normal(server.service.tracker.state("room:lobby"))
        return all(normal(c.presence.state) == truth for c in watchers)

    await eventually(agree, timeout=10, what="every view equal to the server's presence")
    assert set(clients[0].presence.statuses()) == {
        *(f"p{i}" for i in range(8)),
        *(f"late{i}" for i in range(5)),
    }
    assert len(clients[0].presence.list()["p2"]) == 2  # p2 and p3 kept their second tab


async def test_messages_broadcast_while_joining_follow_the_state_in_order(raw: Raw) -> None:
    talker = await raw("talker")
    talker.send(["1", "1", "room:lobby", "phx_join", {}])
    await talker.reply_to("1")
    joiner = await raw("joiner")
    joiner.send(["1", "1", "room:lobby", "phx_join", {}])
    for i in range(5):
        talker.send(["1", f"m{i}", "room:lobby", "new_msg", {"body": f"hello {i}"}])
    await joiner.until(lambda f: f[3] == "new_msg" and f[4]["body"] == "hello 4")
    events = [f[3] for f in joiner.received]
    assert events[0] == "phx_reply" and events[1] == "presence_state"
    bodies = [f[4]["body"] for f in joiner.received if f[3] == "new_msg"]
    assert bodies == [f"hello {i}" for i in range(5)]
    state = joiner.received[1][4]
    assert "talker" in state
