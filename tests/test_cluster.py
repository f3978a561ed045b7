"""Two server nodes on one bus (in-process memory pubsub, shared history): one set of rooms."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from talkex_widget.backends.history.memory import MemoryHistory
from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.client import RoomClient, Socket
from talkex_widget.server.app import ServerConfig, TalkexServer
from talkex_widget.server.cluster import PRESENCE_CHANNEL

from .conftest import TOKEN
from .helpers import eventually


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[MemoryPubSub, MemoryHistory, list[TalkexServer]]]:
    bus, store, servers = MemoryPubSub(), MemoryHistory(), []
    yield bus, store, servers
    for srv in servers:
        with contextlib.suppress(Exception):
            await srv.stop()


async def start_node(cluster, name: str, timeout: float = 0.6) -> TalkexServer:  # type: ignore[no-untyped-def]
    bus, store, servers = cluster
    config = ServerConfig(port=0, token=TOKEN, node_name=name, node_timeout=timeout)
    srv = TalkexServer(config, history_store=store, bus=bus)
    await srv.start()
    servers.append(srv)
    return srv


async def join(srv: TalkexServer, nickname: str, room: str = "lobby") -> RoomClient:
    sock = Socket(f"http://127.0.0.1:{srv.port}/", {"nickname": nickname, "token": TOKEN})
    await sock.connect()
    client = RoomClient(sock, room)
    await client.join()
    return client


async def test_users_on_two_nodes_chat_and_see_each_other(cluster) -> None:  # type: ignore[no-untyped-def]
    a = await start_node(cluster, "a")
    b = await start_node(cluster, "b")
    alice = await join(a, "alice")
    bob = await join(b, "bob")
    await eventually(lambda: set(alice.presence.statuses()) == {"alice", "bob"})
    await eventually(lambda: set(bob.presence.statuses()) == {"alice", "bob"})
    first = await alice.send("from a")
    second = await bob.send("from b")
    assert second == first + 1  # ids unique and ordered across nodes
    await eventually(lambda: first in bob.messages and second in alice.messages)
    await bob.set_status("away")
    await eventually(lambda: alice.presence.statuses().get("bob") == "away")
    tab_a = await join(a, "carol")
    tab_b = await join(b, "carol")
    await eventually(lambda: len(alice.presence.list().get("carol", [])) == 2)
    await eventually(lambda: len(bob.presence.list().get("carol", [])) == 2)
    await tab_a.socket.disconnect()
    await eventually(lambda: len(bob.presence.list().get("carol", [])) == 1)
    await tab_b.leave()
    await eventually(lambda: "carol" not in alice.presence.statuses())
    for c in (alice, bob):
        await c.socket.disconnect()


async def test_late_node_gets_the_existing_presences(cluster) -> None:  # type: ignore[no-untyped-def]
    a = await start_node(cluster, "a")
    alice = await join(a, "alice")
    b = await start_node(cluster, "b")
    bob = await join(b, "bob")
    await eventually(lambda: set(bob.presence.statuses()) == {"alice", "bob"}, timeout=5)
    for c in (alice, bob):
        await c.socket.disconnect()


async def test_a_dead_node_leaves_and_its_restart_brings_no_ghosts(cluster) -> None:  # type: ignore[no-untyped-def]
    bus, _store, _servers = cluster
    a = await start_node(cluster, "a")
    b = await start_node(cluster, "b")
    alice = await join(a, "alice")
    bob = await join(b, "bob")
    await eventually(lambda: set(alice.presence.statuses()) == {"alice", "bob"})
    # B dies without a word: no untrack, no heartbeats, deaf to the bus.
    await b.service.cluster.close()
    await bus.unsubscribe(PRESENCE_CHANNEL, b.service.cluster.receive)
    b.service.cluster.pubsub = MemoryPubSub()
    leaves: list[str] = []
    alice.channel.on("presence_diff", lambda d: leaves.extend(d["leaves"]))
    await eventually(lambda: "bob" not in alice.presence.statuses(), timeout=3)
    assert leaves == ["bob"]  # nothing else changed
    assert "alice" in alice.presence.statuses()
    # B comes back under the same name (a new epoch) and bob reconnects to it once.
    b2 = await start_node(cluster, "b")
    bob2 = await join(b2, "bob")
    await eventually(lambda: "bob" in alice.presence.statuses(), timeout=3)
    await asyncio.sleep(0.5)  # a few heartbeats: nothing more may appear
    assert len(alice.presence.list()["bob"]) == 1
    for c in (alice, bob, bob2):
        with contextlib.suppress(Exception):
            await c.socket.disconnect()
