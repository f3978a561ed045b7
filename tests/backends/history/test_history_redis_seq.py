"""Redis and the room sequence: rooms written before it, trimming, and several nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import redis

from talkex_widget.backends.history.redis import RedisHistory
from talkex_widget.core.changes import Edit, React, apply_change
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

SENT_AT = "2026-11-29T15:40:01.123Z"


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisHistory]:
    redis_server.flush()
    opened = RedisHistory(redis_server.url(), max_len=5)
    await opened.start()
    yield opened
    await opened.close()


def write_room_as_before_the_sequence(url: str) -> None:
    """The keys a Talkex without the sequence leaves: messages and last_id, no seqs."""
    plain = redis.Redis.from_url(url)
    for i in (1, 2, 3):
        member = (
            f"{i} "
            + orjson.dumps({"author": "ann", "body": f"old {i}", "sent_at": SENT_AT}).decode()
        )
        plain.zadd("talkex:room:lobby:messages", {member: i})
    plain.set("talkex:room:lobby:last_id", 3)
    plain.sadd("talkex:rooms", "lobby")
    plain.close()


async def test_a_room_written_before_the_sequence_reads_seq_as_id_and_continues(
    store: RedisHistory, redis_server: RedisServer
) -> None:
    write_room_as_before_the_sequence(redis_server.url())
    page, _ = await store.after("lobby", 0, 10)
    assert [(m.id, m.seq) for m in page] == [(1, 1), (2, 2), (3, 3)]
    assert await store.last_seq("lobby") == 3
    assert [m.id for m in (await store.changed_after("lobby", 1, 10))[0]] == [2, 3]
    edited, _ = await store.update(
        "lobby", 2, lambda m: apply_change(m, Edit("two"), "ann", SENT_AT)
    )
    assert edited.seq == 4
    new, _ = await store.append("lobby", "bob", "new", SENT_AT)
    assert (new.id, new.seq) == (4, 5)
    changed, _ = await store.changed_after("lobby", 0, 10)
    assert [(m.id, m.seq) for m in changed] == [(1, 1), (3, 3), (2, 4), (4, 5)]


async def test_trimmed_messages_leave_the_sequence_too(store: RedisHistory) -> None:
    for i in range(8):
        await store.append("lobby", "ann", f"m{i}", SENT_AT)
    changed, _ = await store.changed_after("lobby", 0, 100)
    assert [m.id for m in changed] == [4, 5, 6, 7, 8]  # max_len=5


async def test_changes_from_two_nodes_at_once_all_land(
    store: RedisHistory, redis_server: RedisServer
) -> None:
    other = RedisHistory(redis_server.url(), max_len=5)
    await other.start()
    try:
        message, _ = await store.append("lobby", "ann", "vote", SENT_AT)
        voters = [f"p{i}" for i in range(10)]
        await asyncio.gather(
            *(
                (store if i % 2 else other).update(
                    "lobby",
                    message.id,
                    lambda m, who=who: apply_change(m, React("👍"), who, SENT_AT),
                )
                for i, who in enumerate(voters)
            )
        )
        final, _ = await store.after("lobby", 0, 1)
        assert sorted(final[0].reactions[0][1]) == sorted(voters)
        assert final[0].seq == await store.last_seq("lobby") == 11
    finally:
        await other.close()
