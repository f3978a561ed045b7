"""The contract every history store keeps; runs once per backend (see ``conftest.store``)."""

from __future__ import annotations

import asyncio

import pytest

from talkex_widget.backends.history import HistoryError, HistoryStore, StoredMessage

SENT_AT = "2026-11-29T15:40:01.123Z"


async def fill(store: HistoryStore, room: str, count: int) -> list[StoredMessage]:
    return [(await store.append(room, "ann", f"{room} {i}", SENT_AT))[0] for i in range(count)]


def ids(page: tuple[list[StoredMessage], bool]) -> tuple[list[int], bool]:
    messages, more = page
    return [m.id for m in messages], more


async def test_append_returns_the_stored_message(store: HistoryStore) -> None:
    message, created = await store.append("lobby", "ann", "hello", SENT_AT, client_id="c1")
    assert created
    assert message == StoredMessage(1, "lobby", "ann", "hello", SENT_AT, "c1", seq=1)
    assert await store.after("lobby", 0, 10) == ([message], False)


async def test_ids_start_at_one_and_are_independent_per_room(store: HistoryStore) -> None:
    got: dict[str, list[int]] = {"a": [], "b": []}
    for room in ["a", "b", "a", "a", "b"]:
        message, _ = await store.append(room, "ann", "x", SENT_AT)
        got[room].append(message.id)
    assert got == {"a": [1, 2, 3], "b": [1, 2]}


async def test_rooms_lists_rooms_with_messages_sorted(store: HistoryStore) -> None:
    assert await store.rooms() == []
    for room in ["zoo", "lobby", "zoo"]:
        await store.append(room, "ann", "x", SENT_AT)
    assert await store.rooms() == ["lobby", "zoo"]


async def test_empty_room_has_no_pages(store: HistoryStore) -> None:
    await fill(store, "other", 3)
    assert await store.after("empty", 0, 5) == ([], False)
    assert await store.before("empty", None, 5) == ([], False)
    assert await store.before("empty", 2, 5) == ([], False)


@pytest.mark.parametrize(
    ("after_id", "limit", "expected"),
    [
        (0, 2, ([1, 2], True)),
        (2, 2, ([3, 4], True)),
        (3, 2, ([4, 5], False)),  # exactly the rest: nothing beyond
        (4, 2, ([5], False)),
        (5, 2, ([], False)),
        (0, 5, ([1, 2, 3, 4, 5], False)),
        (0, 4, ([1, 2, 3, 4], True)),
        (0, 99, ([1, 2, 3, 4, 5], False)),
        (-7, 1, ([1], True)),
        (99, 1, ([], False)),
        (10**30, 1, ([], False)),  # beyond any integer column: no overflow
        (-(10**30), 1, ([1], True)),
    ],
)
async def test_after_pages(
    store: HistoryStore, after_id: int, limit: int, expected: tuple[list[int], bool]
) -> None:
    await fill(store, "lobby", 5)
    await fill(store, "noise", 7)
    assert ids(await store.after("lobby", after_id, limit)) == expected


@pytest.mark.parametrize(
    ("before_id", "limit", "expected"),
    [
        (None, 2, ([4, 5], True)),
        (4, 2, ([2, 3], True)),
        (3, 2, ([1, 2], False)),  # exactly the rest: nothing older
        (2, 2, ([1], False)),
        (1, 2, ([], False)),
        (None, 5, ([1, 2, 3, 4, 5], False)),
        (None, 4, ([2, 3, 4, 5], True)),
        (None, 99, ([1, 2, 3, 4, 5], False)),
        (99, 2, ([4, 5], True)),
        (10**30, 1, ([5], True)),
        (-(10**30), 1, ([], False)),
    ],
)
async def test_before_pages_ascending(
    store: HistoryStore, before_id: int | None, limit: int, expected: tuple[list[int], bool]
) -> None:
    await fill(store, "lobby", 5)
    await fill(store, "noise", 7)
    assert ids(await store.before("lobby", before_id, limit)) == expected


async def test_paging_walks_the_whole_history_both_ways(store: HistoryStore) -> None:
    stored = await fill(store, "lobby", 23)

    forward: list[StoredMessage] = []
    more = True
    while more:
        page, more = await store.after("lobby", forward[-1].id if forward else 0, 5)
        forward += page
    assert forward == stored

    backward: list[StoredMessage] = []
    more = True
    while more:
        page, more = await store.before("lobby", backward[0].id if backward else None, 5)
        backward = page + backward
    assert backward == stored


@pytest.mark.parametrize("limit", [0, -1])
async def test_limit_below_one_is_refused(store: HistoryStore, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.after("lobby", 0, limit)
    with pytest.raises(ValueError, match="limit"):
        await store.before("lobby", None, limit)


async def test_retry_with_same_client_id_returns_the_original(store: HistoryStore) -> None:
    original, created = await store.append("lobby", "ann", "hi", SENT_AT, client_id="c1")
    again, created_again = await store.append(
        "lobby", "ann", "hi (resent)", "2026-11-29T15:41:00.000Z", client_id="c1"
    )
    assert created and not created_again
    assert again == original
    assert await store.after("lobby", 0, 10) == ([original], False)
    # a deduplicated retry does not use up an id
    assert (await store.append("lobby", "ann", "next", SENT_AT))[0].id == 2


async def test_same_client_id_from_another_author_or_room_is_a_new_message(
    store: HistoryStore,
) -> None:
    await store.append("lobby", "ann", "hi", SENT_AT, client_id="c1")
    bob, bob_created = await store.append("lobby", "bob", "hi", SENT_AT, client_id="c1")
    elsewhere, elsewhere_created = await store.append("dev", "ann", "hi", SENT_AT, client_id="c1")
    assert (bob.id, bob_created) == (2, True)
    assert (elsewhere.id, elsewhere_created) == (1, True)


async def test_messages_without_client_id_are_never_deduplicated(store: HistoryStore) -> None:
    first, _ = await store.append("lobby", "ann", "same", SENT_AT)
    second, created = await store.append("lobby", "ann", "same", SENT_AT)
    assert created and (first.id, second.id) == (1, 2)


async def test_concurrent_appends_get_unique_increasing_ids(store: HistoryStore) -> None:
    results = await asyncio.gather(
        *(store.append("lobby", f"user{i % 7}", f"message {i}", SENT_AT) for i in range(500))
    )
    assert [message.id for message, _ in results] == list(range(1, 501))
    assert all(created for _, created in results)
    page, more = await store.after("lobby", 0, 1000)
    assert not more
    assert [(m.id, m.body) for m in page] == [(i + 1, f"message {i}") for i in range(500)]


async def test_concurrent_retries_are_stored_once(store: HistoryStore) -> None:
    """Retries racing each other (for sqlite: likely in one write batch) still dedupe."""
    results = await asyncio.gather(
        store.append("lobby", "ann", "hi", SENT_AT, client_id="c1"),
        store.append("lobby", "bob", "yo", SENT_AT),
        store.append("lobby", "ann", "hi", SENT_AT, client_id="c1"),
        store.append("lobby", "ann", "hi", SENT_AT, client_id="c1"),
    )
    assert [(m.id, created) for m, created in results] == [
        (1, True),
        (2, True),
        (1, False),
        (1, False),
    ]
    assert ids(await store.after("lobby", 0, 10)) == ([1, 2], False)


async def test_closed_store_refuses_work_and_close_is_idempotent(store: HistoryStore) -> None:
    await store.append("lobby", "ann", "hi", SENT_AT)
    await store.close()
    await store.close()
    with pytest.raises(HistoryError, match="closed"):
        await store.append("lobby", "ann", "late", SENT_AT)
    with pytest.raises(HistoryError, match="closed"):
        await store.after("lobby", 0, 1)
