"""The contract of the room sequence (edits, deletes, reactions); runs once per backend.

Part of the history contract (see ``conftest.store``), in a file of its own so that it reads as
one story: every message and change takes the room's next ``seq``, and "changed after n" hands
a reconnecting client each touched message once, in its current state.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from talkex_widget.backends.history import HistoryStore, StoredMessage, UnknownMessage
from talkex_widget.core.changes import ChangeRefused, Delete, Edit, React, apply_change

SENT_AT = "2026-11-29T15:40:01.123Z"
LATER = "2026-11-29T15:45:00.000Z"


def change(kind: Edit | Delete | React, actor: str = "ann"):  # type: ignore[no-untyped-def]
    return lambda message: apply_change(message, kind, actor, LATER)


async def post(store: HistoryStore, room: str, author: str, body: str) -> StoredMessage:
    return (await store.append(room, author, body, SENT_AT))[0]


async def test_messages_take_the_rooms_sequence(store: HistoryStore) -> None:
    assert await store.last_seq("lobby") == 0
    first = await post(store, "lobby", "ann", "one")
    other = await post(store, "dev", "ann", "elsewhere")
    second = await post(store, "lobby", "bob", "two")
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert await store.last_seq("lobby") == 2
    assert await store.after("lobby", 0, 10) == ([first, second], False)
    assert await store.changed_after("lobby", 0, 10) == ([first, second], False)


async def test_an_edit_takes_the_next_seq_and_shows_everywhere(store: HistoryStore) -> None:
    first = await post(store, "lobby", "ann", "helo")
    second = await post(store, "lobby", "bob", "hi")
    edited, changed = await store.update("lobby", first.id, change(Edit("hello")))
    assert changed
    assert edited == replace(first, body="hello", edited_at=LATER, seq=3)
    assert await store.last_seq("lobby") == 3
    assert await store.after("lobby", 0, 10) == ([edited, second], False)
    assert await store.before("lobby", None, 10) == ([edited, second], False)
    # after seq 1, each touched message once, in seq order: bob's (2), then ann's edit (3)
    assert await store.changed_after("lobby", 1, 10) == ([second, edited], False)
    assert await store.changed_after("lobby", 3, 10) == ([], False)


async def test_a_delete_leaves_a_tombstone_without_body_or_reactions(store: HistoryStore) -> None:
    message = await post(store, "lobby", "ann", "secret")
    await store.update("lobby", message.id, change(React("👍"), "bob"))
    deleted, changed = await store.update("lobby", message.id, change(Delete()))
    assert changed
    assert (deleted.body, deleted.deleted_at, deleted.reactions, deleted.seq) == ("", LATER, (), 3)
    assert await store.after("lobby", 0, 10) == ([deleted], False)
    again, changed_again = await store.update("lobby", message.id, change(Delete()))
    assert (again, changed_again) == (deleted, False)  # a retried delete takes no new seq
    assert await store.last_seq("lobby") == 3


async def test_reactions_toggle_per_person_in_the_fixed_order(store: HistoryStore) -> None:
    message = await post(store, "lobby", "ann", "ship it?")
    for emoji, actor in [("🎉", "bob"), ("👍", "cy"), ("🎉", "ann"), ("👍", "cy")]:
        message, _ = await store.update("lobby", message.id, change(React(emoji), actor))
    assert message.reactions == (("🎉", ("bob", "ann")),)
    assert message.seq == 5
    assert await store.changed_after("lobby", 4, 10) == ([message], False)
    assert message.to_wire()["reactions"] == {"🎉": ["bob", "ann"]}


async def test_unknown_ids_and_refused_changes_store_nothing(store: HistoryStore) -> None:
    message = await post(store, "lobby", "ann", "mine")
    with pytest.raises(UnknownMessage, match="no message 9"):
        await store.update("lobby", 9, change(Edit("x")))
    with pytest.raises(UnknownMessage):
        await store.update("elsewhere", message.id, change(Edit("x")))
    with pytest.raises(ChangeRefused, match="not yours"):
        await store.update("lobby", message.id, change(Edit("x"), "bob"))
    assert await store.last_seq("lobby") == 1
    assert await store.after("lobby", 0, 10) == ([message], False)


async def test_changed_after_pages_in_seq_order(store: HistoryStore) -> None:
    messages = [await post(store, "lobby", "ann", f"m{i}") for i in range(5)]
    for message in (messages[3], messages[0]):
        await store.update("lobby", message.id, change(Edit(message.body + "!")))
    walked: list[tuple[int, int]] = []
    after, more = 0, True
    while more:
        page, more = await store.changed_after("lobby", after, 2)
        walked += [(m.id, m.seq) for m in page]
        after = page[-1].seq
    assert walked == [(2, 2), (3, 3), (5, 5), (4, 6), (1, 7)]


async def test_new_messages_continue_the_sequence_after_changes(store: HistoryStore) -> None:
    first = await post(store, "lobby", "ann", "a")
    await store.update("lobby", first.id, change(Edit("b")))
    second = await post(store, "lobby", "ann", "c")
    assert (second.id, second.seq) == (2, 3)


async def test_concurrent_changes_are_all_kept_each_with_its_own_seq(store: HistoryStore) -> None:
    """Every reaction lands (none overwrites another) and seqs are unique and dense."""
    message = await post(store, "lobby", "ann", "vote")
    people = [f"p{i}" for i in range(20)]
    results = await asyncio.gather(
        *(store.update("lobby", message.id, change(React("👍"), who)) for who in people),
        *(post(store, "lobby", "bob", f"n{i}") for i in range(10)),
    )
    seqs = sorted(r[0].seq if isinstance(r, tuple) else r.seq for r in results)
    assert seqs == list(range(2, 32))
    final, _ = await store.after("lobby", 0, 1)
    assert sorted(final[0].reactions[0][1]) == sorted(people)
    assert await store.last_seq("lobby") == 31
