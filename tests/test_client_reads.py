"""The Python client's read position and typing, as the browser's views have them: the join
reply's ``read_id``, ``mark_read`` (forward only, shared with the person's other views) and
``typing()`` throttled to one push per ``TYPING_INTERVAL`` (a message ends it)."""

from __future__ import annotations

from typing import Any

import pytest

from talkex_widget.core.limits import TYPING_INTERVAL

from .conftest import JoinRoom
from .helpers import eventually


async def test_read_position_from_the_join_moves_forward_and_reaches_other_views(
    join_room: JoinRoom,
) -> None:
    alice = await join_room("alice")
    ids = [await alice.send(f"m{i}") for i in range(3)]
    bob = await join_room("bob")
    assert bob.read_id == 0  # never read this room
    assert [m["body"] for m in bob.unread()] == ["m0", "m1", "m2"]
    assert alice.unread() == []  # what she wrote herself she has read

    assert await bob.mark_read(ids[1]) == ids[1]
    assert [m["body"] for m in bob.unread()] == ["m2"]
    assert await bob.mark_read(ids[0]) == ids[1]  # backwards: nothing moves
    assert bob.read_id == ids[1]

    laptop = await join_room("bob")  # bob's other device: the server kept his position
    assert laptop.read_id == ids[1]
    assert await bob.mark_read() == ids[2]  # default: the latest message held
    await eventually(lambda: laptop.read_id == ids[2], what="the read event on bob's laptop")
    assert laptop.unread() == []

    for bad in (-1, "7", 1.5, True):
        with pytest.raises(ValueError, match="message id"):
            await bob.mark_read(bad)  # type: ignore[arg-type]
    assert bob.read_id == ids[2]


async def test_typing_is_pushed_at_most_once_per_interval_and_a_message_ends_it(
    join_room: JoinRoom,
) -> None:
    alice = await join_room("alice")
    bob = await join_room("bob")
    heard: list[list[Any]] = []
    bob.channel.on("typing", lambda event: heard.append(event["names"]))

    assert await alice.typing() is True
    await eventually(lambda: heard == [["alice"]], what="bob hears alice typing")
    # Keystrokes within the interval push nothing (the server would drop them anyway).
    assert TYPING_INTERVAL >= 1
    assert [await alice.typing() for _ in range(5)] == [False] * 5

    await alice.send("done typing")  # her message ends her typing: the next key says so
    assert await alice.typing() is True
    await eventually(lambda: heard == [["alice"], ["alice"]], what="the second typing event")
