"""What only the Redis history does: a cap per room, several nodes on one store, outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkex_widget.backends.history import Attachment, HistoryError, from_url
from talkex_widget.backends.history.redis import DEFAULT_MAX_LEN, RedisHistory
from tests.helpers import free_port
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

SENT_AT = "2026-11-29T15:40:01.123Z"


@pytest.fixture
async def stores(redis_server: RedisServer) -> AsyncIterator[list[RedisHistory]]:
    """Opened stores on the session Redis (flushed first), closed after the test."""
    redis_server.flush()
    opened: list[RedisHistory] = []
    yield opened
    for store in opened:
        await store.close()


async def open_store(stores: list[RedisHistory], url: str, **kwargs: int) -> RedisHistory:
    store = RedisHistory(url, **kwargs)
    await store.start()
    stores.append(store)
    return store


def test_url_picks_redis_and_its_cap() -> None:
    assert isinstance(from_url("redis://127.0.0.1:6379/0"), RedisHistory)
    assert from_url("redis://127.0.0.1:6379/0").max_len == DEFAULT_MAX_LEN
    assert from_url("redis://127.0.0.1:6379/0?max_len=25").max_len == 25
    assert RedisHistory("redis://127.0.0.1:6379/0?max_len=25", max_len=7).max_len == 7


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis://127.0.0.1:6379/0?max_len=lots", "max_len must be a number"),
        ("redis://127.0.0.1:6379/0?max_len=0", "at least 1"),
        ("redis://127.0.0.1:port/0", "Port"),
    ],
)
def test_bad_redis_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        from_url(url)


async def test_each_room_keeps_its_newest_max_len_messages(
    redis_server: RedisServer, stores: list[RedisHistory]
) -> None:
    store = await open_store(stores, redis_server.url(), max_len=3)
    for i in range(1, 6):
        await store.append("lobby", "ann", f"m{i}", SENT_AT, client_id=f"c{i}")
    await store.append("dev", "ann", "elsewhere", SENT_AT)
    page, more = await store.after("lobby", 0, 10)
    assert [m.id for m in page] == [3, 4, 5] and not more
    page, more = await store.before("lobby", None, 2)
    assert [m.id for m in page] == [4, 5] and more
    assert [m.id for m in (await store.after("dev", 0, 10))[0]] == [1]
    # a kept message still dedupes; the client_id of a trimmed one is forgotten with it
    again, created = await store.append("lobby", "ann", "m5 resent", SENT_AT, client_id="c5")
    assert (again.id, again.body, created) == (5, "m5", False)
    late, created = await store.append("lobby", "ann", "m1 resent", SENT_AT, client_id="c1")
    assert (late.id, created) == (6, True)  # ids are never reused after trimming
    assert [m.id for m in (await store.after("lobby", 0, 10))[0]] == [4, 5, 6]


async def test_a_trimmed_messages_image_goes_with_it(
    redis_server: RedisServer, stores: list[RedisHistory]
) -> None:
    store = await open_store(stores, redis_server.url(), max_len=2)
    images = [Attachment(f"{i}" * 22, "image/png", b"png %d" % i) for i in range(3)]
    for image in images:
        content = {"kind": "figure", "attachment": {"id": image.id}}
        await store.append("lobby", "ann", "fig", SENT_AT, content=content, attachment=image)
    assert await store.attachment("lobby", images[0].id) is None
    assert [await store.attachment("lobby", i.id) for i in images[1:]] == images[1:]


async def test_nodes_sharing_redis_share_ids_and_dedupe(
    redis_server: RedisServer, stores: list[RedisHistory]
) -> None:
    a = await open_store(stores, redis_server.url())
    b = await open_store(stores, redis_server.url())
    results = await asyncio.gather(
        *(
            (a if i % 2 else b).append("lobby", f"user{i % 5}", f"message {i}", SENT_AT)
            for i in range(200)
        ),
        # the same retry reaching both nodes at once is stored once
        *(node.append("lobby", "ann", "hi", SENT_AT, client_id="c1") for node in (a, b, a, b)),
    )
    ids = [message.id for message, _ in results]
    assert sorted(set(ids)) == list(range(1, 202))
    retries = results[200:]
    assert sum(created for _, created in retries) == 1
    assert len({message for message, _ in retries}) == 1
    for node in (a, b):  # each node's own appends got increasing ids, in call order
        mine = [m.id for i, (m, _) in enumerate(results[:200]) if (a if i % 2 else b) is node]
        assert mine == sorted(mine)
    page, more = await b.after("lobby", 0, 500)
    assert [m.id for m in page] == list(range(1, 202)) and not more
    assert await a.rooms() == ["lobby"]


async def test_databases_are_separate_histories(
    redis_server: RedisServer, stores: list[RedisHistory]
) -> None:
    one = await open_store(stores, redis_server.url(1))
    other = await open_store(stores, redis_server.url(2))
    await one.append("lobby", "ann", "in db 1", SENT_AT)
    assert await other.rooms() == []
    assert (await other.append("lobby", "bob", "in db 2", SENT_AT))[0].id == 1


async def test_an_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    store = from_url(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    began = time.monotonic()
    with pytest.raises(
        HistoryError, match=r"message history in Redis at 127\.0\.0\.1:\d+/0"
    ) as err:
        await store.start()
    assert time.monotonic() - began < 3
    assert "hunter2" not in str(err.value)
    await store.close()


async def test_an_outage_fails_calls_quickly_and_the_store_recovers(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    store = RedisHistory(server.url())
    try:
        await store.start()
        await store.append("lobby", "ann", "before", SENT_AT)
        server.kill()
        for call in (
            store.append("lobby", "ann", "during", SENT_AT),
            store.after("lobby", 0, 10),
            store.before("lobby", None, 10),
            store.rooms(),
        ):
            began = time.monotonic()
            with pytest.raises(HistoryError, match="cannot use the message history"):
                await call
            assert time.monotonic() - began < 3
        server.start()  # no persistence: an empty Redis, and the store works again
        message, created = await store.append("lobby", "ann", "after", SENT_AT)
        assert (message.id, created) == (1, True)
    finally:
        await store.close()
        server.kill()
