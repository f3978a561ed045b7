"""No lost messages while the server is killed under load (issue 5).

A real ``talkex serve`` process with a SQLite history, 20 Python clients (:class:`RoomClient`)
posting in one room, and the server SIGKILLed and restarted on the same port several times at
random moments while they post. Nobody helps the clients: they reconnect, rejoin with
``last_seen_id`` and resend what was never acknowledged by themselves. At the end every message
is stored exactly once, every acknowledgement names the stored message, and every client sees
the history, in order. Two clients also lose their network for longer than a join's first page.

People also edit and delete their own messages and toggle reactions on anyone's while the
server dies: every client ends with each message in the state the server holds (body, edit,
tombstone, reactions), whether it saw a change live or caught up on it with ``last_seen_seq``.

Set ``TALKEX_CHAOS_SEED`` to replay one run's random choices (the seed is in failure messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from talkex_widget.client import PushError, RoomClient, Socket
from talkex_widget.core.changes import REACTIONS
from talkex_widget.server.service import JOIN_HISTORY

from .helpers import eventually, room_history
from .processes import TalkexServe, talkex

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

TOKEN = "chaos-token"
CLIENTS = 20
MESSAGES_EACH = 15
KILLS = 4
CONVERGE_TIMEOUT = 20  # seconds for the last broadcasts to land everywhere


@dataclass
class Driver:
    """One person typing: what they sent, and which sends got an ok reply."""

    name: str
    room: RoomClient
    acked: dict[str, int] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    bodies: dict[str, str] = field(default_factory=dict)
    opens: int = 0
    changes: int = 0

    async def run(self, rng: random.Random, progress: Progress) -> None:
        for i in range(MESSAGES_EACH):
            client_id = f"{self.name}-{i}"
            body = f"{self.name} says #{i}"
            self.bodies[client_id] = body
            # Mostly patient, sometimes not: an impatient caller gives up while the message
            # may be on its way, is stored, or waits for the rejoin; it must land once anyway.
            timeout = rng.uniform(0.05, 0.3) if rng.random() < 0.25 else 5.0
            try:
                self.acked[client_id] = await self.room.send(
                    body, client_id=client_id, timeout=timeout
                )
                progress.acks += 1
            except (asyncio.TimeoutError, ConnectionError):
                self.unanswered.append(client_id)  # still pending: the client resends it
            progress.attempts += 1
            await asyncio.sleep(rng.uniform(0.01, 0.2))
            if rng.random() < 0.4:
                await self.change(rng)

    async def change(self, rng: random.Random) -> None:
        """Edit or delete one of one's own acknowledged messages, or react to any message
        held; a change the dying server never answered may or may not have happened."""
        own = list(self.acked.values())
        held = list(self.room.messages)
        roll = rng.random()
        try:
            if own and roll < 0.3:
                message_id = rng.choice(own)
                await self.room.edit(message_id, f"{self.name} edited #{message_id}")
            elif own and roll < 0.4:
                await self.room.delete(rng.choice(own))
            elif held:
                await self.room.react(rng.choice(held), rng.choice(REACTIONS))
            else:
                return
            self.changes += 1
        except PushError as exc:
            assert "was deleted" in exc.reason, exc.reason  # raced with one's own delete
        except (asyncio.TimeoutError, ConnectionError):
            pass


@dataclass
class Progress:
    attempts: int = 0
    acks: int = 0


def export(db: Path) -> list[dict[str, Any]]:
    """The room as ``talkex export`` reads it from the database file, in another process."""
    result = talkex("export", "lobby", "--format", "json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["messages"])


def online(drivers: list[Driver], offline: set[str]) -> list[Driver]:
    return [d for d in drivers if d.name not in offline]


def missing(d: Driver) -> list[int]:
    """The ids up to the client's last one that it lacks: a room's ids have no gaps."""
    return sorted(set(range(1, (d.room.last_seen_id or 0) + 1)) - set(d.room.messages))[:10]


def report(drivers: list[Driver], server: TalkexServe) -> str:
    """Where each client stands, and the server's last words, for a failure message."""
    clients = "\n".join(
        f"{d.name}: {d.room.channel.state}, connected={d.room.socket.connected}, "
        f"opens={d.opens}, {len(d.room.messages)} messages, last_seen={d.room.last_seen_id}, "
        f"missing={missing(d)}, last_seen_seq={d.room.last_seen_seq}, "
        f"pending={list(d.room.pending)}"
        for d in drivers
    )
    return f"{clients}\nserver log (end):\n{server.log_tail()}"


async def converged(drivers: list[Driver], server: TalkexServe, seed: int) -> list[Any]:
    """Every client holds every message in the state the server holds *now*: the history is
    read again at each try, since a change pushed under load may land after the first read.
    On failure, says which client differs from the server, and where."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        history = await asyncio.to_thread(room_history, server.port, TOKEN, "lobby")
        final = [state(m) for m in history]
        held_by = {d.name: [state(m) for m in d.room.ordered()] for d in drivers}
        behind = {
            name: [(h, w) for h, w in zip(held, final, strict=False) if h != w][:3]
            or [(f"{len(held)} messages", f"{len(final)} messages")]
            for name, held in held_by.items()
            if held != final
        }
        if not behind:
            return final
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {CONVERGE_TIMEOUT}s these clients still differ from the server "
                f"(seed {seed}; client state, server state): {behind}\n{report(drivers, server)}"
            )
        await asyncio.sleep(0.2)


def summary(message: dict[str, Any]) -> tuple[int, str, str | None]:
    return (message["id"], message["author"], message.get("client_id"))


def state(message: dict[str, Any]) -> tuple[Any, ...]:
    """What a reader sees of a message, changes included (not when it learnt of them)."""
    reactions = message.get("reactions", {})
    return (
        *summary(message),
        message["body"],
        message.get("edited_at"),
        message.get("deleted_at"),
        sorted((emoji, sorted(who)) for emoji, who in reactions.items()),
    )


async def test_no_message_is_lost_or_doubled_while_the_server_is_killed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="talkex.client")  # rejoins and resends, on failure
    seed = int(os.environ.get("TALKEX_CHAOS_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    started = time.monotonic()
    db = tmp_path / "chat.db"
    server = TalkexServe(
        "--log-level", "warning", db=str(db), token=TOKEN, log=tmp_path / "server.log"
    )
    drivers: list[Driver] = []

    async def wait(condition: Callable[[], object], timeout: float, what: str) -> None:
        try:
            await eventually(condition, timeout)
        except AssertionError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what} (seed {seed}):\n"
                f"{report(drivers, server)}"
            ) from None

    try:
        await asyncio.to_thread(server.start)
        for n in range(CLIENTS):
            name = f"user{n:02d}"
            sock = Socket(server.url, {"nickname": name, "token": TOKEN})
            driver = Driver(name, RoomClient(sock, "lobby"))
            sock.on_open.append(lambda d=driver: setattr(d, "opens", d.opens + 1))
            await sock.connect()
            drivers.append(driver)
        await asyncio.gather(*(d.room.join() for d in drivers))

        progress = Progress()
        total = CLIENTS * MESSAGES_EACH
        typing = asyncio.gather(*(d.run(random.Random(rng.random()), progress) for d in drivers))
        offline: set[str] = set()

        async def kill_and_restart() -> tuple[int, list[float]]:
            """Kill points spread over the run, by how many sends were attempted; each kill
            also waits until the restarted server acknowledged a few messages, so every
            incarnation of the server takes real traffic before it dies."""
            kills, outages = 0, []
            for point in sorted(rng.sample(range(30, total - 40, 10), KILLS)):
                acks_before = progress.acks
                await wait(
                    lambda p=point, a=acks_before: (
                        typing.done() or (progress.attempts >= p and progress.acks >= a + 5)
                    ),
                    30,
                    f"traffic before kill {kills + 1}",
                )
                if typing.done():
                    break
                await asyncio.sleep(rng.uniform(0, 0.05))
                await asyncio.to_thread(server.kill)
                killed_at = time.monotonic()
                kills += 1
                await asyncio.to_thread(server.start)
                await wait(
                    lambda: (
                        typing.done()
                        or all(d.room.channel.state == "joined" for d in online(drivers, offline))
                    ),
                    20,
                    f"rejoins after kill {kills}",
                )
                outages.append(time.monotonic() - killed_at)
            return kills, outages

        async def lose_network(laggards: list[Driver]) -> int:
            """Some people's network goes away for longer, while the others post more than a
            join's first page: only a catch-up from ``last_seen_id`` gives them everything."""
            start = rng.randrange(20, 60)
            await wait(lambda: progress.attempts >= start, 30, "the drop point")
            acks_before = progress.acks
            for d in laggards:
                offline.add(d.name)
                d.room.socket.params["token"] = "wrong"  # reconnects are refused meanwhile
                conn = d.room.socket._conn
                if conn is not None:
                    conn.close()
            await wait(
                lambda: typing.done() or progress.acks >= acks_before + 60,
                30,
                "traffic while offline",
            )
            for d in laggards:
                d.room.socket.params["token"] = TOKEN
                offline.discard(d.name)
            return progress.acks - acks_before

        laggards = rng.sample(drivers, 2)
        (kills, outages), missed_offline = await asyncio.gather(
            kill_and_restart(), lose_network(laggards)
        )
        await asyncio.wait_for(typing, 40)
        assert kills >= KILLS - 1, f"only {kills} kills happened (seed {seed})"
        assert missed_offline > JOIN_HISTORY, f"laggards missed only {missed_offline} (seed {seed})"
        sending_done = time.monotonic()

        # Stable again: everyone settles by themselves (no help from the test).
        def settled() -> bool:
            return all(
                not d.room.pending
                and d.room.channel.state == "joined"
                and len(d.room.messages) >= total
                for d in drivers
            )

        await wait(settled, 20, "every client to settle")
        for d in drivers:
            if d not in laggards:
                assert d.opens >= kills + 1, f"{d.name} missed a restart (seed {seed})"
        history = await asyncio.to_thread(room_history, server.port, TOKEN, "lobby")

        # The history: every message of every person exactly once, ids strictly increasing.
        history_ids = [m["id"] for m in history]
        assert all(a < b for a, b in itertools.pairwise(history_ids)), seed
        bodies = [m["body"] for m in history if "deleted_at" not in m]
        assert len(set(bodies)) == len(bodies), f"a body is stored twice (seed {seed})"
        stored = {(m["author"], m["client_id"]): m for m in history}
        assert len(stored) == len(history) == total, (len(stored), len(history), seed)
        for d in drivers:
            for client_id, body in d.bodies.items():
                message = stored[(d.name, client_id)]
                if "deleted_at" in message:
                    assert message["body"] == "", (d.name, client_id, seed)
                elif "edited_at" in message:
                    assert message["body"] == f"{d.name} edited #{message['id']}"
                else:
                    assert message["body"] == body
                if client_id in d.acked:  # an ok reply names the stored message
                    assert d.acked[client_id] == message["id"], (d.name, client_id, seed)
            assert set(d.acked) | set(d.unanswered) == set(d.bodies)
            assert not set(d.acked) & set(d.unanswered)

        # Every client's view is the history, in order, each message once, in its final
        # state; broadcasts of the last changes may still be on their way.
        expected = [summary(m) for m in history]
        for d in drivers:
            assert [summary(m) for m in d.room.ordered()] == expected, (d.name, seed)
            assert d.room.last_seen_id == history_ids[-1]
        changes = sum(d.changes for d in drivers)
        assert changes > 50, f"only {changes} changes were acknowledged (seed {seed})"
        final = await converged(drivers, server, seed)

        for d in drivers:
            await d.room.socket.disconnect()
        await asyncio.to_thread(server.stop)
        # What is on disk, read by another process, is what the server served.
        exported = await asyncio.to_thread(export, db)
        assert [(*summary(m), m["body"]) for m in exported] == [s[:4] for s in final]

        unanswered = sum(len(d.unanswered) for d in drivers)
        print(
            f"\nchaos seed={seed}: {kills} kills, {total} messages, {changes} changes, "
            f"{unanswered} sends "
            f"without a reply, {missed_offline} posted while 2 were offline, "
            f"ids {history_ids[0]}..{history_ids[-1]}, outages "
            f"{', '.join(f'{o:.2f}' for o in outages)}s, sending {sending_done - started:.1f}s, "
            f"total {time.monotonic() - started:.1f}s"
        )
    finally:
        for d in drivers:
            with contextlib.suppress(Exception):
                await d.room.socket.disconnect()
        await asyncio.to_thread(server.stop)
