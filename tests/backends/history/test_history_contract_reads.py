"""Read positions, part of the contract every history store keeps (see ``conftest.store``):
per person and room, forward only, never past the room's latest message."""

from __future__ import annotations

import asyncio

import pytest

from talkex_widget.backends.history import HistoryError, HistoryStore

SENT_AT = "2026-11-29T15:40:01.123Z"


async def fill(store: HistoryStore, room: str, count: int) -> None:
    for i in range(count):
        await store.append(room, "ann", f"{room} {i}", SENT_AT)


async def test_a_position_starts_at_zero_and_moves_forward_only(store: HistoryStore) -> None:
    await fill(store, "lobby", 5)
    assert await store.read_position("lobby", "bob") == 0
    assert await store.mark_read("lobby", "bob", 3) == 3
    assert await store.read_position("lobby", "bob") == 3
    assert await store.mark_read("lobby", "bob", 2) == 3  # a device that was behind
    assert await store.read_position("lobby", "bob") == 3
    assert await store.mark_read("lobby", "bob", 5) == 5


async def test_positions_are_per_person_and_per_room(store: HistoryStore) -> None:
    await fill(store, "lobby", 4)
    await fill(store, "side", 4)
    await store.mark_read("lobby", "bob", 4)
    await store.mark_read("side", "bob", 1)
    await store.mark_read("lobby", "cy", 2)
    assert await store.read_position("lobby", "bob") == 4
    assert await store.read_position("side", "bob") == 1
    assert await store.read_position("lobby", "cy") == 2
    assert await store.read_position("side", "cy") == 0
    assert await store.rooms() == ["lobby", "side"]  # reading lists no room


@pytest.mark.parametrize("beyond", [4, 10**30])
async def test_a_position_is_held_at_the_latest_message(store: HistoryStore, beyond: int) -> None:
    await fill(store, "lobby", 3)
    assert await store.mark_read("lobby", "bob", beyond) == 3
    assert await store.mark_read("empty", "bob", beyond) == 0
    await fill(store, "lobby", 2)  # what comes later is unread
    assert await store.read_position("lobby", "bob") == 3
    assert await store.mark_read("lobby", "bob", -(10**30)) == 3


async def test_concurrent_marks_keep_the_highest(store: HistoryStore) -> None:
    await fill(store, "lobby", 20)
    await asyncio.gather(*(store.mark_read("lobby", "bob", i) for i in range(20, 0, -1)))
    assert await store.read_position("lobby", "bob") == 20


async def test_a_closed_store_refuses_read_positions(store: HistoryStore) -> None:
    await store.close()
    with pytest.raises(HistoryError):
        await store.read_position("lobby", "bob")
    with pytest.raises(HistoryError):
        await store.mark_read("lobby", "bob", 1)


async def test_the_latest_page_is_what_a_join_reads(store: HistoryStore) -> None:
    """``latest_page`` answers what ``last_seq``, ``before`` and ``read_position`` would."""
    empty = await store.latest_page("lobby", "bob", 3)
    assert (empty.messages, empty.has_more, empty.seq, empty.read_id) == ([], False, 0, 0)
    await fill(store, "lobby", 5)
    await store.mark_read("lobby", "bob", 2)
    page = await store.latest_page("lobby", "bob", 3)
    assert (page.messages, page.has_more) == await store.before("lobby", None, 3)
    assert [m.id for m in page.messages] == [3, 4, 5]
    assert (page.seq, page.read_id) == (await store.last_seq("lobby"), 2)
    assert (await store.latest_page("lobby", "cy", 5)).read_id == 0
    assert not (await store.latest_page("lobby", "cy", 5)).has_more
    with pytest.raises(ValueError):
        await store.latest_page("lobby", "bob", 0)
