"""Typing indicators: passed on, never stored, throttled per sender, batched per room."""

from __future__ import annotations

import asyncio
from typing import Any

from talkex_widget.server.service import ChatService
from talkex_widget.server.typing import TYPING_INTERVAL
from tests.conftest import Raw

from .conftest import MakeService, flush, join_lobby
from .fakes import FakeClock, FakePeer


async def typing_service(make_service: MakeService) -> tuple[ChatService, FakeClock]:
    """A service whose presence windows and typing throttle both follow one fake clock."""
    clock = FakeClock()
    service = await make_service(scheduler=clock)
    service.typing.clock = lambda: clock.now
    return service, clock


def typing_events(peer: FakePeer) -> list[list[str]]:
    return [frame[4]["names"] for frame in peer.frames() if frame[3] == "typing"]


async def settle(service: ChatService) -> None:
    """Let the spawned broadcasts run."""
    flush(service)
    await asyncio.gather(*service._tasks)


async def test_typists_of_a_window_go_out_together_and_each_sender_is_throttled(
    make_service: MakeService,
) -> None:
    service, clock = await typing_service(make_service)
    ann, _, _ = await join_lobby(service, "ann")
    bob, _, _ = await join_lobby(service, "bob")
    _, watcher, _ = await join_lobby(service, "cy")
    await settle(service)

    service.typing_started(ann)  # the first after a quiet window goes out at once
    clock.advance(0)
    await asyncio.gather(*service._tasks)
    service.typing_started(bob)  # within the window: gathered
    service.typing_started(ann)  # too soon for ann: dropped
    await settle(service)
    assert typing_events(watcher) == [["ann"], ["bob"]]

    clock.advance(TYPING_INTERVAL)
    service.typing_started(ann)
    service.typing_started(bob)
    await settle(service)
    assert typing_events(watcher)[2:] == [["ann", "bob"]]  # a quiet window: both at once
    assert await service.history.rooms() == []  # nothing stored


async def test_a_typing_push_is_acknowledged_and_reaches_the_others(raw: Raw) -> None:
    ann, bob = await raw("ann"), await raw("bob")
    for sock in (ann, bob):
        await sock.join()
    ann.send(["1", "2", "room:lobby", "typing", {}])
    reply: Any = await ann.reply_to("2")
    assert reply["status"] == "ok"
    frame = await bob.until(lambda f: f[3] == "typing")
    assert frame[4] == {"names": ["ann"]}
    ann.send(["1", "3", "room:lobby", "typing", {}])  # throttled, still answered
    assert (await ann.reply_to("3"))["status"] == "ok"


async def test_a_message_ends_the_wait_so_typing_again_shows_at_once(
    make_service: MakeService,
) -> None:
    service, _ = await typing_service(make_service)
    ann, _, _ = await join_lobby(service, "ann")
    _, watcher, _ = await join_lobby(service, "bob")
    await settle(service)
    service.typing_started(ann)
    await settle(service)
    await service.post(ann, {"body": "done"})
    service.typing_started(ann)  # within TYPING_INTERVAL, but after her message
    await settle(service)
    assert typing_events(watcher) == [["ann"], ["ann"]]
