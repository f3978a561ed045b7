"""The Python client keeps each message's latest state: edits, deletes and reactions arrive
live and, after a reconnect that missed them, through the join's ``last_seen_seq``."""

from __future__ import annotations

import pytest

from talkex_widget.client import PushError

from .conftest import JoinRoom
from .helpers import eventually


async def test_changes_show_live_in_the_other_persons_messages(join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    first = await alice.send("helo")
    await eventually(lambda: first in bob.messages)
    changed: list[dict[str, object]] = []
    bob.on_change.append(changed.append)

    assert (await alice.edit(first, "hello"))["body"] == "hello"
    await bob.react(first, "🎉")
    await eventually(lambda: bob.messages[first].get("reactions") == {"🎉": ["bob"]})
    assert bob.messages[first]["body"] == "hello" and "edited_at" in bob.messages[first]
    await eventually(lambda: alice.messages[first].get("reactions") == {"🎉": ["bob"]})
    await alice.delete(first)
    await eventually(lambda: "deleted_at" in bob.messages[first])
    assert bob.messages[first]["body"] == ""
    assert [c["seq"] for c in changed] == [2, 3, 4]
    assert bob.last_seen_seq == alice.last_seen_seq == 4


async def test_a_reconnect_replays_missed_changes_once(join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    ids = [await alice.send(f"m{i}") for i in range(3)]
    await eventually(lambda: all(i in bob.messages for i in ids))
    changes: list[int] = []
    news: list[int] = []
    bob.on_change.append(lambda m: changes.append(m["id"]))
    bob.on_message.append(lambda m: news.append(m["id"]))

    await bob.socket.disconnect()  # away for good until it connects again, unlike a drop
    await eventually(lambda: "bob" not in alice.presence.statuses(), what="bob's leave")
    await alice.edit(ids[0], "m0, edited")
    await alice.react(ids[1], "👍")
    await alice.delete(ids[2])
    await alice.react(ids[1], "👀")
    new = await alice.send("m3")
    await bob.socket.connect()
    await eventually(lambda: new in bob.messages, what="catch-up")
    assert sorted(changes) == [ids[0], ids[1], ids[2]]  # ids[1] changed twice, applied once
    assert news == [new]
    assert bob.messages[ids[0]]["body"] == "m0, edited"
    assert bob.messages[ids[1]]["reactions"] == {"👍": ["alice"], "👀": ["alice"]}
    assert "deleted_at" in bob.messages[ids[2]]
    assert bob.last_seen_seq == 8


async def test_refused_changes_raise_with_the_reason(join_room: JoinRoom) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    first = await alice.send("mine")
    with pytest.raises(PushError, match="not yours"):
        await bob.edit(first, "yours")
    with pytest.raises(PushError, match="unknown reaction"):
        await bob.react(first, "🦄")
    with pytest.raises(PushError, match="unknown message 99"):
        await bob.delete(99)


async def test_a_change_to_a_message_never_received_brings_it(join_room: JoinRoom) -> None:
    """A ``msg_changed`` for a message the client lacks but is newer than the oldest it holds
    means its ``new_msg`` never came (a join reply that raced a change left it out): the change
    carries the whole message, so the client keeps it, as the browser does. One older than
    every message held stays out: scroll-back loads it."""
    alice = await join_room("alice")
    bob = await join_room("bob")
    ids = [await alice.send(f"m{i}") for i in range(4)]
    await eventually(lambda: all(i in bob.messages for i in ids))
    news: list[int] = []
    bob.on_message.append(lambda m: news.append(m["id"]))
    del bob.messages[ids[0]], bob.messages[ids[2]]  # as if they never arrived

    await alice.react(ids[2], "👍")
    await eventually(lambda: ids[2] in bob.messages, what="the missed message")
    assert bob.messages[ids[2]]["reactions"] == {"👍": ["alice"]}
    assert news == [ids[2]]
    await alice.react(ids[0], "👍")
    later = await alice.send("m4")
    await eventually(lambda: later in bob.messages)
    assert ids[0] not in bob.messages  # older than all held: left to scroll-back
    assert sorted(bob.messages) == [*ids[1:], later]
