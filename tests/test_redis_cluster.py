"""Two ``talkex serve`` processes on one Redis: ``test_cluster.py``'s scenarios for real, and
the crashes a memory bus cannot show (a node killed with SIGKILL, Redis itself killed). The
nodes sign the bus with a cluster secret, and someone else on the same Redis is heard by none.

Every wait is on a condition with a bound. "Nothing more happens" is shown by waiting for a
few heartbeats of the node concerned on the presence channel, observed with a pubsub of our
own, then looking again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from tornado.httpclient import AsyncHTTPClient

from talkex_widget.backends.pubsub import PubSub, from_url
from talkex_widget.client import RoomClient, Socket
from talkex_widget.server.service import PRESENCE_CHANNEL

from .helpers import eventually, free_port
from .processes import TalkexServe, talkex
from .redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TOKEN = "cluster-token"
CLUSTER_SECRET = "cluster-secret-" + "s" * 32
NODE_TIMEOUT = 2.0
HEARTBEAT = NODE_TIMEOUT / 3
START_TIMEOUT = 30.0
RECONNECT = 20.0
"""Bound for anything that waits on a client's or a node's reconnection backoff (5 s steps)."""


class Node(TalkexServe):
    """One ``talkex serve`` process of the cluster, restarted on its port under its name."""

    def __init__(self, name: str, redis: RedisServer, db: str, directory: Path) -> None:
        secret = directory / "cluster-secret"
        secret.write_text(CLUSTER_SECRET + "\n")
        secret.chmod(0o600)
        super().__init__(
            *("--pubsub", redis.url(), "--node-name", name, "--node-timeout", str(NODE_TIMEOUT)),
            *("--cluster-secret-file", str(secret)),
            db=db,
            token=TOKEN,
            log=directory / f"node-{name}.log",
        )
        self.name = name

    async def up(self) -> None:
        """Start, or start again, off the test's loop: its clients keep reconnecting."""
        await asyncio.to_thread(self.start, START_TIMEOUT)

    async def status(self) -> str | None:
        """``/healthz``'s status, or ``None`` while the node does not answer."""
        health = await asyncio.to_thread(self.health)
        return None if health is None else str(health["status"])

    async def rejected(self) -> int:
        """How many pubsub messages the node dropped unsigned (``/healthz``, token holders)."""
        response = await AsyncHTTPClient().fetch(
            self.url + "healthz", headers={"Authorization": f"token {TOKEN}"}
        )
        return int(json.loads(response.body)["pubsub_rejected"])

    def log_lines(self, text: str) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if text in line]


class Cluster:
    """Redis, the nodes, the clients and a bus observer; all torn down by the fixture."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.redis = RedisServer(directory / "redis")
        self.nodes: list[Node] = []
        self.sockets: list[Socket] = []
        self.observer: PubSub | None = None
        self.heard: list[dict[str, Any]] = []
        """Every presence message on the bus since :meth:`observe`."""

    async def node(self, name: str, db: str) -> Node:
        node = Node(name, self.redis, db, self.directory)
        await node.up()
        self.nodes.append(node)
        return node

    async def join(self, node: Node, nickname: str, room: str = "lobby") -> RoomClient:
        socket = Socket(node.url, {"nickname": nickname, "token": TOKEN})
        await socket.connect()
        self.sockets.append(socket)
        client = RoomClient(socket, room)
        await client.join()
        return client

    async def observe(self) -> None:
        self.observer = from_url(self.redis.url(), secret=CLUSTER_SECRET)
        await self.observer.start()
        await self.observer.subscribe(PRESENCE_CHANNEL, self._heard)

    def _heard(self, _channel: str, data: str) -> None:
        self.heard.append(orjson.loads(data))

    def heartbeats(self, node: str, since: int) -> int:
        return self.count("heartbeat", node, since)

    def count(self, kind: str, node: str, since: int = 0) -> int:
        return sum(1 for m in self.heard[since:] if m["type"] == kind and m["node"] == node)

    async def quiet(self, *nodes: str, beats: int = 3) -> None:
        """Wait until each node sent ``beats`` more heartbeats: time for any late change."""
        since = len(self.heard)
        await eventually(
            lambda: all(self.heartbeats(node, since) >= beats for node in nodes),
            timeout=RECONNECT,
            what=f"{beats} heartbeats from {nodes}",
        )

    async def health(self, status: str) -> None:
        """Wait until every node's ``/healthz`` reports ``status``."""
        deadline = time.monotonic() + RECONNECT
        while [await node.status() for node in self.nodes] != [status] * len(self.nodes):
            assert time.monotonic() < deadline, f"/healthz did not turn {status!r} on every node"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for socket in self.sockets:
            with contextlib.suppress(Exception):
                await socket.disconnect()
        if self.observer is not None:
            await self.observer.close()
        for node in self.nodes:
            node.stop()
        self.redis.kill()
        for node in self.nodes:  # shown by pytest when the test failed
            print(f"----- {node.log.name}\n{node.log.read_text(errors='replace')[-20_000:]}")


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path)
    cluster.redis.start()
    await cluster.observe()
    try:
        yield cluster
    finally:
        await cluster.close()


def metas(client: RoomClient) -> dict[str, int]:
    """``{nickname: number of metas}`` as this client sees the room."""
    return {key: len(value) for key, value in client.presence.list().items()}


def record_diffs(client: RoomClient) -> list[dict[str, Any]]:
    diffs: list[dict[str, Any]] = []
    client.channel.on("presence_diff", diffs.append)
    return diffs


async def test_users_on_two_processes_chat_and_see_each_other(cluster: Cluster) -> None:
    db = cluster.redis.url()
    a = await cluster.node("a", db)
    b = await cluster.node("b", db)
    alice = await cluster.join(a, "alice")
    bob = await cluster.join(b, "bob")
    await eventually(lambda: set(alice.presence.statuses()) == {"alice", "bob"})
    await eventually(lambda: set(bob.presence.statuses()) == {"alice", "bob"})

    first = await alice.send("from a")
    second = await bob.send("from b")
    assert second == first + 1  # one id sequence for the room, whichever node stores
    sent = await asyncio.gather(
        *(alice.send(f"a{i}") for i in range(8)), *(bob.send(f"b{i}") for i in range(8))
    )
    assert sorted(sent) == list(range(second + 1, second + 17))  # unique, no gaps
    assert sent[:8] == sorted(sent[:8]) and sent[8:] == sorted(sent[8:])  # in sending order
    everything = list(range(first, second + 17))
    await eventually(lambda: sorted(alice.messages) == everything, what="all messages on A")
    await eventually(lambda: sorted(bob.messages) == everything, what="all messages on B")

    await bob.set_status("away")
    await eventually(lambda: alice.presence.statuses().get("bob") == "away")
    await alice.set_status("busy")
    await eventually(lambda: bob.presence.statuses().get("alice") == "busy")

    tab_a = await cluster.join(a, "carol")
    tab_b = await cluster.join(b, "carol")
    for client in (alice, bob, tab_a, tab_b):  # one key, two metas, everywhere
        await eventually(lambda c=client: metas(c).get("carol") == 2, what="carol's two tabs")
    await tab_a.socket.disconnect()
    await eventually(lambda: metas(bob).get("carol") == 1 and metas(alice).get("carol") == 1)
    await tab_b.leave()
    await eventually(lambda: "carol" not in alice.presence.statuses())
    await eventually(lambda: "carol" not in bob.presence.statuses())

    # Any node serves the history, wherever the messages were posted.
    dave = await cluster.join(b, "dave")
    assert [m["id"] for m in dave.ordered()] == everything
    assert dave.ordered()[0]["body"] == "from a"


async def test_a_killed_node_leaves_and_its_restart_brings_no_ghosts(cluster: Cluster) -> None:
    db = cluster.redis.url()
    a = await cluster.node("a", db)
    b = await cluster.node("b", db)
    alice = await cluster.join(a, "alice")
    bob = await cluster.join(b, "bob")
    eve = await cluster.join(b, "eve")
    everyone = {"alice": 1, "bob": 1, "eve": 1}
    await eventually(lambda: metas(alice) == everyone)
    diffs = record_diffs(alice)

    b.kill()
    killed = time.monotonic()
    await eventually(
        lambda: metas(alice) == {"alice": 1}, timeout=3 * NODE_TIMEOUT, what="B's users leave"
    )
    assert time.monotonic() - killed < NODE_TIMEOUT + 3 * HEARTBEAT
    # nothing else changed: only leaves, only of B's users
    assert all(not diff["joins"] for diff in diffs), diffs
    assert sorted(key for diff in diffs for key in diff["leaves"]) == ["bob", "eve"]
    assert await a.status() == "ok"

    diffs.clear()
    await b.up()  # same name, same port: bob's and eve's clients reconnect by themselves
    await eventually(lambda: metas(alice) == everyone, timeout=RECONNECT, what="B's users back")
    for client in (bob, eve):
        await eventually(lambda c=client: metas(c) == everyone, what="B's users see everyone")
    await cluster.quiet("a", "b")
    assert metas(alice) == everyone
    assert sorted(key for diff in diffs for key in diff["joins"]) == ["bob", "eve"]  # once each
    assert all(not diff["leaves"] for diff in diffs), diffs

    # and the restarted node is a full member again
    await alice.send("welcome back")
    await eventually(lambda: any(m["body"] == "welcome back" for m in bob.ordered()))


async def test_a_redis_outage_keeps_rooms_local_then_presence_converges(
    cluster: Cluster, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"  # history survives Redis: chat goes on
    a = await cluster.node("a", db)
    b = await cluster.node("b", db)
    alice, amy = await cluster.join(a, "alice"), await cluster.join(a, "amy")
    bob, bill = await cluster.join(b, "bob"), await cluster.join(b, "bill")
    clients = (alice, amy, bob, bill)
    for client in clients:
        await eventually(
            lambda c=client: metas(c) == dict.fromkeys(("alice", "amy", "bob", "bill"), 1)
        )

    cluster.redis.kill()
    await cluster.health("degraded")
    # Each node's rooms carry on by themselves.
    said_on_a = await alice.send("only A hears this")
    await eventually(lambda: said_on_a in amy.messages, what="local delivery on A")
    said_on_b = await bob.send("only B hears this")
    await eventually(lambda: said_on_b in bill.messages, what="local delivery on B")
    # Presence changes while the nodes cannot talk: they must be reconciled afterwards.
    carol = await cluster.join(b, "carol")
    await amy.set_status("busy")
    await eventually(lambda: bill.presence.statuses().get("carol") == "online")
    # Long enough for each node to give the other up: it must come back as a new acquaintance.
    await eventually(
        lambda: (
            set(alice.presence.statuses()) == {"alice", "amy"}
            and set(bob.presence.statuses()) == {"bob", "bill", "carol"}
        ),
        timeout=3 * NODE_TIMEOUT,
        what="each node alone",
    )

    cluster.redis.start()  # same port, empty: nodes reconnect, trackers ask for each other's state
    await cluster.health("ok")
    expected = {
        "alice": "online",
        "amy": "busy",
        "bob": "online",
        "bill": "online",
        "carol": "online",
    }
    for client in (*clients, carol):
        await eventually(
            lambda c=client: c.presence.statuses() == expected and set(metas(c).values()) == {1},
            timeout=RECONNECT,
            what=f"{client.nickname} sees everyone again",
        )
    await cluster.quiet("a", "b")
    for client in (*clients, carol):
        assert client.presence.statuses() == expected
        assert set(metas(client).values()) == {1}
    # and messages cross nodes again
    across = await alice.send("A to B again")
    await eventually(lambda: across in bob.messages and across in carol.messages)


def test_serve_refuses_an_unreachable_redis_history() -> None:
    result = talkex(
        "serve", "--port", "0", "--token", TOKEN, "--history", f"redis://127.0.0.1:{free_port()}/0"
    )
    assert result.returncode == 1
    assert "talkex: cannot use the message history in Redis at 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_raw_redis_client_cannot_post_fake_presence_or_make_nodes_publish(
    cluster: Cluster,
) -> None:
    """Anyone who can reach Redis can PUBLISH on the nodes' channels: none of it is heard."""
    db = cluster.redis.url()
    a = await cluster.node("a", db)
    b = await cluster.node("b", db)
    alice = await cluster.join(a, "alice")
    bob = await cluster.join(b, "bob")
    await eventually(lambda: metas(alice) == {"alice": 1, "bob": 1})
    await eventually(lambda: metas(bob) == {"alice": 1, "bob": 1})
    diffs = record_diffs(alice)
    since = len(cluster.heard)

    fake_msg = {"id": 99, "body": "I am the admin", "author": "bob", "sent_at": "2026-01-01Z"}
    frame = orjson.dumps([None, None, "room:lobby", "new_msg", fake_msg]).decode()
    join = {"joins": {"mallory": {"metas": [{"status": "online", "phx_ref": "x"}]}}, "leaves": {}}
    forgeries = [
        ("room:lobby", f"b\n{frame}"),  # a message "from" node b
        ("room:lobby", "v1." + "0" * 64 + f".b\n{frame}"),  # with a made-up signature
        ("talkex:presence", {"type": "delta", "node": "evil", "epoch": "e", "seq": 1,
                             "topic": "room:lobby", "diff": join}),
        ("talkex:presence", {"type": "sync", "node": "b", "epoch": "e", "seq": 9,
                             "state": {}}),  # b "has nobody": bob would leave
        *[("talkex:presence", {"type": "sync_request", "node": "evil", "to": "a"})] * 200,
    ]  # fmt: skip
    attacker = Redis.from_url(db, decode_responses=True)
    try:
        for channel, data in forgeries:
            text = data if isinstance(data, str) else orjson.dumps(data).decode()
            assert await attacker.publish(f"talkex:0:{channel}", text) >= 1
    finally:
        await attacker.aclose()
    await cluster.quiet("a", "b")

    assert alice.messages == {} and bob.messages == {}
    assert metas(alice) == metas(bob) == {"alice": 1, "bob": 1}
    assert diffs == []
    assert cluster.count("sync", "a", since) == 0  # no full state published on request
    for node in (a, b):  # both listen to the lobby and to presence: both dropped everything
        assert await node.rejected() == len(forgeries)
    for node in (a, b):  # one warning each, not one line per message
        assert len(node.log_lines("not signed with this cluster's secret")) == 1
    # and the cluster still works
    said = await alice.send("still here")
    await eventually(lambda: said in bob.messages)


async def test_a_flood_of_sync_requests_from_a_node_is_answered_at_a_bounded_rate(
    cluster: Cluster,
) -> None:
    """Validly signed requests (a broken node, or replays of recorded ones): a's whole state
    goes out at most once a second, whatever the number of requests."""
    db = cluster.redis.url()
    a = await cluster.node("a", db)
    await cluster.join(a, "alice")
    await cluster.quiet("a")
    assert cluster.observer is not None
    since = len(cluster.heard)
    started = time.monotonic()
    request = orjson.dumps({"type": "sync_request", "node": "n", "to": "a"}).decode()
    for _ in range(300):
        await cluster.observer.publish(PRESENCE_CHANNEL, request)
    elapsed = time.monotonic() - started
    await cluster.quiet("a")  # > 1 s: any answer due has gone out
    answers = cluster.count("sync", "a", since)
    assert 1 <= answers <= 2 + elapsed
